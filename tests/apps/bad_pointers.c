/* Bad pointers, lengths and arguments in system calls (issue 16): each kind of bad pointer
   - null, low pages, Mica's kernel image, kernel memory, kernel stacks and device windows,
   addresses past the application's space and in the upper half, the top page, guard and
   unmapped pages, read-only pages for outputs, buffers that run into a guard or into the
   kernel's memory - passed to a set of calls that read or write through it, each of which
   must fail with EFAULT (or, for a buffer that starts valid, EFAULT or a short count), never
   crash; then lengths that overflow, huge sizes, bad descriptors, long paths and unknown
   flags. The addresses are Mica's layout for each architecture; on Linux they are simply
   unmapped, and Linux gives the same answers, which the apps test compares. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "app_test.h"

#if defined(__x86_64__)
#define KERNEL_IMAGE 0x100000ul              /* linked at 1 MiB */
#define KERNEL_MEMORY 0xffff800004000000ul   /* the direct map: the heap, page tables */
#define KERNEL_STACKS 0x8000010000ul         /* the kernel stack area at 512 GiB */
#define DEVICE_WINDOW 0xfee00000ul           /* the local APIC */
#define PAST_THE_SPACE 0x800000000000ul      /* the first non-canonical address */
#define UPPER_HALF 0xffffffff80000000ul
#define KERNEL_BELOW 0x40000000ul            /* application memory ends here, the device window starts */
#elif defined(__aarch64__)
#define KERNEL_IMAGE 0x40080000ul
#define KERNEL_MEMORY 0x44000000ul           /* RAM, identity-mapped */
#define KERNEL_STACKS 0x4000010000ul         /* the kernel stack area at 256 GiB */
#define DEVICE_WINDOW 0x09000000ul           /* the PL011 UART */
#define PAST_THE_SPACE 0x8000000000ul        /* beyond the 39-bit space */
#define UPPER_HALF 0xffff800008000000ul
#define KERNEL_BELOW 0x08000000ul            /* application memory ends at 128 MiB */
#endif

enum { page = 4096 };

struct Kind {
    const char* name;
    uintptr_t address;
    int partial;  /* starts in valid memory: EFAULT or a short count */
};

static struct Kind kinds[32];
static int kind_count, output_kind_count;  /* the read-only ones count only for outputs */

static void add(const char* name, uintptr_t address, int partial) {
    kinds[kind_count++] = (struct Kind){name, address, partial};
}

static int zero_fd, null_fd, file_fd, pipe_r, pipe_w;
static char* valid;    /* two read-write pages */
static char* guarded;  /* a read-write page between two PROT_NONE pages */

static const char* error_name(int e) {
    switch (e) {
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    case ENOTDIR: return "ENOTDIR";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTTY: return "ENOTTY";
    case ESPIPE: return "ESPIPE";
    default: return "another error";
    }
}

typedef long (*Call)(uintptr_t p);
/* What the call does through the pointer; `word`: reads a 4-byte word, which the partial
   buffers hold whole. `optional`: null means "none" (not a bad pointer) for this argument. */
enum Use { input, output, word, optional_input, optional_output };

/* One line per call: "EFAULT for all N" when every kind fails as it must, else each kind's
   result. */
static void check(const char* what, Call call, enum Use use) {
    int n = use == output || use == optional_output ? output_kind_count : kind_count;
    char exceptions[2048] = "";
    int tried = 0;
    for (int i = 0; i < n; ++i) {
        if (kinds[i].partial && use == word) continue;
        if (kinds[i].address == 0 && (use == optional_output || use == optional_input)) continue;
        ++tried;
        if (kinds[i].partial) memset((void*)kinds[i].address, 'x', 8);  /* no NUL before the edge */
        errno = 0;
        long r = call(kinds[i].address);
        int ok = r < 0 ? errno == EFAULT : kinds[i].partial;
        if (!ok) {
            size_t used = strlen(exceptions);
            snprintf(exceptions + used, sizeof exceptions - used, "%s%s: %s", used ? ", " : "", kinds[i].name,
                     r < 0 ? error_name(errno) : "succeeded");
        }
    }
    if (exceptions[0]) printf("%s: NOT EFAULT for %s\n", what, exceptions);
    else printf("%s: EFAULT for all %d bad pointers\n", what, tried);
}

