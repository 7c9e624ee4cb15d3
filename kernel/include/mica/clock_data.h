// The clock as the kernel publishes it, and the one conversion from counter ticks to
// nanoseconds that every reader uses: the kernel's clock_gettime system call
// (kernel/core/clock.cc), the vDSO (arch/*/vdso, running in the application), and the host
// tests (tests/unit/test_clock_data.cc). Because all of them compute time from the same
// published numbers with the same function, a clock read through the vDSO and one read
// through the system call never disagree, so neither can appear to go backwards relative to
// the other. Header-only and freestanding (no kernel headers): the vDSO is built from it.
#pragma once

#include <stdint.h>

namespace mica::clock {

inline constexpr uint64_t ns_per_s = 1000000000;

// ns = ticks * mult >> shift, the product taken in 128 bits: one multiplication, no division
// (a 64-bit division is 20-90 cycles; the vDSO's whole point is to be cheap). The tickless
// kernel has no periodic update that could keep the tick count small (Linux's timekeeper
// rebases its 64-bit product every tick), so the 128-bit product covers the whole range.
//
// mult = ceil(10^9 * 2^shift / hz) with the largest shift that keeps it below 2^64. Then, for
// a counter value worth less than 2^63 ns (292 years), the result is floor(exact) or
// floor(exact) + 1, and it never decreases as the counter grows (mult is a constant). Rounding
// mult up, not down, means a time computed here is never earlier than the exact one, so a
// timer the scheduler fires at the first tick at or after a deadline (exact arithmetic) is
// never seen to fire before it.
struct TickScale {
    uint64_t mult;
    uint32_t shift;
};

// Keeps 10^9 << shift inside 128 bits (10^9 < 2^30) with room to spare.
inline constexpr uint32_t max_tick_shift = 96;

// The scale for a counter of `hz` ticks per second (hz > 0; 0 gives a scale that yields 0).
constexpr TickScale tick_scale(uint64_t hz) {
    if (hz == 0) return {0, 0};
    for (uint32_t shift = max_tick_shift;; --shift) {
        unsigned __int128 numerator = static_cast<unsigned __int128>(ns_per_s) << shift;
        unsigned __int128 mult = (numerator + hz - 1) / hz;
        // With shift 0, mult <= 10^9: the loop always ends here.
        if ((mult >> 64) == 0) return {static_cast<uint64_t>(mult), shift};
    }
}

constexpr uint64_t ticks_to_ns(uint64_t ticks, TickScale scale) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * scale.mult) >> scale.shift);
}

// What the vDSO reads (through a pointer in its [vvar] page: libc/linux/vdso.cc). Written
// only by clock.cc, under `sequence`: odd while a write is in progress, and changed by every
// write, so a reader that saw the same even value before and after its reads has a
// consistent set (a seqlock). Writes happen at boot (the counter's frequency, the RTC's
// reading) and would happen on a future settimeofday; reads never take a lock.
struct ClockData {
    uint32_t sequence;
    uint32_t counter;  // which counter the ticks come from (below)
    TickScale scale;
    // CLOCK_REALTIME = CLOCK_MONOTONIC + realtime_offset (modulo 2^64: the wall clock may be
    // earlier than the counter's zero when the RTC says 1970).
    uint64_t realtime_offset;
};

// ClockData::counter. counter_none: nothing published yet; readers fall back to the system
// call. counter_cycles: the architecture's cycle counter (x86_64 rdtsc, aarch64 cntvct_el0).
inline constexpr uint32_t counter_none = 0, counter_cycles = 1;

struct ClockReading {
    uint64_t monotonic_ns;
    uint64_t realtime_offset;
};

// One consistent reading: the counter read with `read_counter()` (the caller's own counter
// instruction; only called when data.counter is counter_cycles) and converted with the
// published scale. False when no counter is published.
template <typename ReadCounter>
inline bool read_clock(const ClockData& data, ReadCounter read_counter, ClockReading& out) {
    for (;;) {
        uint32_t sequence = __atomic_load_n(&data.sequence, __ATOMIC_ACQUIRE);
        if (sequence & 1) continue;  // a write in progress (interrupts are off there: it is short)
        uint32_t counter = __atomic_load_n(&data.counter, __ATOMIC_RELAXED);
        TickScale scale{__atomic_load_n(&data.scale.mult, __ATOMIC_RELAXED),
                        __atomic_load_n(&data.scale.shift, __ATOMIC_RELAXED)};
        uint64_t offset = __atomic_load_n(&data.realtime_offset, __ATOMIC_RELAXED);
        uint64_t ticks = counter == counter_cycles ? read_counter() : 0;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&data.sequence, __ATOMIC_RELAXED) != sequence) continue;
        if (counter != counter_cycles) return false;
        out.monotonic_ns = ticks_to_ns(ticks, scale);
        out.realtime_offset = offset;
        return true;
    }
}

// The writer's side (clock.cc; one writer at a time, interrupts off).
inline void write_clock(ClockData& data, uint32_t counter, TickScale scale, uint64_t realtime_offset) {
    uint32_t sequence = data.sequence;
    __atomic_store_n(&data.sequence, sequence + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&data.counter, counter, __ATOMIC_RELAXED);
    __atomic_store_n(&data.scale.mult, scale.mult, __ATOMIC_RELAXED);
    __atomic_store_n(&data.scale.shift, scale.shift, __ATOMIC_RELAXED);
    __atomic_store_n(&data.realtime_offset, realtime_offset, __ATOMIC_RELAXED);
    __atomic_store_n(&data.sequence, sequence + 2, __ATOMIC_RELEASE);
}

// Linux's clock ids, and which of them a reading answers without the system call (both the
// vDSO and the system call map them the same way: time.cc).
inline constexpr int clock_realtime = 0, clock_monotonic = 1, clock_process_cputime = 2, clock_thread_cputime = 3,
                     clock_monotonic_raw = 4, clock_realtime_coarse = 5, clock_monotonic_coarse = 6,
                     clock_boottime = 7, clock_realtime_alarm = 8, clock_boottime_alarm = 9, clock_tai = 11;
// There is no suspend, no NTP slewing and no leap-second table: BOOTTIME and MONOTONIC_RAW are
// MONOTONIC, TAI is REALTIME, and the coarse clocks are the fine ones (1 ns resolution).
inline constexpr uint32_t realtime_clock_mask = 1u << clock_realtime | 1u << clock_realtime_coarse | 1u << clock_tai;
inline constexpr uint32_t monotonic_clock_mask =
    1u << clock_monotonic | 1u << clock_monotonic_raw | 1u << clock_monotonic_coarse | 1u << clock_boottime;

}  // namespace mica::clock
