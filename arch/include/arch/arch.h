// The interface every architecture provides to the rest of the kernel. Code above arch/
// includes only this header (and arch-neutral ones), never an architecture's own headers.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica {
struct BootInfo;
}

namespace mica::arch {

// Early CPU set-up that must precede everything else (descriptor tables, exception vectors).
void cpu_init();

// Final kernel page tables: RAM identity-mapped, page 0 left unmapped so null pointers fault.
// Page-table pages come from mm::early_alloc.
void paging_init(const BootInfo& boot);

// Monotonic cycle counter and its frequency (valid after clock_init()).
uint64_t cycles();
void clock_init();
uint64_t cycles_per_second();
// How the frequency was found ("cpuid 0x15", "pit calibration", ...), for the boot log.
const char* clock_source();

// Interrupts on this CPU (taken through mica::irq::dispatch()).
void interrupts_enable();
void interrupts_disable();
// Sleeps until an interrupt arrives (returns with interrupts in their previous state).
void wait_for_interrupt();

// One-shot timer interrupt: the interrupt number the timer raises (irq::spurious where the
// architecture has no interrupt timer yet), arming it `ns` from now, and disarming it.
unsigned timer_irq();
void timer_arm(uint64_t ns);
void timer_disarm();

// Stops this CPU for good with interrupts off.
[[noreturn]] void halt();

// Human-readable CPU model (e.g. the CPUID brand string).
const char* cpu_model();

// Deliberately faults, for the boot tests (CONFIG_TEST_OPTIONS). Every architecture has
// "null" (store to address 0) and "ud" (undefined instruction); fault_kinds lists all of its
// kinds, nullptr-terminated. Returns false if `kind` is not one of them.
extern const char* const fault_kinds[];
bool trigger_fault(const char* kind);

}  // namespace mica::arch
