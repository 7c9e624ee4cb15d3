/* Which system calls the fuzzer makes, with which kinds of arguments, and the rules that
   keep it bounded. Three rules matter:
   - Nothing blocks. Every descriptor the fuzz can create is non-blocking (the flags of
     open, pipe2, socket, accept4, eventfd2, ... always carry O_NONBLOCK; F_SETFL and FIONBIO
     cannot clear it; calls that create blocking descriptors without flags are skipped);
     timeouts point at short constant ones, never null ("for ever"); waits take WNOHANG,
     locks LOCK_NB, socket calls MSG_DONTWAIT; sleeping and waiting-for-signal calls that
     cannot be bounded are skipped. So a connect or an accept never blocks either.
   - Nothing ends or reshapes the process: exit, kill, clone, execve, signal handlers, TLS
     and robust lists, credentials, namespaces, limits and the clock are skipped; memory is
     only reshaped in the playground (args.c reshape_range); brk never goes below the break
     the fuzzer started with; descriptors the fuzzer needs live at 900 and above.
   - Nothing reaches a network: sockets are AF_UNIX (or invalid families), so even a run
     on Linux sends no traffic.
   Calls in the table get typed arguments; every other number below 450 that is not
   skipped gets random ones (A_ANY). On Mica, a few calls also use numbers past the end. */
#include "fuzz.h"

#include <fcntl.h>
#include <sys/syscall.h>

typedef int (*Shape)(Thread* t, uint64_t a[6]);  /* 0: skip this call */

typedef struct {
    long nr;
    const char* name;
    uint8_t weight;
    Shape shape;
    uint8_t kinds[6];
} Call;

/* ---- shaping rules -------------------------------------------------------------------- */
static int nonblock_0(Thread* t, uint64_t a[6]) { (void)t; a[0] |= O_NONBLOCK; return 1; }
static int nonblock_1(Thread* t, uint64_t a[6]) { (void)t; a[1] |= O_NONBLOCK; return 1; }
static int nonblock_2(Thread* t, uint64_t a[6]) { (void)t; a[2] |= O_NONBLOCK; return 1; }
static int nonblock_3(Thread* t, uint64_t a[6]) { (void)t; a[3] |= O_NONBLOCK; return 1; }
enum { msg_dontwait = 0x40, splice_nonblock = 2, lock_nb = 4, wnohang = 1, map_fixed = 0x10 };
static int dontwait_2(Thread* t, uint64_t a[6]) { (void)t; a[2] |= msg_dontwait; return 1; }
static int dontwait_3(Thread* t, uint64_t a[6]) { (void)t; a[3] |= msg_dontwait; return 1; }
static int splice_3(Thread* t, uint64_t a[6]) { (void)t; a[3] |= splice_nonblock; return 1; }
static int flock_nb(Thread* t, uint64_t a[6]) { (void)t; a[1] |= lock_nb; return 1; }

/* Kernel-to-kernel copies (sendfile, splice, tee, copy_file_range) are not bounded by the
   fuzzer's memory: from /dev/urandom to /dev/null, 2 GiB take minutes under TCG, as they
   would take seconds on Linux. At most 4 MiB, then; huge counts still reach read and write,
   which stop where scratch ends. */
static int kernel_copy_count(Thread* t, uint64_t a[6], int i) {
    enum { max_copy = 4 << 20 };
    if (a[i] > max_copy) a[i] = rng_below(&t->rng, max_copy + 1);
    return 1;
}
static int sendfile_shape(Thread* t, uint64_t a[6]) { return kernel_copy_count(t, a, 3); }
static int splice_shape(Thread* t, uint64_t a[6]) { a[5] |= splice_nonblock; return kernel_copy_count(t, a, 4); }
static int tee_shape(Thread* t, uint64_t a[6]) { a[3] |= splice_nonblock; return kernel_copy_count(t, a, 2); }
static int copy_file_range_shape(Thread* t, uint64_t a[6]) { return kernel_copy_count(t, a, 4); }
static int wait4_nohang(Thread* t, uint64_t a[6]) { (void)t; a[2] |= wnohang; return 1; }
static int waitid_nohang(Thread* t, uint64_t a[6]) { (void)t; a[3] |= wnohang; return 1; }

