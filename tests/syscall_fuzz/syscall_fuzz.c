/* The in-guest system-call fuzzer: random system calls with random and boundary arguments
   (bad and unaligned pointers, huge lengths, negative and closed descriptors, random flags)
   from several threads at once, a fixed number of calls from a fixed seed. The kernel must
   never panic or hang: every call must return. Calls that would end, block or reshape the
   process are skipped or shaped (calls.c says how).

   Usage: syscall-fuzz [CALLS [SEED [THREADS]]] [--verbose] [--host]
     CALLS    calls in all (default 20000), shared out between the threads
     SEED     the seed (default 1); each thread's calls follow from it
     THREADS  default 4 (at most 16)
     --verbose  print every call before making it (on the saved standard output)
     --dry-run  print every call and make none: each call's arguments follow from the seed,
                the thread and its number alone, so this shows the call a report names
     --host     run outside Mica too. Only ever in a throwaway virtual machine: random
                system calls with root's privileges can damage the machine they run on.
   Prints "fuzz done: N calls ..." and exits 0 when every call returned.

   Build it static: musl-gcc -static -O2 -pthread -o syscall-fuzz tests/syscall_fuzz/{*.c}
   (or aarch64-linux-gnu-gcc -static ...). Run it:
     tools/run --smp 2 --app syscall-fuzz -- 20000 1 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

enum {
    report_fd_at = 900,       /* the saved standard output; the fuzz never names it */
    cleanup_every = 1000,     /* calls per thread between closing what the fuzz opened */
    stuck_report_s = 60,      /* a thread in one call this long is reported (not failed) */
};

static const char* const workdir = "/tmp/syscall-fuzz";
static int report_fd = 2;
static int pool_top;  /* descriptors below this were opened by setup */
static int verbose, dry_run;
static uint64_t thread_seed;  /* every call's choices follow from it, the thread and the call's number */

/* What each thread is doing, for the report of a call that does not return. */
typedef struct {
    long done;
    long nr;
    const char* name;
    uint64_t args[6];
    long ok, efault, einval, ebadf, enosys, other;
} Progress;
static Progress progress[max_threads];

static void say(const char* format, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* format, ...) {
    char text[512];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    if (n > (int)sizeof text - 1) n = (int)sizeof text - 1;
    for (int done = 0; done < n;) {
        ssize_t w = write(report_fd, text + done, (size_t)(n - done));
        if (w <= 0) break;
        done += (int)w;
    }
}

