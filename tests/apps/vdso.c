/* The vDSO: AT_SYSINFO_EHDR points at an ELF shared object exporting Linux's versioned clock
 * functions; the clocks read through it (by the C library and by calling the exported
 * functions directly) agree with the system calls, interleaved calls never go backwards, the
 * ids it does not answer behave as the system call does (EINVAL for invalid ones), and it
 * survives fork and execve. Prints only booleans: the same on Linux and Mica, x86_64 and
 * aarch64 (the symbol names differ by architecture, the lines do not). */
#define _GNU_SOURCE
#include "app_test.h"
#include <elf.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define VDSO_VERSION "LINUX_2.6"
#define VDSO_CLOCK_GETTIME "__vdso_clock_gettime"
#define VDSO_GETTIMEOFDAY "__vdso_gettimeofday"
#define VDSO_CLOCK_GETRES "__vdso_clock_getres"
#elif defined(__aarch64__)
#define VDSO_VERSION "LINUX_2.6.39"
#define VDSO_CLOCK_GETTIME "__kernel_clock_gettime"
#define VDSO_GETTIMEOFDAY "__kernel_gettimeofday"
#define VDSO_CLOCK_GETRES "__kernel_clock_getres"
#else
#error "x86_64 or aarch64"
#endif

/* --- Looking up a versioned symbol, as musl's src/internal/vdso.c does (DT_HASH for the
   symbol count, DT_VERSYM/DT_VERDEF for the version) --------------------------------------- */
static void* vdso_symbol(const char* version, const char* name) {
    const Elf64_Ehdr* eh = (const Elf64_Ehdr*)getauxval(AT_SYSINFO_EHDR);
    if (!eh) return NULL;
    const Elf64_Phdr* ph = (const Elf64_Phdr*)((const char*)eh + eh->e_phoff);
    uintptr_t base = (uintptr_t)-1;
    const Elf64_Dyn* dynamic = NULL;
    for (int i = 0; i < eh->e_phnum; ++i) {
        if (ph[i].p_type == PT_LOAD && base == (uintptr_t)-1) base = (uintptr_t)eh + ph[i].p_offset - ph[i].p_vaddr;
        if (ph[i].p_type == PT_DYNAMIC) dynamic = (const Elf64_Dyn*)((const char*)eh + ph[i].p_offset);
    }
    if (base == (uintptr_t)-1 || !dynamic) return NULL;
    const char* strings = NULL;
    const Elf64_Sym* symbols = NULL;
    const Elf64_Word* hash = NULL;
    const Elf64_Half* versym = NULL;
    const Elf64_Verdef* verdef = NULL;
    for (const Elf64_Dyn* d = dynamic; d->d_tag != DT_NULL; ++d) {
        void* p = (void*)(base + d->d_un.d_ptr);
        switch (d->d_tag) {
        case DT_STRTAB: strings = p; break;
        case DT_SYMTAB: symbols = p; break;
        case DT_HASH: hash = p; break;
        case DT_VERSYM: versym = p; break;
        case DT_VERDEF: verdef = p; break;
        }
    }
    if (!strings || !symbols || !hash || !versym || !verdef) return NULL;
    for (Elf64_Word i = 0; i < hash[1]; ++i) {
        const Elf64_Sym* s = &symbols[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF) continue;
        if (strcmp(strings + s->st_name, name) != 0) continue;
        for (const Elf64_Verdef* v = verdef;; v = (const Elf64_Verdef*)((const char*)v + v->vd_next)) {
            if (!(v->vd_flags & VER_FLG_BASE) && (v->vd_ndx & 0x7fff) == (versym[i] & 0x7fff)) {
                const Elf64_Verdaux* aux = (const Elf64_Verdaux*)((const char*)v + v->vd_aux);
                if (strcmp(strings + aux->vda_name, version) == 0) return (void*)(base + s->st_value);
            }
            if (!v->vd_next) break;
        }
    }
    return NULL;
}

typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);
typedef int (*gettimeofday_fn)(struct timeval*, void*);
typedef int (*clock_getres_fn)(clockid_t, struct timespec*);