/* A FIFO could be opened for writing by a call that cannot say O_NONBLOCK: none is made. */
static int no_fifo(Thread* t, uint64_t a[6], int i) {
    (void)t;
    if ((a[i] & 0170000) == 0010000) a[i] = (a[i] & ~(uint64_t)0170000) | 0100000;
    return 1;
}
#ifdef SYS_mknod
static int mknod_mode(Thread* t, uint64_t a[6]) { return no_fifo(t, a, 1); }
#endif
static int mknodat_mode(Thread* t, uint64_t a[6]) { return no_fifo(t, a, 2); }

/* Sleeps on a clock that runs: never a CPU-time clock, which may not advance while the
   sleeper waits (the other threads may be done). */
static int clock_nanosleep_shape(Thread* t, uint64_t a[6]) {
    static const uint64_t clocks[] = {0, 1, 4, 5, 6, 7, 8, 9, 11, 12, 0x7fffffff};
    a[0] = PICK(&t->rng, clocks);
    return 1;
}

/* Under --host only: Linux fills memory it is asked to fill (MAP_POPULATE, fallocate of a
   memfd) until its OOM killer ends the fuzzer, where Mica must refuse up front. */
static uint64_t host_cap(Thread* t, uint64_t length) {
    enum { host_max = 16 << 20 };
    return world.mica || length <= host_max ? length : rng_below(&t->rng, host_max);
}

static int mmap_shape(Thread* t, uint64_t a[6]) {
    enum { map_populate = 0x8000 };
    if (rng_percent(&t->rng, 30)) {  /* MAP_FIXED only where the fuzz may reshape memory */
        reshape_range(t, &a[0], &a[1], 1);
        a[3] |= map_fixed;
    } else {
        a[3] &= ~(uint64_t)map_fixed;
    }
    if (a[3] & map_populate) a[1] = host_cap(t, a[1]);
    return 1;
}

static int fallocate_shape(Thread* t, uint64_t a[6]) {
    a[3] = host_cap(t, a[3]);
    return 1;
}

static int mremap_shape(Thread* t, uint64_t a[6]) {
    a[3] = rng_percent(&t->rng, 90) ? rng_below(&t->rng, 8) : a[3];  /* MAYMOVE, FIXED, DONTUNMAP */
    /* MREMAP_FIXED replaces what is at [new address, + new size): both a reshape range. */
    if (a[3] & 2) reshape_range(t, &a[4], &a[2], 0);
    return 1;
}

static int fcntl_shape(Thread* t, uint64_t a[6]) {
    enum { f_getlk = 5, f_setlk = 6, f_setfl = 4, f_ofd_getlk = 36, f_ofd_setlk = 37, o_async = 020000 };
    switch (a[1]) {
    case f_setfl: a[2] = (a[2] | O_NONBLOCK) & ~(uint64_t)o_async; break;
    case f_getlk:
    case f_setlk:
    case f_ofd_getlk:
    case f_ofd_setlk: a[2] = arg_of_kind(t, A_PTR); break;
    default: break;
    }
    return 1;
}

static int ioctl_shape(Thread* t, uint64_t a[6]) {
    /* FIONBIO sets non-blocking from an int: the constant 1, or a pointer nobody can read
       (random bytes could be 0 and make the descriptor blocking). */
    enum { fionbio = 0x5421 };
    if ((a[1] & 0xffffffff) == fionbio) {
        a[2] = rng_percent(&t->rng, 80) ? (uint64_t)&world.constants->one : arg_of_kind(t, A_BADPTR);
    }
    return 1;
}

static int futex_shape(Thread* t, uint64_t a[6]) {
    /* WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, and unknown ops;
       never the PI ones (they wait for an owner). Waits get a short timeout. */
    static const uint64_t ops[] = {0, 1, 3, 4, 5, 9, 10, 14, 99};
    uint64_t op = PICK(&t->rng, ops);
    if (rng_percent(&t->rng, 50)) op |= 128;  /* FUTEX_PRIVATE_FLAG */
    if (rng_percent(&t->rng, 10)) op |= 256;  /* FUTEX_CLOCK_REALTIME */
    a[1] = op;
    if ((op & 127) == 0 || (op & 127) == 9) a[3] = arg_of_kind(t, A_TIMESPEC);
    return 1;
}

