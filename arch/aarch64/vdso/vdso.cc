// The aarch64 vDSO: Linux's exports (version LINUX_2.6.39: __kernel_clock_gettime,
// __kernel_gettimeofday, __kernel_clock_getres; __kernel_rt_sigreturn is in sigreturn.S),
// answered from the kernel's published clock (libc/linux/vdso/calls.h). Built as its own
// shared object (cmake/vdso.cmake) and embedded in the kernel.
#include "vdso/calls.h"

namespace {
using namespace mica::vdso;

struct Arm64 {
    // The virtual counter, as the kernel reads it (arch/aarch64/clock.cc): isb keeps the read
    // from being taken before the instructions ahead of it (the sequence count's load). EL1,
    // where Mica runs applications, may always read it.
    static uint64_t counter() {
        uint64_t value;
        asm volatile("isb; mrs %0, cntvct_el0" : "=r"(value)::"memory");
        return value;
    }
    // The system call, as an application makes it: svc #0 with the number in x8.
    static long syscall2(long number, long a, long b) {
        register long x8 asm("x8") = number;
        register long x0 asm("x0") = a;
        register long x1 asm("x1") = b;
        asm volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
        return x0;
    }
    static constexpr long nr_clock_gettime = 113, nr_clock_getres = 114, nr_gettimeofday = 169;
};
}  // namespace

#define MICA_VDSO_EXPORT extern "C" __attribute__((visibility("default")))

MICA_VDSO_EXPORT int __kernel_clock_gettime(int id, Timespec* ts) { return clock_gettime<Arm64>(id, ts); }
MICA_VDSO_EXPORT int __kernel_gettimeofday(Timeval* tv, Timezone* tz) { return gettimeofday<Arm64>(tv, tz); }
MICA_VDSO_EXPORT int __kernel_clock_getres(int id, Timespec* res) { return clock_getres<Arm64>(id, res); }
