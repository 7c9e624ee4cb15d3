// 8254 PIT, used once at boot to measure the TSC when CPUID cannot tell its frequency.
// Channel 0 counts down from 0xffff at 1.193182 MHz; we latch-read it until ~1 ms of ticks
// (1193) have passed and see how far the TSC moved (a stall longer than the counter's 55 ms
// period between two polls would go unnoticed). Channel 0 rather than the usual channel
// 2 gate trick: that needs port 0x61, which QEMU's microvm does not have. Interrupts are
// off at this point, so the channel's IRQ 0 output goes nowhere.
#include <arch/x86_64/io.h>
#include <mica/clock.h>
#include <mica/clock_calibration.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uint16_t channel0 = 0x40, mode_port = 0x43;
constexpr uint8_t mode_ch0_lohi_rate = 0x34;  // channel 0, lo/hi byte, mode 2
constexpr uint8_t latch_ch0 = 0x00;
constexpr uint64_t pit_hz = 1193182;
constexpr uint16_t wait_ticks = 1193;  // ~1 ms
constexpr uint64_t pit_mask = 0xffff;  // a 16-bit counter
constexpr int max_polls = 200000;      // bounds the wait on a PIT that stalls
constexpr int max_idle_polls = 1000;   // no movement at all by then: there is no PIT

uint16_t read_counter() {
    x86::outb(mode_port, latch_ch0);
    uint8_t lo = x86::inb(channel0);
    uint8_t hi = x86::inb(channel0);
    return static_cast<uint16_t>(hi << 8 | lo);
}

// Programs channel 0 to count down from 0xffff, then measures the counter over ~1 ms of
// PIT ticks (clock_calibration.h: robust to the vCPU being stopped during the measurement).
uint64_t measure(uint64_t (*counter)()) {
    x86::outb(mode_port, mode_ch0_lohi_rate);
    x86::outb(channel0, 0xff);
    x86::outb(channel0, 0xff);
    // Counts down; inverted it counts up modulo 2^16.
    auto pit = [] { return uint64_t{static_cast<uint16_t>(~read_counter())}; };
    return clock::measure_fast_hz(counter, pit, pit_mask, pit_hz, wait_ticks, max_polls, max_idle_polls);
}

const clock::Calibrator calibrator{"pit", measure};

bool init() {
    clock::register_calibrator(calibrator);
    return true;
}
}  // namespace

extern const Driver pit_driver{"pit", Phase::platform, init};

}  // namespace mica::drivers
