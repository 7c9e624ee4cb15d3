// 8254 PIT channel 2, used once at boot to measure the TSC when CPUID cannot tell its
// frequency: count down ~1 ms (1193 ticks of 1.193182 MHz) and see how far the TSC moved.
#include <arch/x86_64/io.h>
#include <mica/clock.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uint16_t channel2 = 0x42, mode_port = 0x43, gate_port = 0x61;
constexpr uint8_t gate_on = 0x01, speaker_on = 0x02, out2_high = 0x20;
constexpr uint8_t mode_ch2_lohi_oneshot = 0xb0;
constexpr uint64_t pit_hz = 1193182;
constexpr uint16_t ticks = 1193;       // ~1 ms
constexpr int max_polls = 10000000;    // bounds the wait when no PIT answers

uint64_t measure(uint64_t (*counter)()) {
    uint8_t gate = x86::inb(gate_port);
    // No PIT (e.g. microvm with pit=off): the port floats high and OUT2 reads as set.
    x86::outb(gate_port, static_cast<uint8_t>((gate & ~(speaker_on | gate_on))));
    x86::outb(mode_port, mode_ch2_lohi_oneshot);
    x86::outb(channel2, ticks & 0xff);
    x86::outb(channel2, ticks >> 8);
    if (x86::inb(gate_port) & out2_high) return 0;
    x86::outb(gate_port, static_cast<uint8_t>((gate & ~speaker_on) | gate_on));  // start counting
    uint64_t start = counter();
    int polls = 0;
    while (!(x86::inb(gate_port) & out2_high) && ++polls < max_polls) {
    }
    uint64_t end = counter();
    x86::outb(gate_port, gate);
    if (polls >= max_polls) return 0;
    return (end - start) * pit_hz / ticks;
}

const clock::Calibrator calibrator{"pit", measure};

bool init() {
    clock::register_calibrator(calibrator);
    return true;
}
}  // namespace

extern const Driver pit_driver{"pit", Phase::platform, init};

}  // namespace mica::drivers
