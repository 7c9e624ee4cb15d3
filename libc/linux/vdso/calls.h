// The vDSO's calls, arch-neutral: each architecture's vDSO (arch/<arch>/vdso/vdso.cc) wraps
// these in its exported names with a policy type giving its counter instruction and its way
// into the kernel:
//   static uint64_t counter();                       the cycle counter, read in order
//   static long syscall2(long number, long a, long b);
//   static constexpr long nr_clock_gettime, nr_clock_getres, nr_gettimeofday;
// The vDSO runs in the application (its stack, its privilege: the kernel's, on Mica) and is
// a separate shared object, not kernel code: no kernel headers besides mica/clock_data.h,
// no data of its own, no relocations (map_vdso copies it anywhere and nobody relocates it).
// Answers must equal the system call's (libc/linux/time.cc) for every clock id; ids it does
// not answer, or any call made before the kernel published its clock, go to the system call,
// whose result (0 or -errno, as Linux's vDSO returns) is passed on.
#pragma once

#include <mica/clock_data.h>
#include <stdint.h>

namespace mica::vdso {

using clock::ClockData;
using clock::ClockReading;

struct Timespec {
    int64_t sec, nsec;
};
struct Timeval {
    int64_t sec, usec;
};
struct Timezone {
    int32_t minuteswest, dsttime;
};

// The [vvar] page, the page just below the image (the linker script places the symbol there):
// its first word is the kernel's ClockData address, written by map_vdso. Hidden, so the
// reference is PC-relative and needs no relocation.
extern "C" const ClockData* const mica_vvar_page[] __attribute__((visibility("hidden")));

template <class Arch>
inline bool read(ClockReading& r) {
    return clock::read_clock(*mica_vvar_page[0], Arch::counter, r);
}

inline uint32_t clock_bit(int id) { return static_cast<uint32_t>(id) < 32 ? 1u << id : 0; }

template <class Arch>
inline int clock_gettime(int id, Timespec* ts) {
    uint32_t bit = clock_bit(id);
    ClockReading r;
    if ((bit & (clock::realtime_clock_mask | clock::monotonic_clock_mask)) && read<Arch>(r)) {
        uint64_t ns = r.monotonic_ns + (bit & clock::realtime_clock_mask ? r.realtime_offset : 0);
        ts->sec = static_cast<int64_t>(ns / clock::ns_per_s);  // a division by a constant: a multiplication
        ts->nsec = static_cast<int64_t>(ns % clock::ns_per_s);
        return 0;
    }
    return static_cast<int>(Arch::syscall2(Arch::nr_clock_gettime, id, reinterpret_cast<long>(ts)));
}

// Every clock the system call knows has a 1 ns resolution there too.
template <class Arch>
inline int clock_getres(int id, Timespec* res) {
    if (clock_bit(id) & (clock::realtime_clock_mask | clock::monotonic_clock_mask)) {
        if (res) *res = {0, 1};
        return 0;
    }
    return static_cast<int>(Arch::syscall2(Arch::nr_clock_getres, id, reinterpret_cast<long>(res)));
}

template <class Arch>
inline int gettimeofday(Timeval* tv, Timezone* tz) {
    if (tv) {
        ClockReading r;
        if (!read<Arch>(r)) {
            return static_cast<int>(
                Arch::syscall2(Arch::nr_gettimeofday, reinterpret_cast<long>(tv), reinterpret_cast<long>(tz)));
        }
        uint64_t ns = r.monotonic_ns + r.realtime_offset;
        tv->sec = static_cast<int64_t>(ns / clock::ns_per_s);
        tv->usec = static_cast<int64_t>(ns % clock::ns_per_s / 1000);
    }
    if (tz) *tz = {0, 0};  // UTC, as the system call says
    return 0;
}

// Seconds of CLOCK_REALTIME, or -1 when nothing is published (the caller then uses the
// system call; only x86_64 has time()).
template <class Arch>
inline int64_t realtime_seconds() {
    ClockReading r;
    if (!read<Arch>(r)) return -1;
    return static_cast<int64_t>((r.monotonic_ns + r.realtime_offset) / clock::ns_per_s);
}

}  // namespace mica::vdso

// Linux's vDSOs carry a note with the kernel's version (LINUX_VERSION_CODE), which old glibc
// read instead of calling uname: the release uname reports (libc/linux/time.cc), 6.1.0.
asm(R"(
    .pushsection .note.Linux, "a", %note
    .balign 4
    .long 6, 4, 0
    .asciz "Linux"
    .balign 4
    .long (6 << 16) | (1 << 8) | 0
    .balign 4
    .popsection
)");