static void die(const char* what) {
    say("syscall-fuzz: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* ---- setup ------------------------------------------------------------------------------- */
static char* reserve_between_guards(size_t size) {
    char* area = mmap(0, size + 2 * guard_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) die("mmap");
    if (mprotect(area + guard_size, size, PROT_READ | PROT_WRITE)) die("mprotect");
    return area + guard_size;
}

static struct Constants* make_constants(void) {
    size_t size = (sizeof(struct Constants) + page_size - 1) & ~(size_t)(page_size - 1);
    struct Constants* c = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) die("mmap");
    /* Short (at most 2 ms), zero, and invalid timeouts: negative, nsec out of range. */
    static const int64_t ts[8][2] = {{0, 0}, {0, 1}, {0, 1000}, {0, 2000000}, {-1, 0}, {0, -1}, {0, 1000000000},
                                     {INT64_MIN, 0}};
    memcpy(c->timespecs, ts, sizeof ts);
    static const int64_t tv[4][2] = {{0, 0}, {0, 1000}, {-1, 0}, {0, 1000000}};
    memcpy(c->timevals, tv, sizeof tv);
    c->one = 1;
    c->zero = 0;
    static const char* const paths[24] = {
        "f0", "f1", "d0", "d0/f2", "l0", "l1", "l2", "h0", "new", "d0/new", ".", "..", "/", "",
        "/dev/null", "/dev/zero", "/dev/urandom", "/proc/self/maps", "/proc/meminfo", "/tmp", "/tmp/syscall-fuzz/f0",
        "d0/../f1", "f0/", "//./d0///f2"};
    for (int i = 0; i < 24; ++i) snprintf(c->paths[i], sizeof c->paths[i], "%s", paths[i]);
    /* "a/a/a/...": 4095 bytes and a NUL at the end; callers start up to 200 bytes in. */
    for (size_t i = 0; i < sizeof c->long_path - 1; ++i) c->long_path[i] = i % 2 ? '/' : 'a';
    c->long_path[sizeof c->long_path - 1] = 0;
    if (mprotect(c, size, PROT_READ)) die("mprotect");
    return c;
}

static int track(int fd) {
    if (fd >= 0 && world.fd_count < (int)(sizeof world.fds / sizeof *world.fds)) world.fds[world.fd_count++] = fd;
    return fd;
}

static void write_file(const char* path, const char* data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die(path);
    if (write(fd, data, size) != (ssize_t)size) die(path);
    close(fd);
}

/* A directory of files, links and subdirectories to work in, and descriptors of every kind:
   regular files, directories, devices, /proc files, pipes, sockets and others where the
   kernel has them (their creation may fail: ENOSYS is fine). Standard input, output and
   error become /dev/null; the real output is kept at report_fd_at. */
static void make_files_and_descriptors(void) {
    if (mkdir(workdir, 0777) && errno != EEXIST) die(workdir);
    if (chdir(workdir)) die(workdir);
    write_file("f0", world.scratch, 8192);
    write_file("f1", "one line of text\n", 17);
    if (mkdir("d0", 0755) && errno != EEXIST) die("d0");
    write_file("d0/f2", world.scratch + 8192, 100);
    unlink("l0"), unlink("l1"), unlink("l2"), unlink("h0");
    if (symlink("f0", "l0") || symlink("missing", "l1") || symlink("l2", "l2")) die("symlink");
    if (link("f1", "h0")) die("link");

    int null = open("/dev/null", O_RDWR);
    if (null < 0) die("/dev/null");
    for (int fd = 0; fd < 3; ++fd) {
        if (dup2(null, fd) < 0) die("dup2");
        track(fd);
    }
    close(null);
    track(open("f0", O_RDWR | O_NONBLOCK));
    track(open("f1", O_RDONLY | O_NONBLOCK));
    track(open("f0", O_WRONLY | O_APPEND | O_NONBLOCK));
    track(open("d0", O_RDONLY | O_DIRECTORY | O_NONBLOCK));
    track(open(".", O_RDONLY | O_DIRECTORY | O_NONBLOCK));
    track(open("l0", O_PATH | O_NOFOLLOW | O_NONBLOCK));
    track(open("/dev/null", O_RDWR | O_NONBLOCK));
    track(open("/dev/zero", O_RDWR | O_NONBLOCK));
    track(open("/dev/urandom", O_RDWR | O_NONBLOCK));
    track(open("/proc/self/maps", O_RDONLY | O_NONBLOCK));
    track(open("/proc/meminfo", O_RDONLY | O_NONBLOCK));
    for (int i = 0; i < 2; ++i) {
        int p[2];
        if (pipe2(p, O_NONBLOCK)) die("pipe2");
        track(p[0]), track(p[1]);
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) == 0) track(pair[0]), track(pair[1]);
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair) == 0) track(pair[0]), track(pair[1]);
    track(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    track((int)syscall(SYS_eventfd2, 0, O_NONBLOCK));
    track((int)syscall(SYS_timerfd_create, CLOCK_MONOTONIC, O_NONBLOCK));
    track((int)syscall(SYS_epoll_create1, 0));
    track((int)syscall(SYS_memfd_create, "fuzz", 0));
    /* Closed descriptors, at numbers nothing else will take. */
    for (int i = 0; i < 8; ++i) {
        int fd = fcntl(world.fds[3], F_DUPFD, 200 + i);
        if (fd < 0) die("F_DUPFD");
        close(fd);
        world.closed_fds[world.closed_count++] = fd;
    }
    pool_top = 0;
    for (int i = 0; i < world.fd_count; ++i) {
        if (world.fds[i] >= pool_top) pool_top = world.fds[i] + 1;
    }
}

