// Counter calibration (mica/clock_calibration.h) on a simulated machine whose CPU is stopped
// for a while at any chosen counter reading, as a host stops a vCPU under load. Before the
// bracketed measurement, the local APIC timer's rate came from "count during a 100 us wait":
// a 1 ms stall in that wait made every timer interrupt 10 times late (a 20 ms sleep took
// 200 ms; sched.sleep_accuracy failed in CI with 917 ms).
#include <gtest/gtest.h>
#include <mica/clock_calibration.h>

#include <cmath>

namespace {

// Time in picoseconds, so that counter values are exact for the rates used here.
struct Machine {
    uint64_t now_ps = 1234567;  // arbitrary start: the counters do not start at zero
    uint64_t reads = 0;
    uint64_t stall_at = ~uint64_t{0};  // the read before which the CPU is stopped
    uint64_t stall_ps = 0;
    uint64_t read_cost_ps = 0;

    void step(uint64_t cost_ps) {
        if (reads++ == stall_at) now_ps += stall_ps;
        now_ps += cost_ps;
    }
    uint64_t ticks(uint64_t hz) const {
        return static_cast<uint64_t>(static_cast<unsigned __int128>(now_ps) * hz / 1000000000000ull);
    }
};

constexpr uint64_t tsc_hz = 2594545754;   // the TSC QEMU showed here
constexpr uint64_t pit_hz = 1193182;
constexpr uint64_t lapic_hz = 1000000000;  // QEMU's APIC timer with divide-by-1
constexpr uint64_t tsc_read_ps = 20000;     // 20 ns
constexpr uint64_t device_read_ps = 3000000;  // 3 us: an I/O exit

double error(uint64_t measured, uint64_t truth) {
    return std::fabs(static_cast<double>(measured) - static_cast<double>(truth)) / static_cast<double>(truth);
}

uint64_t measure_tsc_with_pit(Machine& m) {
    auto tsc = [&m] {
        m.step(tsc_read_ps);
        return m.ticks(tsc_hz);
    };
    auto pit = [&m] {
        m.step(device_read_ps);
        return m.ticks(pit_hz) & 0xffff;  // the hardware's 16 bits, counting up
    };
    return mica::clock::measure_fast_hz(tsc, pit, 0xffff, pit_hz, 1193, 200000, 1000);
}

uint64_t measure_lapic_with_tsc(Machine& m) {
    auto tsc = [&m] {
        m.step(tsc_read_ps);
        return m.ticks(tsc_hz);
    };
    auto lapic = [&m] {
        m.step(device_read_ps);
        return m.ticks(lapic_hz) & 0xffffffff;
    };
    return mica::clock::measure_slow_hz(tsc, lapic, 0xffffffff, tsc_hz, tsc_hz / 10000);
}

// Every read position, stalls from 10 us to 40 ms (longer ones would wrap the PIT's 16 bits,
// a documented limit): the result stays within 1% of the truth.
TEST(ClockCalibration, PitMeasuresTheTscThroughAnyStall) {
    Machine plain;
    uint64_t baseline = measure_tsc_with_pit(plain);
    EXPECT_LT(error(baseline, tsc_hz), 0.01) << baseline;
    uint64_t reads = plain.reads;
    for (uint64_t stall_us : {10, 300, 5000, 40000}) {
        for (uint64_t at = 0; at < reads + 3; ++at) {
            Machine m;
            m.stall_at = at;
            m.stall_ps = stall_us * 1000000;
            uint64_t hz = measure_tsc_with_pit(m);
            ASSERT_LT(error(hz, tsc_hz), 0.01) << "stall of " << stall_us << " us before read " << at << ": " << hz;
        }
    }
}

TEST(ClockCalibration, TscMeasuresTheLapicTimerThroughAnyStall) {
    Machine plain;
    uint64_t baseline = measure_lapic_with_tsc(plain);
    EXPECT_LT(error(baseline, lapic_hz), 0.01) << baseline;
    uint64_t reads = plain.reads;
    for (uint64_t stall_us : {10, 300, 5000, 900000}) {
        for (uint64_t at = 0; at < reads + 3; ++at) {
            Machine m;
            m.stall_at = at;
            m.stall_ps = stall_us * 1000000;
            uint64_t hz = measure_lapic_with_tsc(m);
            ASSERT_LT(error(hz, lapic_hz), 0.01) << "stall of " << stall_us << " us before read " << at << ": " << hz;
        }
    }
}

// What the first LAPIC calibration did, for contrast: a stall inside the wait inflates it.
TEST(ClockCalibration, AnAssumedDurationIsSpoiledByAStall) {
    Machine m;
    auto tsc = [&m] {
        m.step(tsc_read_ps);
        return m.ticks(tsc_hz);
    };
    uint64_t counted_start = m.ticks(lapic_hz);
    uint64_t start = tsc();
    m.stall_at = m.reads + 5;
    m.stall_ps = 900000000;  // 900 us
    while (tsc() - start < tsc_hz / 10000) {
    }
    uint64_t assumed_hz = (m.ticks(lapic_hz) - counted_start) * 10000;
    EXPECT_GT(error(assumed_hz, lapic_hz), 5.0);  // ten times too fast: timers fire 10x late
}

// No device behind the port: it floats and the count never moves.
TEST(ClockCalibration, AnAbsentReferenceGivesZero) {
    uint64_t t = 0;
    auto tsc = [&t] { return t += 50; };
    auto floating = [] { return uint64_t{0}; };
    EXPECT_EQ(mica::clock::measure_fast_hz(tsc, floating, 0xffff, pit_hz, 1193, 200000, 1000), 0u);
}

TEST(ClockCalibration, TheNarrowestBracketWins) {
    uint64_t t = 0;
    int call = 0;
    auto fast = [&] {
        // The first bracket is 1000 wide, the second 10, the third 100.
        static const uint64_t steps[] = {0, 1000, 5, 10, 5, 100};
        return t += steps[call++];
    };
    auto slow = [&] { return uint64_t(call); };
    auto b = mica::clock::read_bracketed(fast, slow);
    EXPECT_EQ(b.width(), 10u);
    EXPECT_EQ(b.slow, 3u);
}

}  // namespace
