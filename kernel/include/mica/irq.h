// Interrupt dispatch: one interrupt controller driver (GIC on aarch64; the APIC arrives with
// the scheduler on x86_64) acknowledges and ends interrupts; handlers attach by number.
#pragma once

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
unsigned long count(unsigned irq);

}  // namespace mica::irq
