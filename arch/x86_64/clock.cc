// The TSC as the cycle counter. Its frequency comes, cheapest first, from CPUID leaf 0x15
// (crystal ratio), leaf 0x16 (base MHz), the hypervisor timing leaf 0x40000010, and only
// then from a ~1 ms measurement against a calibration driver (the PIT). Never a long PIT
// loop: that costs Unikraft 100 ms of boot under TCG.
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <mica/clock.h>
#include <mica/console.h>

namespace mica::arch {
namespace {
constexpr uint32_t leaf_tsc_crystal = 0x15, leaf_frequency = 0x16;
constexpr uint32_t leaf_hypervisor = 0x40000000, leaf_hv_timing = 0x40000010;
constexpr uint32_t cpuid1_ecx_hypervisor = 1u << 31;
constexpr uint64_t assumed_hz = 1000000000;  // last resort, reported as such

// Owned here, set once by clock_init on the boot CPU.
uint64_t tsc_hz = 0;
const char* source = "not calibrated";

uint64_t read_counter() { return x86::rdtsc(); }
}  // namespace

uint64_t cycles() { return x86::rdtsc(); }
uint64_t cycles_per_second() { return tsc_hz; }
const char* clock_source() { return source; }

namespace {
void tsc_init();
}

void clock_init() {
    tsc_init();
    lapic_init();
}

namespace {
void tsc_init() {
    uint32_t max_leaf = x86::cpuid(0).eax;
    if (max_leaf >= leaf_tsc_crystal) {
        auto r = x86::cpuid(leaf_tsc_crystal);
        if (r.eax && r.ebx && r.ecx) {
            tsc_hz = uint64_t{r.ecx} * r.ebx / r.eax;
            source = "cpuid 0x15";
            return;
        }
    }
    if (max_leaf >= leaf_frequency) {
        auto r = x86::cpuid(leaf_frequency);
        if (r.eax) {
            tsc_hz = uint64_t{r.eax} * 1000000;
            source = "cpuid 0x16";
            return;
        }
    }
    if (x86::cpuid(1).ecx & cpuid1_ecx_hypervisor && x86::cpuid(leaf_hypervisor).eax >= leaf_hv_timing) {
        uint32_t khz = x86::cpuid(leaf_hv_timing).eax;
        if (khz) {
            tsc_hz = uint64_t{khz} * 1000;
            source = "hypervisor leaf 0x40000010";
            return;
        }
    }
    if (const clock::Calibrator* c = clock::calibrator()) {
        if (uint64_t hz = c->measure(read_counter)) {
            tsc_hz = hz;
            source = c->name;
            return;
        }
    }
    tsc_hz = assumed_hz;
    source = "assumed 1 GHz (no way to calibrate)";
    kprintf("mica: warning: TSC frequency unknown; times assume 1 GHz\n");
}
}  // namespace

}  // namespace mica::arch
