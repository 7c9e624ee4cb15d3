// Measuring a counter's frequency against another counter, so that the CPU may be stopped
// at any moment without spoiling the result. Under TCG on a loaded host a vCPU is routinely
// descheduled for milliseconds; a measurement that assumes "this loop took 100 us" (the
// local APIC's first calibration did) is then off by the length of the stall, and every
// timer interrupt afterwards comes that many times too late. Here no duration is assumed:
// both counters are read at the start and at the end, each reading of the slow counter
// (an I/O port or a device register) bracketed by two readings of the fast one (the cycle
// counter), and the narrowest of a few brackets is kept, so a stall during a reading widens
// only that bracket. A stall anywhere else costs nothing: both counters keep counting.
// Header-only and free of hardware access, so the host tests drive it with simulated
// counters and stalls (tests/unit/test_clock_calibration.cc).
#pragma once

#include <stdint.h>

namespace mica::clock {

// A value of the slow counter, read at some fast-counter time within [fast_before, fast_after].
struct Bracket {
    uint64_t fast_before;
    uint64_t slow;
    uint64_t fast_after;
    uint64_t width() const { return fast_after - fast_before; }
    uint64_t fast_middle() const { return fast_before + width() / 2; }
};

// Tries per end of a measurement: a stall must hit all of them to widen the result.
inline constexpr int calibration_tries = 3;

// `slow` returns a count-up value modulo slow_mask + 1 (count-down hardware inverts it).
template <class Fast, class Slow>
Bracket read_bracketed(Fast fast, Slow slow, int tries = calibration_tries) {
    Bracket best{};
    for (int i = 0; i < tries; ++i) {
        Bracket b;
        b.fast_before = fast();
        b.slow = slow();
        b.fast_after = fast();
        if (i == 0 || b.width() < best.width()) best = b;
    }
    return best;
}

// Elapsed ticks of both counters between two brackets: the fast counter's from middle to
// middle. `slow_mask` is the slow counter's range minus one (a 16-bit counter: 0xffff); it
// must not wrap between the two readings.
struct Interval {
    uint64_t fast_ticks;
    uint64_t slow_ticks;
};
inline Interval interval_between(const Bracket& first, const Bracket& last, uint64_t slow_mask) {
    return {last.fast_middle() - first.fast_middle(), (last.slow - first.slow) & slow_mask};
}

// The fast counter's frequency, measured against a slow counter of known frequency `slow_hz`
// over at least `min_slow_ticks` of it (the PIT measuring the TSC). Returns 0 when the slow
// counter does not move within `idle_polls` readings (no such device: its port floats) or
// does not reach `min_slow_ticks` within `max_polls`.
template <class Fast, class Slow>
uint64_t measure_fast_hz(Fast fast, Slow slow, uint64_t slow_mask, uint64_t slow_hz, uint64_t min_slow_ticks,
                         int max_polls, int idle_polls) {
    Bracket first = read_bracketed(fast, slow);
    uint64_t moved = 0;
    int polls = 0;
    while (moved < min_slow_ticks) {
        if (++polls >= max_polls || (moved == 0 && polls >= idle_polls)) return 0;
        moved = (slow() - first.slow) & slow_mask;
    }
    Interval span = interval_between(first, read_bracketed(fast, slow), slow_mask);
    if (span.slow_ticks == 0) return 0;
    return static_cast<uint64_t>(static_cast<unsigned __int128>(span.fast_ticks) * slow_hz / span.slow_ticks);
}

// The slow counter's frequency, measured against the fast counter of known frequency
// `fast_hz` over at least `min_fast_ticks` of it (the TSC measuring the local APIC timer).
template <class Fast, class Slow>
uint64_t measure_slow_hz(Fast fast, Slow slow, uint64_t slow_mask, uint64_t fast_hz, uint64_t min_fast_ticks) {
    Bracket first = read_bracketed(fast, slow);
    while (fast() - first.fast_after < min_fast_ticks) {
    }
    Interval span = interval_between(first, read_bracketed(fast, slow), slow_mask);
    if (span.fast_ticks == 0) return 0;
    return static_cast<uint64_t>(static_cast<unsigned __int128>(span.slow_ticks) * fast_hz / span.fast_ticks);
}

}  // namespace mica::clock
