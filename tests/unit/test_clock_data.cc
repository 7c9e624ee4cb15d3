// The tick-to-nanosecond conversion the kernel and the vDSO share (mica/clock_data.h), against
// exact 128-bit arithmetic over the frequencies counters really have and many more, and the
// sequence-count protocol that publishes it.
#include <gtest/gtest.h>
#include <mica/clock_data.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

using namespace mica::clock;

namespace {

using u128 = unsigned __int128;

uint64_t exact_ns(uint64_t ticks, uint64_t hz) { return static_cast<uint64_t>(u128{ticks} * ns_per_s / hz); }

// The largest counter value the conversion promises to be exact for: worth less than 2^63 ns.
uint64_t max_ticks(uint64_t hz) {
    u128 t = (u128{1} << 63) * hz / ns_per_s;
    return t > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(t);
}

// Counter frequencies: real ones (PIT-calibrated TSCs, CPUID crystals, the ARM generic
// timer's 24/25/54/62.5 MHz and 1 GHz, the 32 kHz RTC), odd ones, extremes, and random ones.
std::vector<uint64_t> frequencies() {
    std::vector<uint64_t> hz = {1,          2,          3,          1000,        32768,      1000000,
                                1193182,    19200000,   24000000,   25000000,    54000000,   62500000,
                                100000000,  999999999,  1000000000, 1000000001,  1600000000, 2112000000,
                                2400000000, 2994375000, 3000000000, 3600000000,  4294967295, 4294967296,
                                5000000000, 10000000000, uint64_t{1} << 40, uint64_t{1} << 63, UINT64_MAX};
    std::mt19937_64 random(12);
    for (int i = 0; i < 200; ++i) hz.push_back(random() >> (random() % 64) | 1);
    return hz;
}

}  // namespace

TEST(ClockData, ScaleUsesAllTheBitsItCan) {
    for (uint64_t hz : frequencies()) {
        TickScale s = tick_scale(hz);
        SCOPED_TRACE(hz);
        ASSERT_LE(s.shift, max_tick_shift);
        // The multiplier is at least 2^63 (full precision) unless the shift ran out.
        if (s.shift < max_tick_shift) {
            EXPECT_GE(s.mult, uint64_t{1} << 63);
        }
        // And it is the ceiling: mult * hz >= 10^9 * 2^shift > (mult - 1) * hz.
        u128 target = u128{ns_per_s} << s.shift;
        EXPECT_GE(u128{s.mult} * hz, target);
        EXPECT_LT(u128{s.mult - 1} * hz, target);
    }
    EXPECT_EQ(tick_scale(0).mult, 0u);
    EXPECT_EQ(ticks_to_ns(12345, tick_scale(0)), 0u);
}

TEST(ClockData, ConversionIsExactOrOneAboveOverTheWholeRange) {
    std::mt19937_64 random(3);
    for (uint64_t hz : frequencies()) {
        TickScale s = tick_scale(hz);
        uint64_t top = max_ticks(hz);
        std::vector<uint64_t> ticks = {0, 1, 2, hz - 1, hz, hz + 1, top, top - 1, top / 2, top / 3};
        for (uint64_t k = 1; k <= 1000 && k <= top / (hz ? hz : 1); k *= 10) ticks.push_back(k * hz);  // whole seconds
        for (int i = 0; i < 2000; ++i) ticks.push_back(top ? random() % top : 0);
        for (int i = 0; i < 200; ++i) ticks.push_back(random() % (hz < 1000000 ? hz * 4 : 4000000));  // early ones
        for (uint64_t t : ticks) {
            if (t > top) continue;
            uint64_t want = exact_ns(t, hz), got = ticks_to_ns(t, s);
            ASSERT_TRUE(got == want || got == want + 1) << "hz " << hz << " ticks " << t << ": " << got << " vs exact " << want;
        }
    }
}

TEST(ClockData, WholeSecondsAndCommonFrequenciesAreExact) {
    // At frequencies dividing 10^9 or divided by it, and at whole seconds of any frequency, the
    // exact value is an integer, and rounding the multiplier up costs nothing there.
    for (uint64_t hz : {uint64_t{1000000}, uint64_t{25000000}, uint64_t{62500000}, uint64_t{1000000000}, uint64_t{2000000000}}) {
        TickScale s = tick_scale(hz);
        for (uint64_t t : {uint64_t{0}, uint64_t{1}, uint64_t{7}, uint64_t{123456789}, hz, 3600 * hz, 86400 * 365 * hz}) {
            EXPECT_EQ(ticks_to_ns(t, s), exact_ns(t, hz)) << hz << " " << t;
        }
    }
    for (uint64_t hz : frequencies()) {
        if (hz > max_ticks(hz) / 1000) continue;
        EXPECT_EQ(ticks_to_ns(1000 * hz, tick_scale(hz)), 1000 * ns_per_s) << hz;
    }
}

