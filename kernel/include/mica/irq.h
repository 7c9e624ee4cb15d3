// Interrupt dispatch: one interrupt controller driver (GIC on aarch64; the APIC arrives with
// the scheduler on x86_64) acknowledges and ends interrupts; handlers attach by number.
#pragma once

#include <stdint.h>

namespace mica::irq {

inline constexpr unsigned max_irqs = 1024;
inline constexpr unsigned spurious = ~0u;

struct Controller {
    const char* name;
    // The pending interrupt's number, or `spurious`. `hint` is what the CPU reported with
    // the interrupt (the x86 vector), for controllers that cannot be asked.
    unsigned (*acknowledge)(unsigned hint);
    void (*end)(unsigned irq);       // end of interrupt
    void (*enable)(unsigned irq);    // unmask at the controller
    // Sends interrupt `irq` to the CPU with hardware id `cpu` (APIC id, MPIDR affinity).
    void (*send_ipi)(uint64_t cpu, unsigned irq);
    // Sets up the calling CPU's side of the controller (secondary CPUs).
    void (*init_cpu)();
};

using Handler = void (*)(unsigned irq, void* context);

void register_controller(const Controller& controller);
const Controller* controller();
// Attaches a handler and unmasks the line; false without a controller or for a bad number.
bool attach(unsigned irq, Handler handler, void* context);
// Called by the architecture's interrupt entry, with interrupts disabled. After the
// handler and the end of interrupt, the exit hook runs (the scheduler preempts there).
void dispatch(unsigned hint = spurious);
void set_exit_hook(void (*hook)());

// Inter-processor interrupts, addressed by CPU index (the SMP code records each CPU's
// hardware id when it starts it).
void set_cpu_hw_id(unsigned index, uint64_t hw_id);
void send_ipi(unsigned index, unsigned irq);

}  // namespace mica::irq
