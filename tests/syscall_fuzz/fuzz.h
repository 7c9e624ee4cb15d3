/* The in-guest system-call fuzzer (syscall_fuzz.c): shared declarations.
   World: what the fuzzer owns and may hand to the kernel (args.c builds arguments from it).
   Calls: the table of system calls with their argument kinds and shaping rules (calls.c). */
#pragma once
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>

/* ---- random numbers: one stream per thread, from the seed ------------------------------ */
typedef struct {
    uint64_t state;
} Rng;

static inline uint64_t rng_next(Rng* r) {  /* splitmix64 */
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint64_t rng_below(Rng* r, uint64_t n) { return n ? rng_next(r) % n : 0; }
static inline int rng_percent(Rng* r, unsigned percent) { return rng_below(r, 100) < percent; }
#define PICK(r, array) ((array)[rng_below((r), sizeof(array) / sizeof((array)[0]))])

/* ---- the world ---------------------------------------------------------------------------
   scratch     read-write, never reshaped: buffers the kernel reads and writes, and the
               structures (iovecs, pollfds) the fuzzer builds in each thread's own slice
   playground  the only memory munmap/mprotect/mremap/MAP_FIXED may touch; the fuzzer never
               touches it itself, so it can vanish under a call at any time
   constants   a read-only page: timeouts (always short), strings, an int 1 (for FIONBIO)
   Both scratch and the playground lie between PROT_NONE guard areas. */
enum { scratch_size = 1 << 20, guard_size = 1 << 20, playground_pages = 64, page_size = 4096,
       max_threads = 16, build_slice = 16384 };

typedef struct {
    uintptr_t start;
    size_t length;
} Range;

typedef struct {
    char* scratch;
    char* playground;
    const struct Constants* constants;
    int fds[40];          /* open descriptors of every kind (files, dirs, devices, pipes...) */
    int fd_count;
    int closed_fds[8];    /* were open, are closed */
    int closed_count;
    uintptr_t bad[48];    /* addresses no call may touch (kernel, outside the space...) */
    int bad_count;
    Range edges[16];      /* ranges across the edges of the kernel's parts of the space */
    int edge_count;
    uintptr_t break0;     /* the break before fuzzing: brk never goes below it */
    int mica;             /* running on Mica (uname release ends in "-mica") */
} World;

extern World world;

/* Short timeouts and other read-only values the kernel may be pointed at. Timeouts are
   never long: the fuzzer must not block (see calls.c). */
struct Constants {
    int64_t timespecs[8][2];  /* {sec, nsec}: short, zero, and invalid ones */
    int64_t timevals[4][2];
    int32_t one;              /* FIONBIO's argument: non-blocking stays on */
    int32_t zero;
    char paths[24][96];
    char long_path[4200];     /* PATH_MAX and beyond, NUL-terminated */
};

/* ---- arguments (args.c) ------------------------------------------------------------------ */
enum Kind {
    A_NONE, A_ANY, A_ZERO,
    A_FD, A_DIRFD,
    A_PTR,          /* a buffer: scratch, playground, read-only, or a bad address */
    A_BADPTR,       /* never readable nor writable (world.bad): for calls whose input would
                       change the fuzzer (a limit) or whose output is one of its addresses */
    A_PATH, A_IOV, A_POLLFDS, A_TIMESPEC, A_TIMEVAL,
    A_LEN, A_COUNT, A_OFFSET,
    A_FLAGS, A_OPEN_FLAGS, A_AT_FLAGS, A_MODE, A_WHENCE, A_CLOCK, A_TIMEOUT_MS, A_PID,
    A_IOCTL, A_FCNTL, A_PROT, A_MMAP_FLAGS,
    A_RANGE,        /* an address for a call that reshapes memory; the next argument is its length */
    A_RANGE_LEN,
    A_BRK,
};

typedef struct {
    Rng rng;
    int index;
    char* build;  /* this thread's slice of scratch for the structures it builds */
} Thread;

uint64_t arg_of_kind(Thread* t, enum Kind kind);
/* An address and a length for munmap/mprotect/madvise/mremap/MAP_FIXED: inside the
   playground, across the edges of the kernel's ranges, bad, or too long for any space
   (`beyond`: also lengths past every space that do not wrap; see args.c). */
void reshape_range(Thread* t, uint64_t* address, uint64_t* length, int beyond);
int in_playground(uintptr_t address, size_t length);
void world_add_bad_addresses(void);

/* ---- calls (calls.c) --------------------------------------------------------------------- */
/* The next call for thread t: its number, name and arguments. */
void choose_call(Thread* t, long* nr, const char** name, uint64_t args[6]);
/* After the call returned: clean up what it created that must not accumulate. */
void after_call(long nr, const uint64_t args[6], long result);
long raw_syscall(long nr, const uint64_t a[6]);
