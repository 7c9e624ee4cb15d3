// The ARM generic timer's virtual counter as the cycle counter: its frequency is in
// CNTFRQ_EL0, so nothing needs calibrating.
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>

namespace mica::arch {
namespace {
uint64_t frequency = 0;  // set once by clock_init
}

uint64_t cycles() {
    aarch64::isb();  // keep the read from being hoisted above earlier instructions
    return MICA_READ_SYSREG(cntvct_el0);
}

void clock_init() { frequency = MICA_READ_SYSREG(cntfrq_el0); }
uint64_t cycles_per_second() { return frequency; }
const char* clock_source() { return "arm generic timer"; }

}  // namespace mica::arch