static int socket_domain(Thread* t) {
    static const uint64_t invalid[] = {0, 46, 63, 64, 255, 0xffffffff};
    return rng_percent(&t->rng, 70) ? 1 /* AF_UNIX */ : (int)PICK(&t->rng, invalid);
}
static uint64_t socket_type(Thread* t) {
    static const uint64_t types[] = {1, 2, 3, 5, 0, 11};  /* STREAM DGRAM RAW SEQPACKET, invalid */
    uint64_t type = rng_percent(&t->rng, 90) ? PICK(&t->rng, types) : rng_next(&t->rng) & 0xffffffff;
    if (rng_percent(&t->rng, 30)) type |= O_CLOEXEC;
    return type | O_NONBLOCK;  /* SOCK_NONBLOCK */
}
static int socket_shape(Thread* t, uint64_t a[6]) {
    a[0] = (uint64_t)socket_domain(t);
    a[1] = socket_type(t);
    if (rng_percent(&t->rng, 80)) a[2] = 0;
    return 1;
}

/* close_range only marks close-on-exec (nothing execs), and never reaches the fuzzer's own
   descriptors at 900 and above; unknown flags now and then. */
static int close_range_shape(Thread* t, uint64_t a[6]) {
    enum { close_range_cloexec = 4, fuzz_fds = 900 };
    if (a[1] >= fuzz_fds) a[1] = fuzz_fds - 1;
    a[2] = rng_percent(&t->rng, 10) ? (a[2] | 8) : close_range_cloexec;
    return 1;
}

static int prctl_shape(Thread* t, uint64_t a[6]) {
    /* SET/GET_NAME, GET_PDEATHSIG, GET_DUMPABLE, CAPBSET_READ, GET_TIMERSLACK,
       GET_NO_NEW_PRIVS, and unknown options. */
    static const uint64_t options[] = {15, 16, 2, 3, 23, 30, 39, 0, 1000, 0xffffffff};
    a[0] = PICK(&t->rng, options);
    return 1;
}

static int prlimit_shape(Thread* t, uint64_t a[6]) {
    /* Reading limits only: a new limit could take the fuzzer's descriptors or memory away. */
    a[2] = rng_percent(&t->rng, 70) ? 0 : arg_of_kind(t, A_BADPTR);
    return 1;
}

static int getrandom_shape(Thread* t, uint64_t a[6]) {
    (void)t;
    a[2] = (a[2] & 0xffffffff) | 1;  /* GRND_NONBLOCK: older kernels block on GRND_RANDOM */
    return 1;
}

#if defined(SYS_arch_prctl)
static int arch_prctl_shape(Thread* t, uint64_t a[6]) {
    /* The getters only (ARCH_GET_FS/GS/CPUID) and unknown codes: the setters take TLS away. */
    static const uint64_t codes[] = {0x1003, 0x1004, 0x1011, 0x1234, 0, 0xffffffff};
    a[0] = PICK(&t->rng, codes);
    return 1;
}
#endif

static int openat2_shape(Thread* t, uint64_t a[6]) {
    if (rng_percent(&t->rng, 80)) {  /* struct open_how: flags (non-blocking), mode, resolve */
        uint64_t* how = (uint64_t*)(t->build + 12288);
        how[0] = arg_of_kind(t, A_OPEN_FLAGS);
        how[1] = rng_percent(&t->rng, 80) ? 0644 : rng_next(&t->rng);
        how[2] = rng_percent(&t->rng, 70) ? rng_below(&t->rng, 32) : rng_next(&t->rng);
        a[2] = (uint64_t)how;
        a[3] = rng_percent(&t->rng, 80) ? 24 : arg_of_kind(t, A_LEN);
    } else {
        a[2] = arg_of_kind(t, A_BADPTR);
    }
    return 1;
}

