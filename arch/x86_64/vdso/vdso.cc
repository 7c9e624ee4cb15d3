// The x86_64 vDSO: Linux's exports (version LINUX_2.6: __vdso_clock_gettime,
// __vdso_gettimeofday, __vdso_time, __vdso_clock_getres, __vdso_getcpu, and the weak
// unprefixed aliases), answered from the kernel's published clock (libc/linux/vdso/calls.h).
// Built as its own shared object (cmake/vdso.cmake) and embedded in the kernel.
#include "vdso/calls.h"

namespace {
using namespace mica::vdso;

struct X86 {
    // lfence keeps rdtsc from running ahead of the loads before it (Linux's rdtsc_ordered):
    // without it a reading could be older than the sequence count it is checked against.
    static uint64_t counter() {
        uint32_t lo, hi;
        asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
        return uint64_t{hi} << 32 | lo;
    }
    // The system call, as an application makes it (arch/x86_64/syscall.S): `syscall` clobbers
    // %rcx and %r11; the kernel's entry does not touch the stack below %rsp.
    static long syscall2(long number, long a, long b) {
        long r;
        asm volatile("syscall" : "=a"(r) : "a"(number), "D"(a), "S"(b) : "rcx", "r11", "memory");
        return r;
    }
    static constexpr long nr_clock_gettime = 228, nr_clock_getres = 229, nr_gettimeofday = 96, nr_time = 201;
};
}  // namespace

#define MICA_VDSO_EXPORT extern "C" __attribute__((visibility("default")))

MICA_VDSO_EXPORT int __vdso_clock_gettime(int id, Timespec* ts) { return clock_gettime<X86>(id, ts); }
MICA_VDSO_EXPORT int __vdso_gettimeofday(Timeval* tv, Timezone* tz) { return gettimeofday<X86>(tv, tz); }
MICA_VDSO_EXPORT int __vdso_clock_getres(int id, Timespec* res) { return clock_getres<X86>(id, res); }

MICA_VDSO_EXPORT long __vdso_time(long* t) {
    int64_t seconds = realtime_seconds<X86>();
    if (seconds < 0) return X86::syscall2(X86::nr_time, reinterpret_cast<long>(t), 0);
    if (t) *t = seconds;
    return seconds;
}

// The kernel keeps each CPU's index at %gs:0 (arch/x86_64/cpu.cc: GS holds the kernel's
// per-CPU slot while applications run, and they cannot change it), so no system call is
// needed; the answer may be stale by the time the caller looks, as on Linux. One node.
MICA_VDSO_EXPORT long __vdso_getcpu(unsigned* cpu, unsigned* node, void* /* unused cache */) {
    uint64_t index;
    asm volatile("mov %%gs:0, %0" : "=r"(index));
    if (cpu) *cpu = static_cast<unsigned>(index);
    if (node) *node = 0;
    return 0;
}

// Linux's vDSO exports these too (weak, so a program's own definitions win when it links one).
extern "C" {
__attribute__((weak, alias("__vdso_clock_gettime"), visibility("default"))) int clock_gettime(int, Timespec*);
__attribute__((weak, alias("__vdso_gettimeofday"), visibility("default"))) int gettimeofday(Timeval*, Timezone*);
__attribute__((weak, alias("__vdso_clock_getres"), visibility("default"))) int clock_getres(int, Timespec*);
__attribute__((weak, alias("__vdso_time"), visibility("default"))) long time(long*);
__attribute__((weak, alias("__vdso_getcpu"), visibility("default"))) long getcpu(unsigned*, unsigned*, void*);
}
