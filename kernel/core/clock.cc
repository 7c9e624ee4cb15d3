#include <arch/arch.h>
#include <mica/clock.h>

namespace mica::clock {
namespace {
// Set during boot by one driver each, read-only afterwards.
const Calibrator* registered = nullptr;
int64_t wall_seconds = 0;
uint64_t wall_cycles = 0;
const char* wall_source = "none (the epoch is the boot)";
constexpr uint64_t ns_per_s = 1000000000;

uint64_t cycles_to_ns(uint64_t c) {
    uint64_t hz = arch::cycles_per_second();
    return c / hz * ns_per_s + c % hz * ns_per_s / hz;
}
}  // namespace

void register_calibrator(const Calibrator& c) { registered = &c; }
const Calibrator* calibrator() { return registered; }

void set_wall_clock(int64_t seconds, uint64_t cycles, const char* source) {
    wall_seconds = seconds;
    wall_cycles = cycles;
    wall_source = source;
}

uint64_t monotonic_ns() { return cycles_to_ns(arch::cycles()); }

uint64_t realtime_ns() {
    return static_cast<uint64_t>(wall_seconds) * ns_per_s + cycles_to_ns(arch::cycles() - wall_cycles);
}

const char* wall_clock_source() { return wall_source; }

}  // namespace mica::clock
