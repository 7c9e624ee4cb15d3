/* Argument generators: boundary values, bad and unaligned pointers, huge lengths, negative
   and closed descriptors, random flags, and ranges for the calls that reshape memory.
   Every pointer points at memory the fuzzer can lose (scratch, the playground, the
   read-only constants page) or at memory it does not own: never at its own stacks, image
   or heap, so whatever the kernel writes cannot corrupt the fuzzer. */
#include "fuzz.h"

#include <fcntl.h>
#include <sys/uio.h>

World world;

/* The kernel's parts of Mica's address space (docs/architecture.md, "Address space") and
   addresses outside any application's space, per architecture; on Linux they are simply
   unmapped. Edges: ranges that start in the application's part and end in the kernel's,
   or the other way round. */
#if defined(__x86_64__)
static const uintptr_t arch_bad[] = {
    0x8000,                 /* the SMP trampoline, below vm.mmap_min_addr */
    0x100000, 0x101000,     /* the kernel image (linked at 1 MiB) */
    0x40000000, 0xfec00000, 0xfee00000, 0xfee000b0,  /* the device window: I/O APIC, LAPIC (EOI) */
    0x8000000000, 0x8000010000, 0x8ffffff000,        /* the kernel stack area, guard pages included */
    0x00007ffffffff000,     /* the last page below the end of the lower half */
    0x0000800000000000,     /* the first non-canonical address */
    0x8000000000000000, 0xdead000000000000, 0x8049c9d026d6e50f,
    0xffff800000000000, 0xffff800000100000, 0xffff800001000000,  /* the direct map */
    0xffffffff80000000,     /* where Linux's kernel text is */
};
static const Range arch_edges[] = {
    {0x10000, 0x20000},                       /* the lowest application address, kernel image above */
    {0x40000000 - 0x4000, 0x8000},            /* into the device window */
    {0x100000000 - 0x4000, 0x8000},           /* out of it */
    {0x8000000000 - 0x4000, 0x8000},          /* into the stack area */
    {0x9000000000 - 0x4000, 0x8000},          /* out of it */
    {0x800000000000 - 0x4000, 0x8000},        /* across the end of the lower half */
};
#elif defined(__aarch64__)
static const uintptr_t arch_bad[] = {
    0x08000000, 0x08010000, 0x09000000, 0x0a000000,  /* devices: GIC, PL011, virtio-mmio */
    0x40000000, 0x40080000, 0x40200000, 0x48000000,  /* RAM (the direct map) and the kernel image */
    0xfffff000,             /* the top of the identity map */
    0x4000000000, 0x4000010000, 0x4ffffff000,        /* the kernel stack area */
    0x7ffffff000,           /* the last page of the 39-bit space */
    0x8000000000,           /* the first address beyond it */
    0x0001000000000000, 0x8000000000000000, 0xffff000000000000, 0xffff800008000000,
};
static const Range arch_edges[] = {
    {0x8000000 - 0x4000, 0x8000},             /* into the device window at 128 MiB */
    {0x100000000 - 0x4000, 0x8000},           /* out of the identity map at 4 GiB */
    {0x4000000000 - 0x4000, 0x8000},          /* into the stack area */
    {0x5000000000 - 0x4000, 0x8000},          /* out of it */
    {0x8000000000 - 0x4000, 0x8000},          /* across the end of the 39-bit space */
};
#else
#error "syscall_fuzz: x86_64 or aarch64"
#endif

/* Not null: null often means "none" (no timeout: wait for ever); bad_pointer adds it. */
static const uintptr_t common_bad[] = {
    1, 8, 0xfff, 0x1000, 0xffff, 0xfffffffffffff000, 0xffffffffffffffff, 0xfffffffffffffff0,
};

void world_add_bad_addresses(void) {
    for (size_t i = 0; i < sizeof common_bad / sizeof *common_bad; ++i) world.bad[world.bad_count++] = common_bad[i];
    for (size_t i = 0; i < sizeof arch_bad / sizeof *arch_bad; ++i) world.bad[world.bad_count++] = arch_bad[i];
    for (size_t i = 0; i < sizeof arch_edges / sizeof *arch_edges; ++i) world.edges[world.edge_count++] = arch_edges[i];
}