/* The edge ranges the fuzzer's own memory happens to use (a PIE, a large heap) are dropped:
   MAP_FIXED and munmap there would hurt the fuzzer, not the kernel. */
static void drop_edges_in_use(void) {
    FILE* maps = fopen("/proc/self/maps", "r");
    if (!maps) die("/proc/self/maps");
    char line[512];
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) != 2) continue;
        for (int i = 0; i < world.edge_count; ++i) {
            Range e = world.edges[i];
            if (start < e.start + e.length && e.start < end) world.edges[i--] = world.edges[--world.edge_count];
        }
    }
    fclose(maps);
}

/* ---- the fuzz ---------------------------------------------------------------------------- */
static long calls_per_thread[max_threads];

static void count(Progress* p, long result) {
    if (result >= 0 || result < -4095) ++p->ok;
    else if (result == -EFAULT) ++p->efault;
    else if (result == -EINVAL) ++p->einval;
    else if (result == -EBADF) ++p->ebadf;
    else if (result == -ENOSYS) ++p->enosys;
    else ++p->other;
}

/* Descriptors the fuzz opened go now and then, so it keeps finding free ones. */
static void close_fuzz_descriptors(void) {
    for (int fd = pool_top; fd < 1024; ++fd) {
        if (fd == report_fd_at || (fd >= 200 && fd < 208)) continue;
        uint64_t a[6] = {(uint64_t)fd};
        raw_syscall(SYS_close, a);
    }
}

/* Threads start fuzzing together, once all exist: a thread created while another already
   unmaps parts of the playground could get its stack in the hole. */
static int go;

static void* fuzz_thread(void* arg) {
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) sched_yield();
    Thread t;
    t.index = (int)(intptr_t)arg;
    t.build = world.scratch + (size_t)t.index * build_slice;
    Progress* p = &progress[t.index];
    for (long i = 0; i < calls_per_thread[t.index]; ++i) {
        long nr;
        const char* name;
        uint64_t a[6];
        /* Each call from (seed, thread, call number) alone: what one call did does not change
           the next one's arguments, so a call can be found again from the verbose output. */
        Rng mix = {thread_seed ^ ((uint64_t)t.index << 48) ^ (uint64_t)i};
        t.rng.state = rng_next(&mix);
        choose_call(&t, &nr, &name, a);
        __atomic_store_n(&p->nr, nr, __ATOMIC_RELAXED);
        p->name = name;
        memcpy(p->args, a, sizeof a);
        if (verbose) {
            say("t%d #%ld %s(%ld)(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n", t.index, i, name, nr, a[0], a[1], a[2], a[3],
                a[4], a[5]);
        }
        long result = dry_run ? -ENOSYS : raw_syscall(nr, a);
        if (!dry_run) after_call(nr, a, result);
        count(p, result);
        __atomic_store_n(&p->done, i + 1, __ATOMIC_RELEASE);
        if ((i + 1) % cleanup_every == 0) close_fuzz_descriptors();
    }
    return 0;
}

