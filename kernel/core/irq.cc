#include <arch/arch.h>
#include <mica/console.h>
#include <mica/irq.h>
#include <mica/sched/spinlock.h>
#include <mica/trace/trace.h>
#include <new>
#include <stdlib.h>

namespace mica::irq {
namespace {
constexpr int errno_nomem = 12, errno_busy = 16, errno_nodev = 19, errno_inval = 22, errno_nospc = 28,
              errno_notsup = 95;

// A device handler; several may share one interrupt number (a shared line).
struct Action {
    Handler handler;
    void* context;
    Action* next;
};

struct Slot {
    Handler handler;   // the fixed interrupt's (timer, IPIs), installed by attach()
    void* context;
    Action* actions;   // device handlers, walked without a lock (see detach)
};

// A platform line in use: the interrupt number it raises and how it is programmed.
struct LineState {
    unsigned irq;
    LineConfig config;
    unsigned users;
};
constexpr unsigned max_lines = 1024;

// Owned here: the controllers (registered once at boot), the handler table (changed under
// `table_lock`, read by dispatch without it), the lines in use and the free dynamic
// numbers (under `table_lock`), and per-number counts of running handlers (detach waits
// for them to drain).
const Controller* active = nullptr;
const LineController* lines_controller = nullptr;
const MsiController* msi_controller = nullptr;
Slot slots[max_irqs];
LineState lines[max_lines];
bool dynamic_taken[max_irqs];
unsigned dynamic_first = 0, dynamic_last = 0;  // empty range: last < first or both 0
unsigned running[max_irqs];
sched::Spinlock table_lock;
unsigned long unhandled = 0;
void (*exit_hook)() = nullptr;

unsigned allocate_dynamic() {
    if (dynamic_last == 0) return spurious;
    for (unsigned i = dynamic_first; i <= dynamic_last && i < max_irqs; ++i) {
        if (!dynamic_taken[i] && !slots[i].handler && !slots[i].actions) {
            dynamic_taken[i] = true;
            return i;
        }
    }
    return spurious;
}

bool is_dynamic(unsigned irq) { return dynamic_last && irq >= dynamic_first && irq <= dynamic_last; }

Action* new_action(Handler handler, void* context) {
    void* p = malloc(sizeof(Action));
    return p ? new (p) Action{handler, context, nullptr} : nullptr;
}

// Appends under table_lock; the release store publishes a fully built action.
void link_action(unsigned irq, Action* a) {
    Action** tail = &slots[irq].actions;
    while (*tail) tail = &(*tail)->next;
    __atomic_store_n(tail, a, __ATOMIC_RELEASE);
}
}  // namespace

void register_controller(const Controller& c) { active = &c; }
const Controller* controller() { return active; }
void register_line_controller(const LineController& c) { lines_controller = &c; }
const LineController* line_controller() { return lines_controller; }
void register_msi_controller(const MsiController& c) { msi_controller = &c; }
bool msi_available() { return msi_controller != nullptr; }

void set_dynamic_range(unsigned first, unsigned last) {
    dynamic_first = first;
    dynamic_last = last;
}

bool attach(unsigned irq, Handler handler, void* context) {
    if (!active || irq >= max_irqs || !handler) return false;
    slots[irq].context = context;
    __atomic_store_n(&slots[irq].handler, handler, __ATOMIC_RELEASE);
    active->enable(irq);
    return true;
}

int attach_line(unsigned line, LineConfig config, Handler handler, void* context, Binding& out) {
    if (!lines_controller) return -errno_nodev;
    if (line >= max_lines || !handler) return -errno_inval;
    Action* a = new_action(handler, context);
    if (!a) return -errno_nomem;
    bool first_user;
    unsigned irq;
    {
        sched::SpinGuard guard(table_lock);
        LineState& state = lines[line];
        first_user = state.users == 0;
        if (!first_user && !(state.config == config)) {
            free(a);
            return -errno_busy;
        }
        if (first_user) {
            irq = lines_controller->fixed_irq(line);
            if (irq == spurious) irq = allocate_dynamic();
            if (irq == spurious || irq >= max_irqs) {
                free(a);
                return -errno_nospc;
            }
            if (int e = lines_controller->connect(line, config, irq)) {
                if (is_dynamic(irq)) dynamic_taken[irq] = false;
                free(a);
                return e;
            }
            state = LineState{irq, config, 0};
        }
        irq = state.irq;
        ++state.users;
        link_action(irq, a);
    }
    if (first_user) {
        if (active) active->enable(irq);
        lines_controller->set_masked(line, false);
    }
    out = Binding{irq, line, a};
    return 0;
}

int attach_msi(Handler handler, void* context, Binding& out, MsiMessage& message) {
    if (!msi_controller) return -errno_notsup;
    if (!handler) return -errno_inval;
    Action* a = new_action(handler, context);
    if (!a) return -errno_nomem;
    unsigned irq;
    {
        sched::SpinGuard guard(table_lock);
        irq = allocate_dynamic();
        if (irq == spurious) {
            free(a);
            return -errno_nospc;
        }
        if (!msi_controller->compose(irq, message)) {
            dynamic_taken[irq] = false;
            free(a);
            return -errno_inval;
        }
        link_action(irq, a);
    }
    if (active) active->enable(irq);
    out = Binding{irq, spurious, a};
    return 0;
}

void set_line_masked(const Binding& b, bool masked) {
    if (b.attached() && b.line != spurious && lines_controller) lines_controller->set_masked(b.line, masked);
}

void detach(Binding& b) {
    if (!b.attached()) return;
    auto* a = static_cast<Action*>(b.action);
    {
        sched::SpinGuard guard(table_lock);
        for (Action** p = &slots[b.irq].actions; *p; p = &(*p)->next) {
            if (*p == a) {
                __atomic_store_n(p, a->next, __ATOMIC_SEQ_CST);
                break;
            }
        }
        bool last = !slots[b.irq].actions;
        if (b.line != spurious) {
            LineState& state = lines[b.line];
            if (--state.users == 0) {
                lines_controller->set_masked(b.line, true);
                state = LineState{};
            } else {
                last = false;
            }
        }
        if (last && is_dynamic(b.irq)) dynamic_taken[b.irq] = false;
    }
    // A CPU inside dispatch may still be walking past the unlinked action: wait for every
    // dispatch of this number to finish before freeing it.
    while (__atomic_load_n(&running[b.irq], __ATOMIC_SEQ_CST)) arch::cpu_relax();
    free(a);
    b = Binding{};
}

void set_exit_hook(void (*hook)()) { exit_hook = hook; }

namespace {
constexpr unsigned max_interrupt_cpus = 64;
// Per CPU, written by that CPU with interrupts off: what its interrupt in progress stopped.
Interrupted interrupted_at[max_interrupt_cpus];
}  // namespace

Interrupted interrupted() {
    unsigned cpu = arch::cpu_index();
    return cpu < max_interrupt_cpus ? interrupted_at[cpu] : Interrupted{};
}

void dispatch(unsigned hint, uintptr_t pc, uintptr_t frame) {
    if (!active) return;
    unsigned irq = active->acknowledge(hint);
    if (irq == spurious) return;
    if (unsigned cpu = arch::cpu_index(); cpu < max_interrupt_cpus) interrupted_at[cpu] = Interrupted{pc, frame};
    TRACE(irq_entry, irq);
    bool handled = false;
    if (irq < max_irqs) {
        __atomic_fetch_add(&running[irq], 1, __ATOMIC_SEQ_CST);  // before reading the list: pairs with detach
        if (Handler h = __atomic_load_n(&slots[irq].handler, __ATOMIC_ACQUIRE)) {
            h(irq, slots[irq].context);
            handled = true;
        }
        for (Action* a = __atomic_load_n(&slots[irq].actions, __ATOMIC_ACQUIRE); a;
             a = __atomic_load_n(&a->next, __ATOMIC_ACQUIRE)) {
            a->handler(irq, a->context);
            handled = true;
        }
        __atomic_fetch_sub(&running[irq], 1, __ATOMIC_RELEASE);
    }
    if (!handled && ++unhandled == 1) kprintf("mica: warning: unhandled interrupt %u\n", irq);
    active->end(irq);
    TRACE(irq_exit, irq);
    if (exit_hook) exit_hook();
}


namespace {
constexpr unsigned max_cpus = 64;
uint64_t hw_ids[max_cpus];  // written once per CPU before it starts
}  // namespace

void set_cpu_hw_id(unsigned index, uint64_t hw_id) {
    if (index < max_cpus) hw_ids[index] = hw_id;
}

uint64_t cpu_hw_id(unsigned index) { return index < max_cpus ? hw_ids[index] : 0; }

void send_ipi(unsigned index, unsigned irq) {
    if (active && active->send_ipi && index < max_cpus) {
        TRACE(irq_ipi_send, index, irq);
        active->send_ipi(hw_ids[index], irq);
    }
}

}  // namespace mica::irq