/* ---- the table ------------------------------------------------------------------------- */
#define C(name, weight, shape, ...) {SYS_##name, #name, weight, shape, {__VA_ARGS__}}
static const Call calls[] = {
    /* files and descriptors */
    C(read, 4, 0, A_FD, A_PTR, A_LEN),
    C(write, 4, 0, A_FD, A_PTR, A_LEN),
    C(pread64, 3, 0, A_FD, A_PTR, A_LEN, A_OFFSET),
    C(pwrite64, 3, 0, A_FD, A_PTR, A_LEN, A_OFFSET),
    C(readv, 3, 0, A_FD, A_IOV, A_COUNT),
    C(writev, 3, 0, A_FD, A_IOV, A_COUNT),
    C(preadv, 2, 0, A_FD, A_IOV, A_COUNT, A_OFFSET, A_OFFSET),
    C(pwritev, 2, 0, A_FD, A_IOV, A_COUNT, A_OFFSET, A_OFFSET),
    C(preadv2, 1, 0, A_FD, A_IOV, A_COUNT, A_OFFSET, A_OFFSET, A_FLAGS),
    C(pwritev2, 1, 0, A_FD, A_IOV, A_COUNT, A_OFFSET, A_OFFSET, A_FLAGS),
    C(openat, 3, nonblock_2, A_DIRFD, A_PATH, A_OPEN_FLAGS, A_MODE),
    C(openat2, 1, openat2_shape, A_DIRFD, A_PATH, A_PTR, A_LEN),
    C(close, 1, 0, A_FD),
    C(lseek, 2, 0, A_FD, A_OFFSET, A_WHENCE),
    C(fstat, 2, 0, A_FD, A_PTR),
    C(newfstatat, 2, 0, A_DIRFD, A_PATH, A_PTR, A_AT_FLAGS),
    C(statx, 2, 0, A_DIRFD, A_PATH, A_AT_FLAGS, A_FLAGS, A_PTR),
    C(statfs, 1, 0, A_PATH, A_PTR),
    C(fstatfs, 1, 0, A_FD, A_PTR),
    C(getdents64, 3, 0, A_FD, A_PTR, A_LEN),
    C(mkdirat, 2, 0, A_DIRFD, A_PATH, A_MODE),
    C(mknodat, 1, mknodat_mode, A_DIRFD, A_PATH, A_MODE, A_ANY),
    C(unlinkat, 1, 0, A_DIRFD, A_PATH, A_AT_FLAGS),
    C(renameat2, 1, 0, A_DIRFD, A_PATH, A_DIRFD, A_PATH, A_FLAGS),
    C(symlinkat, 2, 0, A_PATH, A_DIRFD, A_PATH),
    C(readlinkat, 2, 0, A_DIRFD, A_PATH, A_PTR, A_LEN),
    C(linkat, 1, 0, A_DIRFD, A_PATH, A_DIRFD, A_PATH, A_AT_FLAGS),
    C(faccessat, 2, 0, A_DIRFD, A_PATH, A_FLAGS),
    C(faccessat2, 2, 0, A_DIRFD, A_PATH, A_FLAGS, A_AT_FLAGS),
    C(fchmodat, 1, 0, A_DIRFD, A_PATH, A_MODE),
    C(fchownat, 1, 0, A_DIRFD, A_PATH, A_ANY, A_ANY, A_AT_FLAGS),
    C(fchmod, 1, 0, A_FD, A_MODE),
    C(fchown, 1, 0, A_FD, A_ANY, A_ANY),
    C(utimensat, 2, 0, A_DIRFD, A_PATH, A_PTR, A_AT_FLAGS),
    C(getcwd, 2, 0, A_PTR, A_LEN),
    C(chdir, 1, 0, A_PATH),
    C(fchdir, 1, 0, A_FD),
    C(umask, 1, 0, A_MODE),
    C(truncate, 2, 0, A_PATH, A_OFFSET),
    C(ftruncate, 2, 0, A_FD, A_OFFSET),
    C(fallocate, 1, fallocate_shape, A_FD, A_FLAGS, A_OFFSET, A_OFFSET),
    C(fsync, 1, 0, A_FD),
    C(fdatasync, 1, 0, A_FD),
    C(sync_file_range, 1, 0, A_FD, A_OFFSET, A_OFFSET, A_FLAGS),
    C(fadvise64, 1, 0, A_FD, A_OFFSET, A_LEN, A_ANY),
    C(readahead, 1, 0, A_FD, A_OFFSET, A_LEN),
    C(ioctl, 3, ioctl_shape, A_FD, A_IOCTL, A_PTR),
    C(fcntl, 3, fcntl_shape, A_FD, A_FCNTL, A_ANY),
    C(flock, 1, flock_nb, A_FD, A_FLAGS),
    C(dup, 2, 0, A_FD),
    C(dup3, 1, 0, A_FD, A_FD, A_FLAGS),
    C(pipe2, 2, nonblock_1, A_PTR, A_FLAGS),
    C(sendfile, 2, sendfile_shape, A_FD, A_FD, A_PTR, A_LEN),
    C(splice, 1, splice_shape, A_FD, A_PTR, A_FD, A_PTR, A_LEN, A_FLAGS),
    C(tee, 1, tee_shape, A_FD, A_FD, A_LEN, A_FLAGS),
    C(vmsplice, 1, splice_3, A_FD, A_IOV, A_COUNT, A_FLAGS),
    C(copy_file_range, 1, copy_file_range_shape, A_FD, A_PTR, A_FD, A_PTR, A_LEN, A_FLAGS),
    C(memfd_create, 1, 0, A_PATH, A_FLAGS),
    C(name_to_handle_at, 1, 0, A_DIRFD, A_PATH, A_PTR, A_PTR, A_AT_FLAGS),
    C(setxattr, 1, 0, A_PATH, A_PATH, A_PTR, A_LEN, A_FLAGS),
    C(getxattr, 1, 0, A_PATH, A_PATH, A_PTR, A_LEN),
    C(listxattr, 1, 0, A_PATH, A_PTR, A_LEN),
    C(fgetxattr, 1, 0, A_FD, A_PATH, A_PTR, A_LEN),
    C(lgetxattr, 1, 0, A_PATH, A_PATH, A_PTR, A_LEN),
    C(llistxattr, 1, 0, A_PATH, A_PTR, A_LEN),
    C(flistxattr, 1, 0, A_FD, A_PTR, A_LEN),
    C(lsetxattr, 1, 0, A_PATH, A_PATH, A_PTR, A_LEN, A_FLAGS),
    C(fsetxattr, 1, 0, A_FD, A_PATH, A_PTR, A_LEN, A_FLAGS),
    C(removexattr, 1, 0, A_PATH, A_PATH),
    C(fremovexattr, 1, 0, A_FD, A_PATH),
    C(syncfs, 1, 0, A_FD),
    C(close_range, 1, close_range_shape, A_FD, A_FD, A_FLAGS),
    C(inotify_init1, 1, nonblock_0, A_FLAGS),
    C(inotify_add_watch, 1, 0, A_FD, A_PATH, A_FLAGS),
    C(eventfd2, 1, nonblock_1, A_ANY, A_FLAGS),
    C(timerfd_create, 1, nonblock_1, A_CLOCK, A_FLAGS),
    C(timerfd_settime, 1, 0, A_FD, A_FLAGS, A_PTR, A_PTR),
    C(timerfd_gettime, 1, 0, A_FD, A_PTR),
    C(epoll_create1, 1, 0, A_FLAGS),
    C(epoll_ctl, 2, 0, A_FD, A_COUNT, A_FD, A_PTR),
    C(epoll_pwait, 2, 0, A_FD, A_PTR, A_COUNT, A_TIMEOUT_MS, A_PTR, A_LEN),
    C(epoll_pwait2, 1, 0, A_FD, A_PTR, A_COUNT, A_TIMESPEC, A_PTR, A_LEN),
    C(ppoll, 2, 0, A_POLLFDS, A_COUNT, A_TIMESPEC, A_PTR, A_LEN),
    C(pselect6, 2, 0, A_COUNT, A_PTR, A_PTR, A_PTR, A_TIMESPEC, A_PTR),
    /* sockets: AF_UNIX only, never blocking */
    C(socket, 2, socket_shape, A_ANY, A_ANY, A_ANY),
    C(socketpair, 1, socket_shape, A_ANY, A_ANY, A_ANY, A_PTR),
    C(bind, 1, 0, A_FD, A_PTR, A_LEN),
    C(listen, 1, 0, A_FD, A_COUNT),
    C(connect, 1, 0, A_FD, A_PTR, A_LEN),
    C(accept4, 1, nonblock_3, A_FD, A_PTR, A_PTR, A_FLAGS),
    C(shutdown, 1, 0, A_FD, A_COUNT),
    C(sendto, 1, dontwait_3, A_FD, A_PTR, A_LEN, A_FLAGS, A_PTR, A_LEN),
    C(recvfrom, 1, dontwait_3, A_FD, A_PTR, A_LEN, A_FLAGS, A_PTR, A_PTR),
    C(sendmsg, 1, dontwait_2, A_FD, A_PTR, A_FLAGS),
    C(recvmsg, 1, dontwait_2, A_FD, A_PTR, A_FLAGS),
    C(sendmmsg, 1, dontwait_3, A_FD, A_PTR, A_COUNT, A_FLAGS),
    C(recvmmsg, 1, dontwait_3, A_FD, A_PTR, A_COUNT, A_FLAGS, A_TIMESPEC),
    C(getsockname, 1, 0, A_FD, A_PTR, A_PTR),
    C(getpeername, 1, 0, A_FD, A_PTR, A_PTR),
    C(setsockopt, 1, 0, A_FD, A_COUNT, A_COUNT, A_PTR, A_LEN),
    C(getsockopt, 1, 0, A_FD, A_COUNT, A_COUNT, A_PTR, A_PTR),
    /* memory: reshaped only in the playground */
    C(mmap, 3, mmap_shape, A_ANY, A_LEN, A_PROT, A_MMAP_FLAGS, A_FD, A_OFFSET),
    C(munmap, 2, 0, A_RANGE, A_RANGE_LEN),
    C(mprotect, 2, 0, A_RANGE, A_RANGE_LEN, A_PROT),
    C(madvise, 2, 0, A_RANGE, A_RANGE_LEN, A_COUNT),
    C(mremap, 2, mremap_shape, A_RANGE, A_RANGE_LEN, A_LEN, A_FLAGS, A_ANY),
    C(msync, 1, 0, A_RANGE, A_RANGE_LEN, A_FLAGS),
    C(mincore, 1, 0, A_RANGE, A_RANGE_LEN, A_PTR),
    C(mlock, 1, 0, A_RANGE, A_RANGE_LEN),
    C(munlock, 1, 0, A_RANGE, A_RANGE_LEN),
    C(mlock2, 1, 0, A_RANGE, A_RANGE_LEN, A_FLAGS),
    C(brk, 2, 0, A_BRK),
    /* processes, threads, time */
    C(futex, 3, futex_shape, A_PTR, A_ANY, A_ANY, A_ANY, A_PTR, A_ANY),
    C(nanosleep, 1, 0, A_TIMESPEC, A_PTR),
    C(clock_nanosleep, 1, clock_nanosleep_shape, A_CLOCK, A_FLAGS, A_TIMESPEC, A_PTR),
    C(clock_gettime, 2, 0, A_CLOCK, A_PTR),
    C(clock_getres, 2, 0, A_CLOCK, A_PTR),
    C(gettimeofday, 2, 0, A_PTR, A_PTR),
    C(getitimer, 1, 0, A_COUNT, A_PTR),
    C(times, 1, 0, A_PTR),
    C(getrandom, 2, getrandom_shape, A_PTR, A_LEN, A_FLAGS),
    C(uname, 2, 0, A_PTR),
    C(sysinfo, 2, 0, A_PTR),
    C(getrusage, 1, 0, A_COUNT, A_PTR),
    C(prlimit64, 2, prlimit_shape, A_PID, A_COUNT, A_BADPTR, A_PTR),
    C(prctl, 2, prctl_shape, A_ANY, A_PTR, A_ANY, A_ANY, A_ANY),
    C(sched_getaffinity, 2, 0, A_PID, A_LEN, A_PTR),
    C(sched_setaffinity, 1, 0, A_PID, A_LEN, A_PTR),
    C(sched_getparam, 1, 0, A_PID, A_PTR),
    C(sched_getattr, 1, 0, A_PID, A_PTR, A_LEN, A_FLAGS),
    C(sched_rr_get_interval, 1, 0, A_PID, A_PTR),
    C(sched_yield, 1, 0, A_NONE),
    C(rt_sigprocmask, 2, 0, A_COUNT, A_PTR, A_PTR, A_LEN),
    C(rt_sigpending, 1, 0, A_PTR, A_LEN),
    C(rt_sigtimedwait, 1, 0, A_PTR, A_PTR, A_TIMESPEC, A_LEN),
    C(wait4, 1, wait4_nohang, A_PID, A_PTR, A_FLAGS, A_PTR),
    C(waitid, 1, waitid_nohang, A_COUNT, A_PID, A_PTR, A_FLAGS, A_PTR),
    C(getcpu, 1, 0, A_PTR, A_PTR, A_PTR),
    C(getgroups, 1, 0, A_COUNT, A_PTR),
    C(getresuid, 1, 0, A_PTR, A_PTR, A_PTR),
    C(getresgid, 1, 0, A_PTR, A_PTR, A_PTR),
    C(getpriority, 1, 0, A_COUNT, A_PID),
    C(sched_getscheduler, 1, 0, A_PID),
    C(sched_get_priority_max, 1, 0, A_COUNT),
    C(capget, 1, 0, A_PTR, A_PTR),
    C(membarrier, 1, 0, A_FLAGS, A_FLAGS, A_ANY),
    C(process_vm_readv, 1, 0, A_PID, A_IOV, A_COUNT, A_IOV, A_COUNT, A_FLAGS),
    C(pidfd_open, 1, nonblock_1, A_PID, A_FLAGS),
    C(getpid, 1, 0, A_NONE),
    C(gettid, 1, 0, A_NONE),
    /* the calls only some architectures have */
#ifdef SYS_open
    C(open, 3, nonblock_1, A_PATH, A_OPEN_FLAGS, A_MODE),
    C(stat, 2, 0, A_PATH, A_PTR),
    C(lstat, 2, 0, A_PATH, A_PTR),
    C(access, 2, 0, A_PATH, A_FLAGS),
    C(mkdir, 1, 0, A_PATH, A_MODE),
    C(rmdir, 1, 0, A_PATH),
    C(unlink, 1, 0, A_PATH),
    C(rename, 1, 0, A_PATH, A_PATH),
    C(link, 1, 0, A_PATH, A_PATH),
    C(symlink, 1, 0, A_PATH, A_PATH),
    C(readlink, 2, 0, A_PATH, A_PTR, A_LEN),
    C(chmod, 1, 0, A_PATH, A_MODE),
    C(mknod, 1, mknod_mode, A_PATH, A_MODE, A_ANY),
    C(dup2, 1, 0, A_FD, A_FD),
    C(poll, 2, 0, A_POLLFDS, A_COUNT, A_TIMEOUT_MS),
    C(select, 1, 0, A_COUNT, A_PTR, A_PTR, A_PTR, A_TIMEVAL),
    C(epoll_wait, 1, 0, A_FD, A_PTR, A_COUNT, A_TIMEOUT_MS),
    C(getdents, 1, 0, A_FD, A_PTR, A_LEN),
    C(time, 1, 0, A_PTR),
    C(getrlimit, 1, 0, A_COUNT, A_PTR),
    C(utimes, 1, 0, A_PATH, A_PTR),
#endif
#ifdef SYS_arch_prctl
    C(arch_prctl, 1, arch_prctl_shape, A_ANY, A_BADPTR),
#endif
};

