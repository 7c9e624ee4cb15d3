// The kernel's clocks (mica/clock.h), computed from what it publishes for the vDSO
// (mica/clock_data.h): the system calls and the vDSO read the same numbers through the same
// conversion, so they always agree.
#include <arch/arch.h>
#include <mica/clock.h>
#include <mica/clock_data.h>
#include <mica/sched/spinlock.h>

namespace mica::clock {
namespace {
// Set during boot by one driver each, read-only afterwards.
const Calibrator* registered = nullptr;
int64_t wall_seconds = 0;
uint64_t wall_cycles = 0;
const char* wall_source = "none (the epoch is the boot)";

// Owned here: written only by publish() (under publish_lock), read by anyone, including every
// process's vDSO through the pointer its [vvar] page holds (libc/linux/vdso.cc).
ClockData published = {};
sched::Spinlock publish_lock;

// Recomputes what is published from the counter's frequency and the wall clock's reading.
void publish() {
    uint64_t hz = arch::cycles_per_second();
    if (hz == 0) return;  // before clock_init: set_wall_clock's reading is published by init()
    TickScale scale = tick_scale(hz);
    uint64_t offset = static_cast<uint64_t>(wall_seconds) * ns_per_s - ticks_to_ns(wall_cycles, scale);
    sched::SpinGuard guard(publish_lock);
    write_clock(published, counter_cycles, scale, offset);
}

ClockReading read() {
    ClockReading r;
    if (!read_clock(published, arch::cycles, r)) r = {0, 0};  // only before init(): no clock yet
    return r;
}
}  // namespace

void register_calibrator(const Calibrator& c) { registered = &c; }
const Calibrator* calibrator() { return registered; }

void init() { publish(); }

void set_wall_clock(int64_t seconds, uint64_t cycles, const char* source) {
    wall_seconds = seconds;
    wall_cycles = cycles;
    wall_source = source;
    publish();
}

uint64_t monotonic_ns() { return read().monotonic_ns; }

uint64_t realtime_ns() {
    ClockReading r = read();
    return r.monotonic_ns + r.realtime_offset;
}

uint64_t realtime_offset_ns() { return read().realtime_offset; }

const ClockData* data() { return &published; }

const char* wall_clock_source() { return wall_source; }

}  // namespace mica::clock