/* MemFree from /proc/meminfo in kB, or -1: what the fuzz left allocated, for the report. */
static long mem_free_kb(void) {
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0) return -1;
    char text[2048];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    const char* line = strstr(text, "MemFree:");
    return line ? atol(line + strlen("MemFree:")) : -1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    long calls = 20000, threads = 4;
    uint64_t seed = 1;
    int host = 0, positional = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--verbose")) verbose = 1;
        else if (!strcmp(argv[i], "--host")) host = 1;
        else if (!strcmp(argv[i], "--dry-run")) dry_run = verbose = 1;
        else if (positional == 0 && ++positional) calls = atol(argv[i]);
        else if (positional == 1 && ++positional) seed = strtoull(argv[i], 0, 0);
        else if (positional == 2 && ++positional) threads = atol(argv[i]);
        else {
            fprintf(stderr, "usage: syscall-fuzz [CALLS [SEED [THREADS]]] [--verbose] [--dry-run] [--host]\n");
            return 2;
        }
    }
    if (calls < 0 || threads < 1 || threads > max_threads) {
        fprintf(stderr, "syscall-fuzz: CALLS >= 0 and 1 <= THREADS <= %d\n", max_threads);
        return 2;
    }
    struct utsname u;
    size_t n = uname(&u) == 0 ? strlen(u.release) : 0;
    world.mica = n >= 5 && !strcmp(u.release + n - 5, "-mica");
    if (!world.mica && !host) {
        fprintf(stderr, "syscall-fuzz: this is not Mica (%s): random system calls could damage this machine; "
                        "--host runs anyway (in a throwaway virtual machine only)\n", n ? u.release : "?");
        return 2;
    }
    report_fd = fcntl(1, F_DUPFD, report_fd_at);
    if (report_fd < 0) die("F_DUPFD");
    /* Writing to a pipe or socket nobody reads, or past a file size limit, must be an error
       (EPIPE, EFBIG), not the end of the fuzzer. The fuzz never changes dispositions. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);

    Rng setup = {seed * 0x9e3779b97f4a7c15ull + 1};
    world.scratch = reserve_between_guards(scratch_size);
    for (size_t i = 0; i < scratch_size; i += 8) {
        uint64_t v = rng_next(&setup);
        memcpy(world.scratch + i, &v, 8);
    }
    world.playground = reserve_between_guards((size_t)playground_pages * page_size);
    world.constants = make_constants();
    make_files_and_descriptors();
    world.break0 = (uintptr_t)sbrk(0);
    world_add_bad_addresses();
    drop_edges_in_use();

    thread_seed = rng_next(&setup);
    long free_before = mem_free_kb();
    for (long i = 0; i < threads; ++i) calls_per_thread[i] = calls / threads + (i < calls % threads);
    say("syscall-fuzz: %ld calls from %ld threads, seed %llu, %d descriptors, %d bad addresses, %d edge ranges\n",
        calls, threads, (unsigned long long)seed, world.fd_count, world.bad_count, world.edge_count);
    pthread_t id[max_threads];
    for (long i = 0; i < threads; ++i) {
        if (pthread_create(&id[i], 0, fuzz_thread, (void*)(intptr_t)i)) die("pthread_create");
    }
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    /* Watch: a call that takes very long is reported (with its arguments), not failed; the
       test's own timeout decides. */
    long last[max_threads] = {0};
    double since[max_threads];
    for (long i = 0; i < threads; ++i) since[i] = now_s();
    for (;;) {
        int running = 0;
        for (long i = 0; i < threads; ++i) {
            long done = __atomic_load_n(&progress[i].done, __ATOMIC_ACQUIRE);
            if (done >= calls_per_thread[i]) continue;
            running = 1;
            double t = now_s();
            if (done != last[i]) {
                last[i] = done, since[i] = t;
            } else if (t - since[i] > stuck_report_s) {
                Progress* p = &progress[i];
                say("syscall-fuzz: thread %ld has been in call %ld, %s (%ld)(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx), "
                    "for %d s\n", i, done, p->name, p->nr, p->args[0], p->args[1], p->args[2], p->args[3], p->args[4],
                    p->args[5], stuck_report_s);
                since[i] = t;
            }
        }
        if (!running) break;
        struct timespec tick = {0, 100000000};
        nanosleep(&tick, 0);
    }
    for (long i = 0; i < threads; ++i) pthread_join(id[i], 0);
    close_fuzz_descriptors();
    say("syscall-fuzz: MemFree %ld kB before the fuzz, %ld kB after (files and directories it made stay)\n",
        free_before, mem_free_kb());
    Progress sum = {0};
    for (long i = 0; i < threads; ++i) {
        sum.done += progress[i].done, sum.ok += progress[i].ok, sum.efault += progress[i].efault;
        sum.einval += progress[i].einval, sum.ebadf += progress[i].ebadf, sum.enosys += progress[i].enosys;
        sum.other += progress[i].other;
    }
    say("fuzz done: %ld calls (seed %llu, %ld threads): %ld succeeded, %ld EFAULT, %ld EINVAL, %ld EBADF, "
        "%ld ENOSYS, %ld other errors\n", sum.done, (unsigned long long)seed, threads, sum.ok, sum.efault, sum.einval,
        sum.ebadf, sum.enosys, sum.other);
    return 0;
}
