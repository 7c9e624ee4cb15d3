// The ARM generic timer: its virtual counter is the cycle counter (frequency in CNTFRQ_EL0,
// nothing to calibrate) and its virtual timer the one-shot interrupt timer.
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>

namespace mica::arch {
namespace {
uint64_t frequency = 0;  // set once by clock_init
// The virtual timer's PPI: the device tree's /timer interrupts, third entry; 27 on every
// known machine, used when the tree does not say.
constexpr unsigned default_virtual_timer_irq = 27;
constexpr unsigned ppi_base = 16;
constexpr uint64_t cntv_ctl_enable = 1;
unsigned virtual_timer_irq = default_virtual_timer_irq;
}  // namespace

unsigned timer_irq() { return virtual_timer_irq; }
const char* timer_name() { return "arm generic timer (virtual)"; }
unsigned reschedule_irq() { return 1; }  // SGI 1
unsigned stop_irq() { return 2; }        // SGI 2
unsigned tlb_shootdown_irq() { return 3; }  // SGI 3 (unused: TLBI ...IS broadcasts)
const bool tlb_shootdown_needed = false;

void timer_arm(uint64_t ns) {
    uint64_t ticks = frequency / 1000000000 * ns + frequency % 1000000000 * ns / 1000000000;
    MICA_WRITE_SYSREG(cntv_cval_el0, cycles() + ticks);
    MICA_WRITE_SYSREG(cntv_ctl_el0, cntv_ctl_enable);
    aarch64::isb();
}

void timer_disarm() {
    MICA_WRITE_SYSREG(cntv_ctl_el0, 0);
    aarch64::isb();
}

uint64_t cycles() {
    aarch64::isb();  // keep the read from being hoisted above earlier instructions
    return MICA_READ_SYSREG(cntvct_el0);
}

void clock_init_cpu() { timer_disarm(); }  // the virtual timer is per CPU; CNTFRQ is global

void clock_init() {
    frequency = MICA_READ_SYSREG(cntfrq_el0);
    if (const fdt::Tree* tree = drivers::device_tree()) {
        fdt::Node timer = tree->find_compatible("arm,armv8-timer");
        fdt::Property irqs = tree->property(timer, "interrupts");
        if (irqs.length >= 9 * 4) virtual_timer_irq = ppi_base + irqs.u32(2 * 3 + 1);
    }
}
uint64_t cycles_per_second() { return frequency; }
const char* clock_source() { return "arm generic timer"; }

}  // namespace mica::arch