/* Never made: they end the process, change what it is, block without bound, create
   blocking descriptors, send signals, or need privileges the fuzzer must not use. */
static const long skipped[] = {
    SYS_exit, SYS_exit_group, SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
    SYS_pidfd_send_signal, SYS_reboot, SYS_execve, SYS_execveat, SYS_clone, SYS_clone3, SYS_rt_sigreturn,
    SYS_rt_sigaction, SYS_rt_sigsuspend, SYS_sigaltstack, SYS_set_tid_address, SYS_set_robust_list,
    SYS_get_robust_list, SYS_rseq, SYS_ptrace, SYS_seccomp, SYS_unshare, SYS_setns, SYS_personality,
    SYS_chroot, SYS_pivot_root, SYS_mount, SYS_umount2, SYS_swapon, SYS_swapoff, SYS_acct, SYS_vhangup,
    SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module,
    SYS_setitimer, SYS_timer_create, SYS_timer_settime, SYS_shmat, SYS_shmdt, SYS_process_vm_writev,
    SYS_process_madvise, SYS_mbind, SYS_set_mempolicy, SYS_migrate_pages, SYS_move_pages, SYS_userfaultfd,
    SYS_sched_setattr, SYS_sched_setscheduler, SYS_sched_setparam, SYS_setpriority, SYS_io_uring_setup,
    SYS_io_uring_enter, SYS_io_uring_register, SYS_io_setup, SYS_io_submit, SYS_io_getevents,
    SYS_io_pgetevents, SYS_io_destroy, SYS_io_cancel, SYS_mlockall, SYS_restart_syscall,
    SYS_setrlimit, SYS_msgsnd, SYS_msgrcv, SYS_semop, SYS_semtimedop, SYS_mq_timedsend, SYS_mq_timedreceive,
    SYS_mq_notify, SYS_mq_open, SYS_remap_file_pages, SYS_clock_settime, SYS_settimeofday, SYS_adjtimex,
    SYS_clock_adjtime, SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid,
    SYS_setfsuid, SYS_setfsgid, SYS_setgroups, SYS_capset, SYS_sethostname, SYS_setdomainname,
    SYS_perf_event_open, SYS_bpf, SYS_fanotify_init, SYS_fanotify_mark, SYS_open_by_handle_at,
    SYS_open_tree, SYS_move_mount, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_mount_setattr,
    SYS_landlock_create_ruleset, SYS_landlock_add_rule, SYS_landlock_restrict_self, SYS_quotactl,
    SYS_syslog, SYS_signalfd4, SYS_pidfd_getfd, SYS_setsid, SYS_setpgid, SYS_accept, SYS_pkey_mprotect,
    SYS_shmget, SYS_shmctl,
#ifdef SYS_process_mrelease
    SYS_process_mrelease,
#endif
#ifdef SYS_futex_waitv
    SYS_futex_waitv,
#endif
#ifdef SYS_memfd_secret
    SYS_memfd_secret,
#endif
#ifdef SYS_fork
    SYS_fork, SYS_vfork, SYS_pause, SYS_alarm, SYS_creat, SYS_pipe, SYS_eventfd, SYS_signalfd,
    SYS_inotify_init, SYS_epoll_create, SYS_modify_ldt, SYS_iopl, SYS_ioperm, SYS_set_thread_area,
    SYS_uselib, SYS_sysfs, SYS_ustat, SYS_lchown, SYS_chown,
#endif
};