/* The calls, each with the pointer in one argument. */
static long c_read_zero(uintptr_t p) { return read(zero_fd, (void*)p, 16); }
static long c_read_file(uintptr_t p) { return pread(file_fd, (void*)p, 16, 0); }
static long c_write_pipe(uintptr_t p) { return write(pipe_w, (void*)p, 16); }
static long c_write_file(uintptr_t p) { return pwrite(file_fd, (void*)p, 16, 0); }
static long c_readv_base(uintptr_t p) {
    struct iovec v = {(void*)p, 16};
    return preadv(file_fd, &v, 1, 0);
}
static long c_readv_vector(uintptr_t p) { return syscall(SYS_readv, zero_fd, p, 1); }
static long c_openat(uintptr_t p) { return syscall(SYS_openat, AT_FDCWD, p, O_RDONLY); }
static long c_stat_path(uintptr_t p) {
    return syscall(SYS_newfstatat, AT_FDCWD, p, valid, 0);
}
static long c_stat_buffer(uintptr_t p) { return syscall(SYS_newfstatat, AT_FDCWD, "/", p, 0); }
static long c_fstat(uintptr_t p) { return syscall(SYS_fstat, file_fd, p); }
static long c_mkdir(uintptr_t p) { return syscall(SYS_mkdirat, AT_FDCWD, p, 0755); }
static long c_rename_from(uintptr_t p) { return syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, "x", 0); }
static long c_getcwd(uintptr_t p) { return syscall(SYS_getcwd, p, 4096); }
static long c_readlink(uintptr_t p) { return syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", p, 64); }
static long c_getdents(uintptr_t p) {
    int fd = open(".", O_RDONLY | O_DIRECTORY);  /* a fresh one: a failed call may move the offset */
    long r = syscall(SYS_getdents64, fd, p, 4096);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}
static long c_uname(uintptr_t p) { return syscall(SYS_uname, p); }
static long c_sysinfo(uintptr_t p) { return syscall(SYS_sysinfo, p); }
static long c_clock_gettime(uintptr_t p) { return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p); }
static long c_gettimeofday(uintptr_t p) { return syscall(SYS_gettimeofday, p, 0); }
static long c_nanosleep(uintptr_t p) { return syscall(SYS_nanosleep, p, 0); }
static long c_getrandom(uintptr_t p) { return syscall(SYS_getrandom, p, 16, 0); }
static long c_pipe2(uintptr_t p) { return syscall(SYS_pipe2, p, 0); }
static long c_ppoll(uintptr_t p) {
    struct timespec zero = {0, 0};
    return syscall(SYS_ppoll, p, 1, &zero, 0, 8);
}
static long c_fionread(uintptr_t p) { return syscall(SYS_ioctl, pipe_r, FIONREAD, p); }
static long c_getaffinity(uintptr_t p) { return syscall(SYS_sched_getaffinity, 0, 128, p); }
static long c_sigprocmask(uintptr_t p) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, p, 8); }
static long c_prlimit(uintptr_t p) { return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, p); }
static long c_futex_wait(uintptr_t p) {
    struct timespec short_wait = {0, 1000};
    return syscall(SYS_futex, p & ~(uintptr_t)3, 0 /* FUTEX_WAIT */, 0, &short_wait, 0, 0);
}
static long c_execve(uintptr_t p) {
    char* none[] = {0};
    return syscall(SYS_execve, p, none, none);
}
static long c_execve_argv(uintptr_t p) { return syscall(SYS_execve, "/proc/self/exe", p, 0); }
static long c_getdents_count(unsigned long count) {
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    long r = syscall(SYS_getdents64, fd, valid, count);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

static void say_result(const char* what, long r) {
    if (r < 0) printf("%s: %s\n", what, error_name(errno));
    else printf("%s: %ld\n", what, r);
}

static void add_kinds(void) {
    add("null", 0, 0);
    add("page zero", 0x10, 0);
    add("below mmap_min_addr", 0xfff0, 0);
    add("Mica's kernel image", KERNEL_IMAGE, 0);
    add("kernel memory", KERNEL_MEMORY, 0);
    add("kernel stacks", KERNEL_STACKS, 0);
    add("a device window", DEVICE_WINDOW, 0);
    add("past the address space", PAST_THE_SPACE, 0);
    add("the upper half", UPPER_HALF, 0);
    add("the top page", 0xfffffffffffff000ul, 0);
    add("the last byte (the range wraps)", 0xfffffffffffffff8ul, 0);
    add("a non-canonical address", 0x8049c9d026d6e50ful, 0);
    guarded = mmap(0, 3 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(guarded != MAP_FAILED && mprotect(guarded + page, page, PROT_READ | PROT_WRITE) == 0);
    add("a guard page", (uintptr_t)guarded, 0);
    char* gone = mmap(0, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(gone != MAP_FAILED);  /* unmapped below, after the last mmap (which could reuse it) */
    add("an unmapped page", (uintptr_t)gone, 0);
    add("a buffer running into a guard page", (uintptr_t)guarded + 2 * page - 8, 1);
    /* The last page before the kernel's memory (Mica) or before unmapped space (Linux). */
    char* edge = mmap((void*)(KERNEL_BELOW - page), page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    APP_REQUIRE(edge == (char*)(KERNEL_BELOW - page));
    add("a buffer running into kernel memory", KERNEL_BELOW - 8, 1);
    output_kind_count = kind_count;
    char* read_only = mmap(0, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(read_only != MAP_FAILED);
    kinds[output_kind_count++] = (struct Kind){"a read-only page", (uintptr_t)read_only, 0};
    APP_REQUIRE(munmap(gone, page) == 0);
}

int main(void) {
    app_test_init();
    const char* tmp = getenv("TMPDIR");
    APP_REQUIRE(chdir(tmp ? tmp : "/tmp") == 0);
    APP_REQUIRE(mkdir("bad_pointers", 0755) == 0 && chdir("bad_pointers") == 0);
    zero_fd = open("/dev/zero", O_RDONLY);
    null_fd = open("/dev/null", O_WRONLY);
    file_fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int p[2];
    APP_REQUIRE(zero_fd >= 0 && null_fd >= 0 && file_fd >= 0 && pipe2(p, O_NONBLOCK) == 0);
    pipe_r = p[0], pipe_w = p[1];
    APP_REQUIRE(write(file_fd, "0123456789abcdef0123456789abcdef", 32) == 32);
    valid = mmap(0, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(valid != MAP_FAILED);
    add_kinds();

    printf("== bad pointers (%d kinds; outputs also a read-only page)\n", kind_count);
    /* Outputs: the kernel writes through the pointer. */
    check("read from /dev/zero into it", c_read_zero, output);
    check("pread from a file into it", c_read_file, output);
    check("preadv into an iovec's buffer", c_readv_base, output);
    check("newfstatat's struct stat", c_stat_buffer, output);
    check("fstat's struct stat", c_fstat, output);
    check("getcwd's buffer", c_getcwd, output);
    check("readlinkat's buffer", c_readlink, output);
    check("getdents64's buffer", c_getdents, output);
    check("uname's struct", c_uname, output);
    check("sysinfo's struct", c_sysinfo, output);
    check("clock_gettime's timespec", c_clock_gettime, output);
    check("gettimeofday's timeval", c_gettimeofday, optional_output);
    check("getrandom's buffer", c_getrandom, output);
    check("pipe2's descriptors", c_pipe2, output);
    check("FIONREAD's int", c_fionread, output);
    check("sched_getaffinity's mask", c_getaffinity, output);
    check("rt_sigprocmask's old set", c_sigprocmask, optional_output);
    check("prlimit64's old limit", c_prlimit, optional_output);
    /* Inputs: the kernel reads through the pointer. */
    check("write to a pipe from it", c_write_pipe, input);
    check("pwrite to a file from it", c_write_file, input);
    check("readv's iovec array", c_readv_vector, input);
    check("openat's path", c_openat, input);
    check("newfstatat's path", c_stat_path, input);
    check("mkdirat's path", c_mkdir, input);
    check("renameat's old path", c_rename_from, input);
    check("nanosleep's timespec", c_nanosleep, input);
    check("ppoll's pollfd array", c_ppoll, input);
    check("futex's word (FUTEX_WAIT)", c_futex_wait, word);
    check("execve's path", c_execve, input);
    check("execve's argv (null is an empty list)", c_execve_argv, optional_input);

    printf("== nothing is touched for length 0\n");
    say_result("write(pipe, the upper half, 0)", write(pipe_w, (void*)UPPER_HALF, 0));
    say_result("read(file, Mica's kernel image, 0)", read(file_fd, (void*)KERNEL_IMAGE, 0));
    say_result("getrandom(null, 0)", syscall(SYS_getrandom, 0, 0, 0));

    printf("== lengths that overflow, huge sizes\n");
    struct iovec negative[2] = {{valid, 16}, {valid, 1ul << 63}};
    struct iovec huge[2] = {{valid, 1ul << 62}, {valid, 1ul << 62}};
    say_result("readv with 1025 iovecs", syscall(SYS_readv, zero_fd, valid + page, 1025));
    say_result("readv with -1 iovecs", syscall(SYS_readv, zero_fd, valid + page, -1L));
    say_result("writev with a negative iovec length", syscall(SYS_writev, null_fd, negative, 2));
    say_result("writev with iovecs longer than the address space", syscall(SYS_writev, null_fd, huge, 2));
    say_result("read of 2^63 bytes into a valid buffer", syscall(SYS_read, zero_fd, valid, 1ul << 63));
    say_result("read of SIZE_MAX bytes", syscall(SYS_read, zero_fd, valid, ~0ul));
    say_result("getdents64 of 2^63 bytes (the count is 32-bit: 0)", c_getdents_count(1ul << 63));
    say_result("getdents64 of 2^32 - 1 bytes", c_getdents_count(0xffffffff));
    memset(valid + page, 0, 16);  /* a zero timeout */
    say_result("ppoll of 2^31 - 1 descriptors", syscall(SYS_ppoll, valid, 0x7fffffffl, valid + page, 0, 8));
    say_result("getrandom of 2^63 bytes into one page before a guard",
               syscall(SYS_getrandom, guarded + page, 1ul << 63, 0));
    say_result("mmap of 2^62 bytes", syscall(SYS_mmap, 0, 1ul << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    say_result("mmap of SIZE_MAX bytes", syscall(SYS_mmap, 0, ~0ul, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    say_result("mmap of 0 bytes", syscall(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    say_result("mremap of an unmapped range",
               syscall(SYS_mremap, kinds[13].address, page, 2 * page, 1 /* MREMAP_MAYMOVE */));
    say_result("mremap to 0 bytes", syscall(SYS_mremap, valid, page, 0, 0));
    long brk_now = syscall(SYS_brk, 0);
    const uintptr_t brks[] = {~0ul, ~0ul - 4095, 1ul << 63, UPPER_HALF, 0x1000};
    int unchanged = 1;
    for (size_t i = 0; i < sizeof brks / sizeof *brks; ++i) unchanged &= syscall(SYS_brk, brks[i]) == brk_now;
    printf("brk to huge, kernel and low addresses leaves the break: %s\n", yes_no(unchanged));
    struct timespec bad_times[] = {{0, 1000000000}, {-1, 0}, {0, -1}};
    for (int i = 0; i < 3; ++i) say_result("nanosleep with an invalid timespec", syscall(SYS_nanosleep, &bad_times[i], 0));

    printf("== descriptors\n");
    say_result("read from descriptor -1", syscall(SYS_read, -1, valid, 1));
    say_result("read from descriptor 2^20", syscall(SYS_read, 1 << 20, valid, 1));
    say_result("read from descriptor INT_MAX", syscall(SYS_read, 0x7fffffff, valid, 1));
    int closed = dup(file_fd);
    close(closed);
    say_result("read from a closed descriptor", syscall(SYS_read, closed, valid, 1));
    say_result("fstat of descriptor 2^32 + file (the upper bits are ignored)",
               syscall(SYS_fstat, (1ul << 32) + (unsigned)file_fd, valid) == 0 ? 0 : -1);
    say_result("dup3 onto -1", syscall(SYS_dup3, file_fd, -1, 0));
    say_result("pwrite at offset -1", syscall(SYS_pwrite64, file_fd, valid, 1, -1L));
    say_result("preadv at offset -1", syscall(SYS_preadv, file_fd, valid, 1, -1L, 0));
    say_result("preadv of a pipe", syscall(SYS_preadv, pipe_r, valid, 1, 0, 0));
    /* And the good case: two pieces written at offset 4 and read back as one. */
    struct iovec pieces[2] = {{"ABC", 3}, {"DEFG", 4}};
    char back[8] = "";
    struct iovec whole = {back, 7};
    say_result("pwritev of 3 + 4 bytes at offset 4", syscall(SYS_pwritev, file_fd, pieces, 2, 4, 0));
    say_result("preadv of 7 bytes at offset 4", syscall(SYS_preadv, file_fd, &whole, 1, 4, 0));
    printf("read back: %s\n", back);

    printf("== paths\n");
    char* long_path = valid;
    memset(long_path, 'a', 5000);
    long_path[5000] = 0;
    say_result("openat of a 5000-byte path", syscall(SYS_openat, AT_FDCWD, long_path, O_RDONLY));
    memset(long_path, 'b', 300);
    long_path[300] = 0;
    say_result("openat of a 300-byte name", syscall(SYS_openat, AT_FDCWD, long_path, O_RDONLY));
    char* unterminated = guarded + 2 * page - 100;  /* 100 bytes, then the guard page */
    memset(unterminated, 'c', 100);
    say_result("openat of a path running into a guard page", syscall(SYS_openat, AT_FDCWD, unterminated, O_RDONLY));
    char* at_edge = (char*)KERNEL_BELOW - 100;  /* 100 bytes, then Mica's kernel (unmapped on Linux) */
    memset(at_edge, 'd', 100);
    say_result("openat of a path running into kernel memory", syscall(SYS_openat, AT_FDCWD, at_edge, O_RDONLY));

    printf("== unknown flag bits\n");
    say_result("pipe2 with flag 0x80000000", syscall(SYS_pipe2, valid, 0x80000000));
    say_result("dup3 with flag 1", syscall(SYS_dup3, file_fd, 100, 1));
    say_result("getrandom with flag 0x100", syscall(SYS_getrandom, valid, 16, 0x100));
    say_result("getrandom with GRND_RANDOM|GRND_INSECURE", syscall(SYS_getrandom, valid, 16, 6));
    say_result("unlinkat with flag 1", syscall(SYS_unlinkat, AT_FDCWD, "file", 1));
    say_result("newfstatat with flag 0x80000", syscall(SYS_newfstatat, AT_FDCWD, "file", valid, 0x80000));
    say_result("renameat2 with flag 8", syscall(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "file2", 8));
    say_result("faccessat2 with mode 8", syscall(SYS_faccessat2, AT_FDCWD, "file", 8, 0));
    say_result("mprotect with PROT 0x100", syscall(SYS_mprotect, valid, page, 0x100));
    say_result("clock_gettime of clock 12", syscall(SYS_clock_gettime, 12, valid));
    say_result("wait4 with option 0x100", syscall(SYS_wait4, -1, 0, 0x100, 0));
    say_result("madvise with advice 999", syscall(SYS_madvise, valid, page, 999));
    memset(valid, 0, 8);
    say_result("rt_sigprocmask with how 99", syscall(SYS_rt_sigprocmask, 99, valid, 0, 8));
    say_result("set_robust_list with length 7", syscall(SYS_set_robust_list, valid, 7));

    unlink("file");
    APP_REQUIRE(chdir("..") == 0 && rmdir("bad_pointers") == 0);
    printf("done\n");
    return 0;
}