int in_playground(uintptr_t address, size_t length) {
    uintptr_t start = (uintptr_t)world.playground, size = (uintptr_t)playground_pages * page_size;
    return address >= start && address - start < size && length <= size - (address - start);
}

static const uint64_t lengths[] = {
    0, 1, 2, 7, 8, 16, 64, 255, 256, 4095, 4096, 4097, 65536, scratch_size, 0x7ffff000, 0x7fffffff,
    0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, 0xfffffffffffff000,
    0xffffffffffffffff, 0xfffffffffffffffe,
};
static const uint64_t offsets[] = {
    0, 1, 16, 4096, 65536, 1 << 20, 4 << 20, 0x7fffffff, 0x80000000, 1ull << 40, 0x7fffffffffffffff,
    0xffffffffffffffff, 0xfffffffffffff000, 0x8000000000000000,
};
static const uint64_t specials[] = {
    0, 1, 2, 3, 16, 4096, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0xffffffffffffffff,
    0xfffffffffffff000, 0x7fffffffffffffff, 0x8000000000000000, 100000000,
};

static uint64_t scratch_pointer(Thread* t) {
    uint64_t r = rng_below(&t->rng, 8);
    if (r == 0) return (uint64_t)world.scratch + scratch_size - 1 - rng_below(&t->rng, 64);  /* runs into the guard */
    if (r == 1) return (uint64_t)world.scratch + (rng_below(&t->rng, scratch_size) & ~(uint64_t)7);
    return (uint64_t)world.scratch + rng_below(&t->rng, scratch_size);  /* often unaligned */
}

static uint64_t bad_pointer(Thread* t) {
    uint64_t r = rng_below(&t->rng, 11);
    if (r == 10) {  /* the guards around scratch and the playground */
        static const int64_t near[] = {-8, -1, scratch_size, scratch_size + 100};
        return rng_percent(&t->rng, 70) ? (uint64_t)world.scratch + PICK(&t->rng, near)
                                        : (uint64_t)world.playground - 1 - rng_below(&t->rng, page_size);
    }
    if (r == 0) return 0;
    if (r < 6) return world.bad[rng_below(&t->rng, world.bad_count)] + (rng_percent(&t->rng, 20) ? rng_below(&t->rng, 4096) : 0);
    if (r < 8) {
        Range e = world.edges[rng_below(&t->rng, world.edge_count)];
        return e.start + rng_below(&t->rng, e.length);
    }
    if (r == 8) return (uint64_t)world.constants + rng_below(&t->rng, sizeof(struct Constants));  /* read-only */
    return rng_next(&t->rng) | (1ull << 63);  /* outside every space */
}

/* Never readable or writable, by anyone: for arguments whose contents would change the
   fuzzer itself if they were read (a resource limit) or that would receive its addresses. */
static uint64_t unreadable_pointer(Thread* t) {
    if (rng_percent(&t->rng, 80)) return world.bad[rng_below(&t->rng, world.bad_count)];
    return rng_next(&t->rng) | (1ull << 63);
}

static uint64_t playground_pointer(Thread* t) {
    return (uint64_t)world.playground + rng_below(&t->rng, (uint64_t)playground_pages * page_size);
}

static uint64_t pointer(Thread* t) {
    uint64_t r = rng_below(&t->rng, 10);
    if (r < 5) return scratch_pointer(t);
    if (r < 7) return playground_pointer(t);
    return bad_pointer(t);
}

static uint64_t fd(Thread* t) {
    uint64_t r = rng_below(&t->rng, 20);
    if (r < 13) return (uint64_t)(int64_t)world.fds[rng_below(&t->rng, world.fd_count)];
    if (r < 15) return (uint64_t)(int64_t)world.closed_fds[rng_below(&t->rng, world.closed_count)];
    if (r < 17) return rng_below(&t->rng, 64);  /* whatever the fuzz has opened since */
    static const int64_t odd[] = {-1, -2, -100 /* AT_FDCWD */, INT32_MIN, INT32_MAX, 1023, 1024, 65536};
    if (r < 19) return (uint64_t)PICK(&t->rng, odd);
    return rng_next(&t->rng);
}

