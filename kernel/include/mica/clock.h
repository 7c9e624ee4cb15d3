// Clocks. Calibration hook: a timer driver with a known frequency (the PIT on x86) offers to
// measure the CPU's cycle counter when the architecture cannot read its frequency directly.
// Wall clock: a real-time-clock driver (CMOS RTC, PL031) records the time of day once at
// boot; afterwards the cycle counter advances it.
#pragma once

#include <stdint.h>

namespace mica::clock {

struct Calibrator {
    const char* name;
    // Returns counter ticks per second, or 0 when the reference timer is absent.
    uint64_t (*measure)(uint64_t (*counter)());
};

void register_calibrator(const Calibrator& calibrator);
const Calibrator* calibrator();

// Seconds since the Unix epoch of a UTC civil date (proleptic Gregorian calendar); month
// 1-12, day 1-31. Host-tested.
constexpr int64_t unix_seconds(int year, int month, int day, int hour, int minute, int second) {
    // Days from 1970-01-01: count years from March so the leap day ends the year.
    int y = month <= 2 ? year - 1 : year;
    int era = (y >= 0 ? y : y - 399) / 400;
    int year_of_era = y - era * 400;
    int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    int64_t days = int64_t{era} * 146097 + day_of_era - 719468;
    return days * 86400 + hour * 3600 + minute * 60 + second;
}

// Publishes the cycle counter's frequency (after arch::clock_init): the clocks below, and the
// vDSO's, read 0 before.
void init();
// The RTC driver's reading, taken at cycle counter value `cycles`, and who provided it.
void set_wall_clock(int64_t unix_seconds, uint64_t cycles, const char* source);
// Nanoseconds since the Unix epoch; without an RTC the epoch is the boot (1970 plus uptime).
uint64_t realtime_ns();
// Nanoseconds since boot, from the cycle counter.
uint64_t monotonic_ns();
// CLOCK_REALTIME minus CLOCK_MONOTONIC (fixed between wall clock settings): converts a
// deadline on the wall clock to a monotonic one exactly. (Not realtime_ns() minus an earlier
// monotonic_ns(): the time between the two reads would make the deadline that much early.)
uint64_t realtime_offset_ns();
const char* wall_clock_source();
// What the clocks above are computed from, published for the vDSO (mica/clock_data.h).
struct ClockData;
const ClockData* data();

}  // namespace mica::clock