enum { generic_range = 450 };  /* numbers below this without a table entry get random arguments */

static int is_skipped(long nr) {
    for (size_t i = 0; i < sizeof skipped / sizeof *skipped; ++i) {
        if (skipped[i] == nr) return 1;
    }
    return 0;
}

static const Call* in_table(long nr) {
    for (size_t i = 0; i < sizeof calls / sizeof *calls; ++i) {
        if (calls[i].nr == nr) return &calls[i];
    }
    return 0;
}

static unsigned total_weight(void) {
    static unsigned total;
    if (!total) {
        unsigned sum = 0;
        for (size_t i = 0; i < sizeof calls / sizeof *calls; ++i) sum += calls[i].weight;
        __atomic_store_n(&total, sum, __ATOMIC_RELAXED);
    }
    return total;
}

static const Call* weighted_call(Thread* t) {
    unsigned pick = (unsigned)rng_below(&t->rng, total_weight());
    for (size_t i = 0; i < sizeof calls / sizeof *calls; ++i) {
        if (pick < calls[i].weight) return &calls[i];
        pick -= calls[i].weight;
    }
    return &calls[0];
}

void choose_call(Thread* t, long* nr, const char** name, uint64_t a[6]) {
    for (;;) {
        const Call* c = 0;
        uint64_t k = rng_below(&t->rng, 100);
        if (k < 75) {
            c = weighted_call(t);
        } else if (k < 99 || !world.mica) {
            long n = (long)rng_below(&t->rng, generic_range);
            if (is_skipped(n)) continue;
            c = in_table(n);
            if (!c) {
                *nr = n;
                *name = "(random arguments)";
                for (int i = 0; i < 6; ++i) a[i] = arg_of_kind(t, A_ANY);
                return;
            }
        } else {
            /* Numbers no table has (Mica only: on Linux, x32 and future numbers mean things). */
            static const long odd[] = {-1, -4096, 450 + 64, 1000, 0x40000000, 0x7fffffff, (long)0x8000000000000000};
            *nr = PICK(&t->rng, odd);
            *name = "(no such call)";
            for (int i = 0; i < 6; ++i) a[i] = arg_of_kind(t, A_ANY);
            return;
        }
        for (int i = 0; i < 6; ++i) {
            enum Kind kind = (enum Kind)c->kinds[i];
            if (kind == A_RANGE) {
                reshape_range(t, &a[i], &a[i + 1], c->nr == SYS_munmap);
                ++i;
                continue;
            }
            a[i] = kind == A_NONE ? 0 : arg_of_kind(t, kind);
        }
        if (c->shape && !c->shape(t, a)) continue;
        *nr = c->nr;
        *name = c->name;
        return;
    }
}

void after_call(long nr, const uint64_t a[6], long result) {
    /* New mappings outside the playground go at once: they would only accumulate. */
    if (nr == SYS_mmap && result > 0 && !in_playground((uintptr_t)result, a[1])) {
        uint64_t u[6] = {(uint64_t)result, a[1]};
        raw_syscall(SYS_munmap, u);
    }
    if (nr == SYS_mremap && result > 0 && (uint64_t)result != a[0] && !in_playground((uintptr_t)result, a[2])) {
        uint64_t u[6] = {(uint64_t)result, a[2]};
        raw_syscall(SYS_munmap, u);
    }
}

long raw_syscall(long nr, const uint64_t a[6]) {
#if defined(__x86_64__)
    register uint64_t r10 __asm__("r10") = a[3], r8 __asm__("r8") = a[4], r9 __asm__("r9") = a[5];
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
#elif defined(__aarch64__)
    register uint64_t x8 __asm__("x8") = (uint64_t)nr, x0 __asm__("x0") = a[0], x1 __asm__("x1") = a[1],
                      x2 __asm__("x2") = a[2], x3 __asm__("x3") = a[3], x4 __asm__("x4") = a[4],
                      x5 __asm__("x5") = a[5];
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return (long)x0;
#endif
}