static uint64_t path(Thread* t) {
    const struct Constants* c = world.constants;
    uint64_t r = rng_below(&t->rng, 20);
    if (r < 10) return (uint64_t)c->paths[rng_below(&t->rng, sizeof c->paths / sizeof *c->paths)];
    if (r < 12) return (uint64_t)c->long_path + rng_below(&t->rng, 200);  /* PATH_MAX and over */
    if (r < 14) {  /* a path copied into scratch, maybe cut short to run into the guard */
        char* s = t->build + 8192;
        const char* from = c->paths[rng_below(&t->rng, sizeof c->paths / sizeof *c->paths)];
        size_t n = 0;
        while (from[n] && n < 95) s[n] = from[n], ++n;
        s[n] = 0;
        return (uint64_t)s;
    }
    if (r == 14) return (uint64_t)world.scratch + scratch_size - 1 - rng_below(&t->rng, 32);  /* no NUL before the guard */
    if (r < 17) return scratch_pointer(t);  /* whatever bytes are there */
    return bad_pointer(t);
}

/* An iovec array in this thread's slice of scratch: bases from pointer(), any lengths. */
static uint64_t iov(Thread* t) {
    if (rng_percent(&t->rng, 20)) return pointer(t);
    struct iovec* v = (struct iovec*)(t->build + (rng_percent(&t->rng, 10) ? 4 : 0));
    size_t n = 1 + rng_below(&t->rng, 8);
    for (size_t i = 0; i < n; ++i) {
        v[i].iov_base = (void*)(rng_percent(&t->rng, 70) ? scratch_pointer(t) : pointer(t));
        v[i].iov_len = rng_percent(&t->rng, 70) ? rng_below(&t->rng, 8192) : PICK(&t->rng, lengths);
    }
    return (uint64_t)v;
}

struct PollFd {
    int32_t fd;
    int16_t events, revents;
};

static uint64_t pollfds(Thread* t) {
    if (rng_percent(&t->rng, 20)) return pointer(t);
    struct PollFd* p = (struct PollFd*)(t->build + 4096);
    for (int i = 0; i < 16; ++i) {
        p[i].fd = (int32_t)fd(t);
        p[i].events = (int16_t)rng_next(&t->rng);
        p[i].revents = 0;
    }
    return (uint64_t)p;
}

/* A pointer to a timeout: always a short one (the fuzzer never blocks for long), an invalid
   one the kernel must refuse, or a pointer nothing can read (any readable bytes, even an
   odd offset into the constants, could be a timeout of years). Never null: null means "no
   timeout". */
static uint64_t timespec(Thread* t, int timeval) {
    const struct Constants* c = world.constants;
    if (rng_percent(&t->rng, 15)) return unreadable_pointer(t);
    if (timeval) return (uint64_t)c->timevals[rng_below(&t->rng, 4)];
    return (uint64_t)c->timespecs[rng_below(&t->rng, 8)];
}

static uint64_t flags(Thread* t) {
    uint64_t r = rng_below(&t->rng, 6);
    if (r == 0) return 0;
    if (r == 1) return 1ull << rng_below(&t->rng, 32);
    if (r == 2) return rng_next(&t->rng) & 0xffffffff;
    if (r == 3) return rng_below(&t->rng, 16);
    if (r == 4) return PICK(&t->rng, specials);
    return rng_next(&t->rng);
}

static uint64_t open_flags(Thread* t) {
    static const uint64_t bits[] = {O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY,
                                    O_NOFOLLOW, O_CLOEXEC, O_PATH, O_NOATIME, O_SYNC, O_DIRECT,
                                    O_LARGEFILE, O_NOCTTY, O_TMPFILE};
    uint64_t f = 0;
    if (rng_percent(&t->rng, 15)) {
        f = flags(t);
    } else {
        for (int n = (int)rng_below(&t->rng, 4); n > 0; --n) f |= PICK(&t->rng, bits);
    }
    /* Every descriptor is non-blocking, so no read or write of it can block (calls.c). */
    return f | O_NONBLOCK;
}

static uint64_t at_flags(Thread* t) {
    static const uint64_t bits[] = {AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, 0x800 /* AT_NO_AUTOMOUNT */,
                                    AT_EMPTY_PATH, AT_EACCESS, 0x2000, 0x4000 /* AT_STATX_* */};
    if (rng_percent(&t->rng, 20)) return flags(t);
    uint64_t f = 0;
    for (int n = (int)rng_below(&t->rng, 3); n > 0; --n) f |= PICK(&t->rng, bits);
    return f;
}

