#include <mica/console.h>
#include <mica/irq.h>

namespace mica::irq {
namespace {
struct Slot {
    Handler handler;
    void* context;
};
// Owned here: the controller and the handler table (one CPU for now; per-CPU counts come
// with SMP).
const Controller* active = nullptr;
Slot slots[max_irqs];
unsigned long unhandled = 0;
void (*exit_hook)() = nullptr;
}  // namespace

void register_controller(const Controller& c) { active = &c; }
const Controller* controller() { return active; }

bool attach(unsigned irq, Handler handler, void* context) {
    if (!active || irq >= max_irqs || !handler) return false;
    slots[irq] = Slot{handler, context};
    active->enable(irq);
    return true;
}

void set_exit_hook(void (*hook)()) { exit_hook = hook; }

void dispatch(unsigned hint) {
    if (!active) return;
    unsigned irq = active->acknowledge(hint);
    if (irq == spurious) return;
    if (irq < max_irqs && slots[irq].handler) {
        slots[irq].handler(irq, slots[irq].context);
    } else if (++unhandled == 1) {
        kprintf("mica: warning: unhandled interrupt %u\n", irq);
    }
    active->end(irq);
    if (exit_hook) exit_hook();
}


namespace {
constexpr unsigned max_cpus = 64;
uint64_t hw_ids[max_cpus];  // written once per CPU before it starts
}  // namespace

void set_cpu_hw_id(unsigned index, uint64_t hw_id) {
    if (index < max_cpus) hw_ids[index] = hw_id;
}

void send_ipi(unsigned index, unsigned irq) {
    if (active && active->send_ipi && index < max_cpus) active->send_ipi(hw_ids[index], irq);
}

}  // namespace mica::irq
