// Threads and the scheduler on one CPU. Interrupts off is the lock: every function that
// touches the run queue, the sleep list or a wait queue holds an IrqGuard.
#include <arch/arch.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/irq.h>
#include <mica/mm/memory.h>
#include <mica/panic.h>
#include <mica/sched/sched.h>

namespace mica::sched {
namespace {

constexpr size_t exception_stack_size = 16 * 1024;
constexpr size_t idle_stack_size = 16 * 1024;

// Owned here: the CPU's scheduling state (one CPU until SMP).
struct Cpu {
    RunQueue run_queue;
    Thread* current = nullptr;
    Thread* idle = nullptr;
    List<Thread, &Thread::timer_link> sleepers;  // sorted by wake_at
    Thread* zombie = nullptr;  // a detached thread that exited; freed once switched away from
    uint64_t switches = 0;
    bool need_resched = false;
} cpu;
Thread boot_thread;
uint64_t next_id = 1;
size_t live = 0;
bool ready = false;

Thread* as_thread(Schedulable* s) { return static_cast<Thread*>(s); }

uint64_t ns_to_cycles(uint64_t ns) {
    uint64_t hz = arch::cycles_per_second();
    return hz / 1000000000 * ns + hz % 1000000000 * ns / 1000000000;
}
uint64_t cycles_to_ns(uint64_t c) {
    uint64_t hz = arch::cycles_per_second();
    return c / hz * 1000000000 + c % hz * 1000000000 / hz;
}

void free_thread(Thread* t) {
    if (t->stack) mm::pages().free(reinterpret_cast<void*>(t->stack), t->stack_order);
    if (t->exception_stack) {
        mm::pages().free(reinterpret_cast<void*>(t->exception_stack), mm::order_for_bytes(exception_stack_size));
    }
    delete t->join_waiters;
    delete t;
    --live;
}

uintptr_t exception_stack_top(const Thread* t) {
    return t->exception_stack ? t->exception_stack + exception_stack_size : arch::boot_exception_stack_top();
}

// Programs the one-shot timer for the next event: the first sleeper, or (preemptive
// kernels) the end of the current slice when another thread of its priority waits. No event,
// no interrupt: an idle CPU sleeps until something wakes it (tickless).
void program_timer() {
    uint64_t now = arch::cycles();
    uint64_t deadline = ~uint64_t{0};
    if (Thread* first = cpu.sleepers.front()) deadline = first->wake_at;
    if (CONFIG_PREEMPT && cpu.current != cpu.idle && cpu.run_queue.highest_priority() >= cpu.current->priority) {
        uint64_t slice_end = cpu.current->slice_start + ns_to_cycles(time_slice_ns);
        if (slice_end < deadline) deadline = slice_end;
    }
    if (deadline == ~uint64_t{0}) {
        arch::timer_disarm();
    } else {
        arch::timer_arm(deadline > now ? cycles_to_ns(deadline - now) : 0);
    }
}

// Runs the next thread. The caller has put the current one where it belongs (run queue,
// a wait queue, the sleep list, or nowhere when it died). Interrupts are off.
void switch_away() {
    Thread* prev = cpu.current;
    Thread* next = as_thread(cpu.run_queue.pop_highest());
    if (!next) next = cpu.idle;
    cpu.need_resched = false;
    if (next == prev) {
        prev->state = Thread::State::running;
        program_timer();
        return;
    }
    next->state = Thread::State::running;
    next->slice_start = arch::cycles();
    ++next->switches;
    ++cpu.switches;
    cpu.current = next;
    program_timer();
    arch::switch_context(&prev->saved_sp, next->saved_sp, exception_stack_top(next));
    // Back in `prev`, switched to by someone else.
    if (cpu.zombie && cpu.zombie != cpu.current) {
        free_thread(cpu.zombie);
        cpu.zombie = nullptr;
    }
}

void make_ready(Thread* t) {
    t->state = Thread::State::ready;
    cpu.run_queue.enqueue(*t);
    // A more important thread woke: preempt as soon as interrupts allow (the timer fires at
    // once and the interrupt exit hook switches).
    if (CONFIG_PREEMPT && cpu.current && t->priority > cpu.current->priority) {
        cpu.need_resched = true;
        arch::timer_arm(0);
    }
}

void wake_sleepers() {
    uint64_t now = arch::cycles();
    while (Thread* t = cpu.sleepers.front()) {
        if (t->wake_at > now) break;
        cpu.sleepers.remove(*t);
        if (t->waiting_on) {  // a wait with a timeout that expired
            t->timed_out = true;
            List<Schedulable, &Schedulable::run_link>::remove(*t);
            t->waiting_on = nullptr;
        }
        make_ready(t);
    }
}

// Interrupt exit: switch if the timer handler (or a wake-up) asked for it.
void interrupt_exit() {
    if (!ready) return;
    Thread* cur = cpu.current;
    bool preempt = cpu.need_resched ||
                   (CONFIG_PREEMPT && cur != cpu.idle &&
                    cpu.run_queue.should_preempt(*cur, cycles_to_ns(arch::cycles() - cur->slice_start), time_slice_ns));
    if (cur == cpu.idle && !cpu.run_queue.empty()) preempt = true;
    if (!preempt || (!CONFIG_PREEMPT && cur != cpu.idle)) {
        program_timer();
        return;
    }
    if (cur != cpu.idle) {
        cur->state = Thread::State::ready;
        cpu.run_queue.enqueue(*cur);
    }
    switch_away();
}

void timer_handler(unsigned, void*) {
    arch::timer_disarm();
    wake_sleepers();
}

void idle_loop(void*) {
    arch::interrupts_disable();
    for (;;) {
        if (!cpu.run_queue.empty()) {
            switch_away();
            continue;
        }
        arch::wait_for_interrupt();
    }
}

[[noreturn]] void thread_start() {
    // First run of a thread: we arrive from switch_away() with interrupts off.
    if (cpu.zombie && cpu.zombie != cpu.current) {
        free_thread(cpu.zombie);
        cpu.zombie = nullptr;
    }
    Thread* self = cpu.current;
    arch::interrupts_enable();
    self->entry(self->arg);
    exit();
}

Thread* allocate(const char* name, void (*entry)(void*), void* arg, int priority, size_t stack_size) {
    auto* t = new Thread;
    t->name = name;
    t->id = next_id++;
    t->priority = priority;
    t->entry = entry;
    t->arg = arg;
    t->join_waiters = new WaitQueue;
    t->stack_order = mm::order_for_bytes(stack_size);
    void* stack = mm::pages().alloc(t->stack_order);
    void* exception_stack = mm::pages().alloc(mm::order_for_bytes(exception_stack_size));
    if (!stack || !exception_stack) {
        if (stack) mm::pages().free(stack, t->stack_order);
        if (exception_stack) mm::pages().free(exception_stack, mm::order_for_bytes(exception_stack_size));
        delete t->join_waiters;
        delete t;
        return nullptr;
    }
    t->stack = reinterpret_cast<uintptr_t>(stack);
    t->exception_stack = reinterpret_cast<uintptr_t>(exception_stack);
    t->saved_sp = arch::prepare_thread_stack(t->stack + (mm::page_size << t->stack_order), thread_start);
    ++live;
    return t;
}

}  // namespace

IrqGuard::IrqGuard() : was_enabled_(arch::interrupts_enabled()) { arch::interrupts_disable(); }
IrqGuard::~IrqGuard() {
    if (was_enabled_) arch::interrupts_enable();
}

void init() {
    boot_thread.name = "boot";
    boot_thread.id = next_id++;
    boot_thread.state = Thread::State::running;
    boot_thread.join_waiters = new WaitQueue;
    boot_thread.slice_start = arch::cycles();
    cpu.current = &boot_thread;
    live = 1;
    cpu.idle = allocate("idle", idle_loop, nullptr, priority_idle, idle_stack_size);
    if (!cpu.idle) panic("sched: no memory for the idle thread");
    --live;  // the idle thread is not counted as a live thread
    if (arch::timer_irq() != irq::spurious) irq::attach(arch::timer_irq(), timer_handler, nullptr);
    irq::set_exit_hook(interrupt_exit);
    ready = true;
    arch::interrupts_enable();
}

bool initialized() { return ready; }

Thread* create(const char* name, void (*entry)(void*), void* arg, int priority, size_t stack_size) {
    if (priority <= priority_idle || priority >= priority_levels) return nullptr;
    IrqGuard guard;
    return allocate(name, entry, arg, priority, stack_size);
}

void start(Thread* t) {
    IrqGuard guard;
    make_ready(t);
}

void join(Thread* t) {
    {
        IrqGuard guard;
        while (t->state != Thread::State::dead) t->join_waiters->wait();
    }
    IrqGuard guard;
    free_thread(t);
}

void detach(Thread* t) {
    IrqGuard guard;
    if (t->state == Thread::State::dead) free_thread(t);
    else t->detached = true;
}

void exit() {
    arch::interrupts_disable();
    Thread* self = cpu.current;
    if (self == &boot_thread) panic("sched: the boot thread cannot exit");
    self->state = Thread::State::dead;
    self->join_waiters->wake_all();
    if (self->detached) {
        if (cpu.zombie) free_thread(cpu.zombie);  // at most one pending: switch_away frees it
        cpu.zombie = self;
    }
    switch_away();
    panic("sched: a dead thread was resumed");
}

Thread* current() { return cpu.current; }

void yield() {
    IrqGuard guard;
    Thread* self = cpu.current;
    self->state = Thread::State::ready;
    cpu.run_queue.enqueue(*self);
    switch_away();
}

void sleep_ns(uint64_t ns) {
    IrqGuard guard;
    Thread* self = cpu.current;
    self->wake_at = arch::cycles() + ns_to_cycles(ns);
    self->state = Thread::State::sleeping;
    cpu.sleepers.insert_sorted(*self, [](const Thread& a, const Thread& b) { return a.wake_at < b.wake_at; });
    switch_away();
}

uint64_t context_switches() { return cpu.switches; }
size_t live_threads() { return live; }

void on_timer_interrupt() { timer_handler(0, nullptr); }

bool WaitQueue::wait(uint64_t timeout_ns) {
    Thread* self = cpu.current;
    self->state = Thread::State::blocked;
    self->waiting_on = this;
    self->timed_out = false;
    waiters_.push_back(*self);
    if (timeout_ns) {
        self->wake_at = arch::cycles() + ns_to_cycles(timeout_ns);
        cpu.sleepers.insert_sorted(*self, [](const Thread& a, const Thread& b) { return a.wake_at < b.wake_at; });
    }
    switch_away();
    return !self->timed_out;
}

void wake_thread(Thread* t) {
    if (t->timer_link.linked()) cpu.sleepers.remove(*t);
    t->waiting_on = nullptr;
    make_ready(t);
}

bool WaitQueue::wake_one() {
    Schedulable* s = waiters_.pop_front();
    if (!s) return false;
    wake_thread(as_thread(s));
    return true;
}

size_t WaitQueue::wake_all() {
    size_t n = 0;
    while (wake_one()) ++n;
    return n;
}

}  // namespace mica::sched