static uint64_t ioctl_request(Thread* t) {
    /* TCGETS TCSETS TCSETSW TIOCGPGRP TIOCSPGRP TIOCGWINSZ TIOCSWINSZ FIONREAD FIONBIO
       FIONCLEX FIOCLEX, then requests nothing implements; never FIOASYNC (signals). */
    static const uint64_t known[] = {0x5401, 0x5402, 0x5403, 0x540f, 0x5410, 0x5413, 0x5414, 0x541b, 0x5421,
                                     0x5450, 0x5451, 0x80045430, 0xc0045401, 0x1, 0xffffffff};
    if (rng_percent(&t->rng, 80)) return PICK(&t->rng, known);
    uint64_t r = rng_next(&t->rng);
    return (r & 0xffffffff) == 0x5452 ? 0x5401 : r;
}

static uint64_t fcntl_command(Thread* t) {
    /* F_DUPFD F_GETFD F_SETFD F_GETFL F_SETFL F_GETLK F_SETLK F_OFD_GETLK F_OFD_SETLK
       F_DUPFD_CLOEXEC F_SETPIPE_SZ F_GETPIPE_SZ F_GETOWN, and invalid ones. Never the
       waiting lock commands or those that send signals (F_SETOWN, F_SETSIG, F_SETLEASE,
       F_NOTIFY): calls.c would have to undo them. */
    static const uint64_t known[] = {0, 1, 2, 3, 4, 5, 6, 36, 37, 1030, 1031, 1032, 9, 99, 0xffffffff};
    return PICK(&t->rng, known);
}

uint64_t arg_of_kind(Thread* t, enum Kind kind) {
    Rng* r = &t->rng;
    switch (kind) {
    case A_NONE:
    case A_ZERO: return 0;
    case A_FD: return fd(t);
    case A_DIRFD: return rng_percent(r, 40) ? (uint64_t)(int64_t)AT_FDCWD : fd(t);
    case A_PTR: return pointer(t);
    case A_BADPTR: return unreadable_pointer(t);
    case A_PATH: return path(t);
    case A_IOV: return iov(t);
    case A_POLLFDS: return pollfds(t);
    case A_TIMESPEC: return timespec(t, 0);
    case A_TIMEVAL: return timespec(t, 1);
    case A_LEN: return rng_percent(r, 50) ? rng_below(r, 8192) : PICK(r, lengths);
    case A_COUNT: {
        static const uint64_t counts[] = {0, 1, 2, 3, 8, 16, 1023, 1024, 1025, 0x7fffffff, 0x80000000,
                                          0xffffffff, 0x100000001, 0xffffffffffffffff};
        return rng_percent(r, 60) ? rng_below(r, 17) : PICK(r, counts);
    }
    case A_OFFSET: return rng_percent(r, 40) ? rng_below(r, 1 << 16) : PICK(r, offsets);
    case A_FLAGS: return flags(t);
    case A_OPEN_FLAGS: return open_flags(t);
    case A_AT_FLAGS: return at_flags(t);
    case A_MODE: {
        static const uint64_t modes[] = {0, 0644, 0755, 0777, 01777, 07777, 0100644, 0140777, 0xffffffff};
        return rng_percent(r, 70) ? PICK(r, modes) : rng_next(r);
    }
    case A_WHENCE: return rng_percent(r, 80) ? rng_below(r, 6) : rng_next(r);
    case A_CLOCK: {
        static const uint64_t clocks[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xfffffffe, 0xfffffffa,
                                          0xffffffff, 0x7fffffff};
        return PICK(r, clocks);
    }
    case A_TIMEOUT_MS: return rng_below(r, 2);  /* poll: 0 or 1 ms, never "for ever" */
    case A_PID: {
        static const uint64_t pids[] = {0, 1, 2, 0xffffffff, 0x7fffffff, 0x80000000, 4194304};
        return PICK(r, pids);
    }
    case A_IOCTL: return ioctl_request(t);
    case A_FCNTL: return fcntl_command(t);
    case A_PROT: return rng_percent(r, 80) ? rng_below(r, 8) : flags(t);
    case A_MMAP_FLAGS: {
        /* MAP_SHARED/PRIVATE/SHARED_VALIDATE, ANONYMOUS, POPULATE, FIXED_NOREPLACE, NORESERVE,
           GROWSDOWN, STACK, and random bits; MAP_FIXED only where calls.c allows it. */
        static const uint64_t bits[] = {0x20, 0x8000, 0x100000, 0x4000, 0x100, 0x20000, 0x40000};
        uint64_t f = 1 + rng_below(r, 3);
        for (int n = (int)rng_below(r, 3); n > 0; --n) f |= PICK(r, bits);
        if (rng_percent(r, 10)) f |= rng_next(r) & 0xffffffff & ~0x10ull;
        return f;
    }
    case A_BRK: {
        /* Never below the break the fuzzer started with (the C library's heap is there). */
        uint64_t k = rng_below(r, 4), v;
        if (k == 0) return 0;
        if (k == 1) return world.break0 + rng_below(r, 64 << 20);
        v = k == 2 ? bad_pointer(t) : PICK(r, offsets);
        return v < world.break0 && world.break0 - v < (256u << 20) ? 0 : v;  /* maybe the heap: query instead */
    }
    case A_RANGE:
    case A_RANGE_LEN: return 0;  /* filled together by reshape_range */
    case A_ANY:
    default: {
        uint64_t k = rng_below(r, 5);
        if (k == 0) return PICK(r, specials);
        if (k == 1) return rng_below(r, 64);
        if (k == 2) return rng_next(r);
        if (k == 3) return scratch_pointer(t);
        return bad_pointer(t);
    }
    }
}