static long long ns(const struct timespec* t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

static int sys_clock_gettime(clockid_t id, struct timespec* ts) { return (int)syscall(SYS_clock_gettime, id, ts); }

static const struct {
    clockid_t id;
    const char* name;
} clocks[] = {
    {CLOCK_REALTIME, "CLOCK_REALTIME"},
    {CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
    {CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
    {CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"},
    {CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
    {CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
    {CLOCK_TAI, "CLOCK_TAI"},
};

/* Reads `id` 300 times, cycling through the C library, the vDSO function and the system call:
   every reading at least the one before. */
static int interleaved_monotonic(clockid_t id, clock_gettime_fn direct) {
    struct timespec t;
    long long previous = 0;
    int ok = 1;
    for (int i = 0; i < 300; ++i) {
        int r = i % 3 == 0 ? clock_gettime(id, &t) : i % 3 == 1 ? direct(id, &t) : sys_clock_gettime(id, &t);
        ok &= r == 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000L && ns(&t) >= previous;
        previous = ns(&t);
    }
    return ok;
}

static int check_clocks(const char* who) {
    clock_gettime_fn direct = (clock_gettime_fn)vdso_symbol(VDSO_VERSION, VDSO_CLOCK_GETTIME);
    if (!direct) {
        printf("%s: no vDSO clock_gettime\n", who);
        return 0;
    }
    int all = 1;
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; ++i) all &= interleaved_monotonic(clocks[i].id, direct);
    return all;
}

static void after_exec(void) {
    const unsigned char* eh = (const unsigned char*)getauxval(AT_SYSINFO_EHDR);
    printf("after execve: AT_SYSINFO_EHDR is an ELF header: %s\n", yes_no(eh && memcmp(eh, ELFMAG, SELFMAG) == 0));
    printf("after execve: clocks agree with the system call: %s\n", yes_no(check_clocks("after execve")));
}

int main(int argc, char** argv) {
    app_test_init();
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        after_exec();
        return 0;
    }
    const unsigned char* eh = (const unsigned char*)getauxval(AT_SYSINFO_EHDR);
    printf("AT_SYSINFO_EHDR present: %s\n", yes_no(eh != NULL));
    APP_REQUIRE(eh != NULL);
    printf("it points at an ELF header: %s\n", yes_no(memcmp(eh, ELFMAG, SELFMAG) == 0));
    const Elf64_Ehdr* header = (const Elf64_Ehdr*)eh;
    printf("a 64-bit shared object: %s\n", yes_no(header->e_ident[EI_CLASS] == ELFCLASS64 && header->e_type == ET_DYN));

    clock_gettime_fn direct_gettime = (clock_gettime_fn)vdso_symbol(VDSO_VERSION, VDSO_CLOCK_GETTIME);
    gettimeofday_fn direct_gettimeofday = (gettimeofday_fn)vdso_symbol(VDSO_VERSION, VDSO_GETTIMEOFDAY);
    clock_getres_fn direct_getres = (clock_getres_fn)vdso_symbol(VDSO_VERSION, VDSO_CLOCK_GETRES);
    printf("exports clock_gettime, gettimeofday, clock_getres with the version: %s\n",
           yes_no(direct_gettime && direct_gettimeofday && direct_getres));
    printf("no symbol under another version: %s\n", yes_no(!vdso_symbol("LINUX_0.0", VDSO_CLOCK_GETTIME)));
    APP_REQUIRE(direct_gettime && direct_gettimeofday && direct_getres);

    /* /proc/self/maps names it, at the address the auxiliary vector gives. */
    FILE* maps = fopen("/proc/self/maps", "r");
    int named = 0, executable = 0;
    char line[512];
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long start;
        char perms[8];
        if (strstr(line, "[vdso]") && sscanf(line, "%lx-%*x %7s", &start, perms) == 2) {
            named = start == (unsigned long)eh;
            executable = strcmp(perms, "r-xp") == 0;
        }
    }
    if (maps) fclose(maps);
    printf("/proc/self/maps has [vdso] at AT_SYSINFO_EHDR: %s\n", yes_no(named));
    printf("[vdso] is r-xp: %s\n", yes_no(executable));

    /* Every clock it answers, through the C library, the vDSO and the system call. */
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; ++i) {
        struct timespec res_vdso = {-1, -1}, res_sys = {-2, -2};
        int r1 = direct_getres(clocks[i].id, &res_vdso), r2 = (int)syscall(SYS_clock_getres, clocks[i].id, &res_sys);
        printf("%s: interleaved reads never go back: %s; clock_getres agrees with the system call: %s\n",
               clocks[i].name, yes_no(interleaved_monotonic(clocks[i].id, direct_gettime)),
               yes_no(r1 == 0 && r2 == 0 && res_vdso.tv_sec == res_sys.tv_sec && res_vdso.tv_nsec == res_sys.tv_nsec));
    }
    struct timespec res;
    printf("CLOCK_MONOTONIC resolution is 1 ns: %s\n",
           yes_no(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec == 1));
    printf("clock_getres with a null pointer: %s\n", yes_no(direct_getres(CLOCK_MONOTONIC, NULL) == 0));

    /* The coarse clocks lag by at most a tick: never ahead of a fine reading taken after. */
    struct timespec coarse, fine;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse);
    clock_gettime(CLOCK_MONOTONIC, &fine);
    printf("CLOCK_MONOTONIC_COARSE not ahead of CLOCK_MONOTONIC: %s\n", yes_no(ns(&coarse) <= ns(&fine)));
    /* MONOTONIC and BOOTTIME agree here (no suspend) within a second either way. */
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    printf("CLOCK_BOOTTIME not behind CLOCK_MONOTONIC: %s\n", yes_no(ns(&boot) >= ns(&fine)));

    /* The wall clocks: each reading between two readings of another. */
    struct timeval tv_vdso, tv_sys, tv_after;
    struct timespec rt_before, rt_after;
    clock_gettime(CLOCK_REALTIME, &rt_before);
    int ok = direct_gettimeofday(&tv_vdso, NULL) == 0;
    ok &= syscall(SYS_gettimeofday, &tv_sys, NULL) == 0;
    ok &= gettimeofday(&tv_after, NULL) == 0;
    clock_gettime(CLOCK_REALTIME, &rt_after);
    long long us_vdso = tv_vdso.tv_sec * 1000000LL + tv_vdso.tv_usec, us_sys = tv_sys.tv_sec * 1000000LL + tv_sys.tv_usec,
              us_after = tv_after.tv_sec * 1000000LL + tv_after.tv_usec;
    printf("gettimeofday: vDSO, system call, C library in order: %s\n",
           yes_no(ok && ns(&rt_before) / 1000 <= us_vdso && us_vdso <= us_sys && us_sys <= us_after &&
                  us_after <= ns(&rt_after) / 1000));
    struct {
        int minuteswest, dsttime;
    } tz = {-1, -1};
    printf("gettimeofday fills the time zone with UTC: %s\n",
           yes_no(direct_gettimeofday(NULL, &tz) == 0 && tz.minuteswest == 0 && tz.dsttime == 0));
    struct timeval before;
    syscall(SYS_gettimeofday, &before, NULL);
    time_t now = time(NULL);
    syscall(SYS_gettimeofday, &tv_after, NULL);
    /* Linux's __vdso_time is the coarse clock: up to a tick behind, so a second earlier just
       after a second begins. */
    printf("time() between two gettimeofday system calls: %s\n",
           yes_no(before.tv_sec - 1 <= now && now <= tv_after.tv_sec));

    /* Ids the vDSO does not answer go to the system call: the same result either way. */
    struct timespec t;
    printf("CLOCK_PROCESS_CPUTIME_ID works: %s\n", yes_no(direct_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0));
    printf("CLOCK_THREAD_CPUTIME_ID works: %s\n", yes_no(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0));
    static const clockid_t invalid[] = {10, 12, 100, -1};
    int einval = 1;
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; ++i) {
        errno = 0;
        einval &= clock_gettime(invalid[i], &t) == -1 && errno == EINVAL;
        einval &= direct_gettime(invalid[i], &t) == -EINVAL;
        einval &= sys_clock_gettime(invalid[i], &t) == -1 && errno == EINVAL;
        einval &= direct_getres(invalid[i], &res) == -EINVAL;
        errno = 0;
        einval &= clock_getres(invalid[i], &res) == -1 && errno == EINVAL;
    }
    printf("invalid clock ids: EINVAL from the C library, the vDSO and the system call: %s\n", yes_no(einval));

    /* getcpu: a CPU that exists, node 0 (sched_getcpu uses the vDSO where it has getcpu). */
    unsigned cpu = ~0u, node = ~0u;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int c = sched_getcpu();
    printf("sched_getcpu names an online CPU: %s\n", yes_no(c >= 0 && c < cpus));
    printf("getcpu system call: an online CPU, node 0: %s\n",
           yes_no(syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && cpu < (unsigned)cpus && node == 0));

    /* A forked child has it too (its pages copy-on-write), and its clock continues ours. */
    struct timespec parent;
    clock_gettime(CLOCK_MONOTONIC, &parent);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec child;
        int good = getauxval(AT_SYSINFO_EHDR) == (unsigned long)eh && clock_gettime(CLOCK_MONOTONIC, &child) == 0 &&
                   ns(&child) >= ns(&parent) && check_clocks("child");
        _exit(good ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    printf("a forked child reads the clocks through it: %s\n", yes_no(WIFEXITED(status) && WEXITSTATUS(status) == 0));

    /* And a new program gets a new one. */
    pid = fork();
    if (pid == 0) {
        char* args[] = {argv[0], "after-exec", NULL};
        execv("/proc/self/exe", args);
        printf("execv failed: %s\n", errno_name(errno));
        _exit(1);
    }
    waitpid(pid, &status, 0);
    printf("the execve'd child exited 0: %s\n", yes_no(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    return 0;
}