TEST(ClockData, NeverGoesBackwards) {
    std::mt19937_64 random(5);
    for (uint64_t hz : frequencies()) {
        TickScale s = tick_scale(hz);
        uint64_t top = max_ticks(hz);
        for (int i = 0; i < 60; ++i) {
            uint64_t t = top > 1000 ? random() % (top - 1000) : 0;
            uint64_t previous = ticks_to_ns(t, s);
            for (uint64_t step = 1; step <= 1000 && t + step <= top; ++step) {
                uint64_t now = ticks_to_ns(t + step, s);
                ASSERT_GE(now, previous) << "hz " << hz << " ticks " << t + step;
                previous = now;
            }
        }
    }
}

TEST(ClockData, ReadingNeedsAPublishedCounter) {
    ClockData data = {};
    ClockReading r{7, 7};
    int reads = 0;
    EXPECT_FALSE(read_clock(data, [&] { return ++reads, uint64_t{1}; }, r));
    EXPECT_EQ(reads, 0) << "no counter read before one is published";
    write_clock(data, counter_cycles, tick_scale(1000000000), 1700000000ull * ns_per_s);
    EXPECT_EQ(data.sequence, 2u);
    ASSERT_TRUE(read_clock(data, [] { return uint64_t{5000}; }, r));
    EXPECT_EQ(r.monotonic_ns, 5000u);
    EXPECT_EQ(r.realtime_offset, 1700000000ull * ns_per_s);
}

TEST(ClockData, AReaderRetriesAcrossAWrite) {
    ClockData data = {};
    write_clock(data, counter_cycles, tick_scale(1000000000), 0);
    // The write lands while the reader holds the old values (between its two looks at the
    // sequence count): it must start again and return only the new ones.
    int reads = 0;
    ClockReading r;
    ASSERT_TRUE(read_clock(data,
                           [&] {
                               if (reads++ == 0) write_clock(data, counter_cycles, tick_scale(500000000), 42);
                               return uint64_t{1000};
                           },
                           r));
    EXPECT_EQ(reads, 2);
    EXPECT_EQ(r.monotonic_ns, 2000u);
    EXPECT_EQ(r.realtime_offset, 42u);
}

TEST(ClockData, ConcurrentReadersSeeWholeWrites) {
    // Two states a torn read would mix: (1 ns per tick, offset 0) and (2 ns per tick, offset 1).
    ClockData data = {};
    const TickScale one{uint64_t{1} << 32, 32}, two{uint64_t{2} << 32, 32};
    write_clock(data, counter_cycles, one, 0);
    std::atomic<bool> stop{false};
    std::atomic<long> torn{0}, reads{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i) {
        readers.emplace_back([&] {
            ClockReading r;
            while (!stop.load(std::memory_order_relaxed)) {
                if (!read_clock(data, [] { return uint64_t{1000}; }, r)) continue;
                bool whole = (r.monotonic_ns == 1000 && r.realtime_offset == 0) ||
                             (r.monotonic_ns == 2000 && r.realtime_offset == 1);
                torn += !whole;
                ++reads;
            }
        });
    }
    for (int i = 0; i < 200000; ++i) write_clock(data, counter_cycles, i % 2 ? one : two, i % 2 ? 0 : 1);
    while (reads.load() < 1000) std::this_thread::yield();
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(torn.load(), 0);
}

TEST(ClockData, ClockIdsAsLinuxNumbersThem) {
    EXPECT_EQ(realtime_clock_mask, 0x821u);   // REALTIME, REALTIME_COARSE, TAI
    EXPECT_EQ(monotonic_clock_mask, 0xd2u);   // MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE, BOOTTIME
    EXPECT_EQ(realtime_clock_mask & monotonic_clock_mask, 0u);
    // CPU-time and alarm clocks are the system call's.
    for (int id : {clock_process_cputime, clock_thread_cputime, clock_realtime_alarm, clock_boottime_alarm, 10}) {
        EXPECT_EQ((realtime_clock_mask | monotonic_clock_mask) >> id & 1, 0u) << id;
    }
}