/* Linux does not check a range before changing it: mprotect and madvise change every area
   up to the first hole, munmap and MAP_FIXED take whatever lies in range. So a range that
   starts where the fuzzer's own memory could follow (the playground, an edge) is either
   short, or so long that it wraps around (refused everywhere); `beyond` allows lengths past
   every address space that do not wrap, for the calls that check them first (munmap, mmap). */
void reshape_range(Thread* t, uint64_t* address, uint64_t* length, int beyond) {
    Rng* r = &t->rng;
    uint64_t k = rng_below(r, 20);
    if (k < 9) {  /* inside the playground, pages or odd bytes */
        uint64_t first = rng_below(r, playground_pages), count = rng_below(r, playground_pages - first + 1);
        *address = (uint64_t)world.playground + first * page_size;
        *length = count * page_size;
        if (rng_percent(r, 15)) *address += 1 + rng_below(r, page_size - 1);
        else if (rng_percent(r, 15) && *length) *length -= 1 + rng_below(r, page_size - 1);
    } else if (k < 12) {  /* across an edge of the kernel's ranges, to the edge range's end */
        Range e = world.edges[rng_below(r, world.edge_count)];
        *address = e.start + (rng_below(r, e.length) & ~(uint64_t)(page_size - 1));
        *length = e.start + e.length - *address;
    } else if (k < 15) {
        /* A bad address (never the read-only page or a guard: they must stay). Any length
           from beyond every space (2^48); from below, at most 64 KiB. */
        *address = unreadable_pointer(t) & (rng_percent(r, 80) ? ~(uint64_t)(page_size - 1) : ~0ull);
        *length = *address >= 1ull << 48 ? PICK(r, lengths) : rng_below(r, 65537);
    } else if (k < 18) {
        /* From the playground, lengths that wrap around the end of the address space (or,
           where allowed, reach past every space): must be refused, never read as "to the
           end" or "from the start". */
        static const uint64_t past[] = {1ull << 48, 1ull << 56, 0x7fffffffffffffff};
        *address = (uint64_t)world.playground + rng_below(r, playground_pages) * page_size;
        uint64_t wrap[] = {0 - *address, 0 - *address + page_size, 0xfffffffffffff000, 0xffffffffffffffff};
        *length = beyond && rng_percent(r, 40) ? PICK(r, past) : PICK(r, wrap);
    } else {  /* random high addresses (never in the fuzzer's own memory), any length */
        *address = (rng_next(r) | (1ull << 63)) & ~(uint64_t)(page_size - 1);
        *length = PICK(r, lengths);
    }
}
