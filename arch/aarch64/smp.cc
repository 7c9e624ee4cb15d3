// aarch64 secondary CPUs: started with PSCI CPU_ON at secondary.S, which needs the boot
// CPU's MMU settings; the PSCI call itself is the psci driver's (conduit from the device tree).
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <mica/irq.h>
#include <mica/sched/sched.h>

extern "C" char secondary_entry[];

namespace mica::drivers {
int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context);  // drivers/arm/psci.cc
}

namespace mica::arch {
namespace {
// Read by secondary.S with the MMU off: plain words, offsets fixed there.
struct SecondaryBoot {
    uint64_t stack_top;            // 0
    uint64_t exception_stack_top;  // 8
    uint64_t mair, tcr, ttbr0;     // 16, 24, 32
    uint64_t sctlr;                // 40
    uint64_t index;                // 48
};
}  // namespace
SecondaryBoot boot_args[sched::max_cpus];  // owned here; one per CPU, written before its start

bool start_cpu(unsigned index, uint64_t hw_id, uintptr_t stack_top, uintptr_t exception_stack_top) {
    SecondaryBoot& a = boot_args[index];
    a.stack_top = stack_top;
    a.exception_stack_top = exception_stack_top;
    a.mair = MICA_READ_SYSREG(mair_el1);
    a.tcr = MICA_READ_SYSREG(tcr_el1);
    a.ttbr0 = MICA_READ_SYSREG(ttbr0_el1);
    a.sctlr = MICA_READ_SYSREG(sctlr_el1);
    a.index = index;
    // The new CPU reads these with its caches off: make them visible in memory.
    asm volatile("dsb sy" ::: "memory");
    return drivers::psci_cpu_on(hw_id, reinterpret_cast<uint64_t>(secondary_entry), reinterpret_cast<uint64_t>(&a)) == 0;
}

}  // namespace mica::arch

extern "C" [[noreturn]] void aarch64_secondary_start(unsigned index) {
    mica::arch::app_cpu_init();
    if (const mica::irq::Controller* c = mica::irq::controller(); c && c->init_cpu) c->init_cpu();
    mica::arch::clock_init_cpu();
    mica::sched::secondary_cpu_main(index, mica::arch::boot_args[index].exception_stack_top);
}
