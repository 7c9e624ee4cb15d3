// Threads and the per-CPU schedulers. See sched.h for the locking rules. A CPU switching
// threads holds its lock across the switch; the thread that runs next releases it
// (finish_switch), and only then may another CPU resume the thread that was switched out
// (Thread::on_cpu), so a thread's registers are never live on two CPUs.
#include <arch/arch.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/irq.h>
#include <mica/mm/exhaustion.h>
#include <mica/mm/vm.h>
#include <mica/mm/memory.h>
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <mica/sched/stacks.h>
#include <mica/trace/trace.h>

namespace mica::sched {
namespace {

constexpr size_t idle_stack_size = 16 * 1024;

struct Cpu {
    Spinlock lock;
    RunQueue run_queue;
    Thread* current = nullptr;
    Thread* idle = nullptr;
    List<Thread, &Thread::timer_link> sleepers;  // sorted by wake_at
    List<Timer, &Timer::link> timers;            // pending kernel timers, sorted by fire_at
    Thread* prev = nullptr;                      // switched away from; finish_switch settles it
    uint64_t switches = 0;
    bool need_resched = false;
    bool online = false;
    bool kicked = false;  // a reschedule IPI is on its way: don't send another
    uint64_t barrier_seen = 0;  // atomic: the last synchronize_cpus generation it answered
};

// An idle CPU watches its queue this long before halting: work arriving meanwhile starts
// without waiting for a halted vCPU to wake (tens of microseconds under TCG). Wakers still
// send the IPI: skipping it for a polling CPU was tried and lost a wake-up (see
// docs/performance.md); the redundant interrupt is cheap next to that.
constexpr uint64_t idle_poll_ns = 50000;

// Owned here. cpus[i] belongs to CPU i; other CPUs touch it only under its lock.
Cpu cpus[max_cpus];
Thread boot_thread;
uint64_t next_id = 1;     // atomic
size_t live = 0;          // atomic
unsigned online_count = 0;
bool ready = false;
uint64_t barrier_generation = 0;  // atomic: synchronize_cpus calls so far
// Every thread from its creation until it is freed (for_each_thread, and debuggers, which
// find blocked threads nowhere else: tools/gdb/mica.py reads `all_threads`). Owned here;
// all_threads_lock guards it and is a leaf lock (taken with no other lock needed inside).
List<Thread, &Thread::all_link> all_threads;
Spinlock all_threads_lock;

void register_thread(Thread& t) {
    SpinGuard guard(all_threads_lock);
    all_threads.push_back(t);
}
void unregister_thread(Thread& t) {
    SpinGuard guard(all_threads_lock);
    all_threads.remove(t);
}

Cpu& this_cpu() { return cpus[arch::cpu_index()]; }
unsigned index_of(const Cpu& c) { return static_cast<unsigned>(&c - cpus); }

// Saturating: an application's timeout of centuries must sleep for ever, not wrap around to
// a deadline in the past.
uint64_t ns_to_cycles(uint64_t ns) {
    constexpr uint64_t ns_per_s = 1000000000;
    uint64_t hz = arch::cycles_per_second(), whole, part, sum;
    // hz = q * 10^9 + r: ns * hz / 10^9 = q * ns + (ns / 10^9) * r + (ns % 10^9) * r / 10^9
    uint64_t q = hz / ns_per_s, r = hz % ns_per_s;
    if (__builtin_mul_overflow(q, ns, &whole) || __builtin_mul_overflow(ns / ns_per_s, r, &part) ||
        __builtin_add_overflow(whole, part, &sum) || __builtin_add_overflow(sum, ns % ns_per_s * r / ns_per_s, &sum)) {
        return UINT64_MAX;
    }
    return sum;
}
uint64_t deadline_after(uint64_t ns) {
    uint64_t at;
    return __builtin_add_overflow(arch::cycles(), ns_to_cycles(ns), &at) ? UINT64_MAX : at;
}
uint64_t cycles_to_ns(uint64_t c) {
    uint64_t hz = arch::cycles_per_second(), ns;
    if (__builtin_mul_overflow(c / hz, uint64_t{1000000000}, &ns) ||
        __builtin_add_overflow(ns, c % hz * 1000000000 / hz, &ns)) {
        return UINT64_MAX;
    }
    return ns;
}
// The first cycle-counter value at or after monotonic time `ns` (rounded up, so a timer
// never fires early), saturating far in the future.
uint64_t ns_deadline_to_cycles(uint64_t ns) {
    unsigned __int128 c = (static_cast<unsigned __int128>(ns) * arch::cycles_per_second() + 999999999) / 1000000000;
    return c >= ~uint64_t{0} ? ~uint64_t{0} - 1 : static_cast<uint64_t>(c);
}
bool by_fire_time(const Timer& a, const Timer& b) { return a.fire_at < b.fire_at; }

bool by_wake_time(const Thread& a, const Thread& b) { return a.wake_at < b.wake_at; }

void kick_idle_cpu(const Cpu& busy);

// Thread::reap_marks: detach() has run; the dead thread's last switch away has begun.
constexpr uint8_t reap_detached = 1, reap_switched_out = 2;

void free_thread(Thread* t) {
    // Its last switch away must be complete before its stack goes.
    while (__atomic_load_n(&t->on_cpu, __ATOMIC_ACQUIRE)) arch::cpu_relax();
    unregister_thread(*t);
    if (t->stack_slot >= 0) release_stack_slot(static_cast<unsigned>(t->stack_slot));
    delete t->join_waiters;
    delete t;
    __atomic_fetch_sub(&live, 1, __ATOMIC_RELAXED);
}

// Programs this CPU's one-shot timer for its next event: the first sleeper, or (preemptive
// kernels) the end of the current slice when another thread of its priority waits. No
// event, no interrupt (tickless). Called with the CPU's lock held.
void program_timer(Cpu& c) {
    uint64_t now = arch::cycles();
    uint64_t deadline = ~uint64_t{0};
    if (Thread* first = c.sleepers.front()) deadline = first->wake_at;
    if (Timer* first = c.timers.front(); first && first->fire_at < deadline) deadline = first->fire_at;
    if (CONFIG_PREEMPT && c.current != c.idle && c.run_queue.highest_priority() >= c.current->priority) {
        uint64_t slice_end = c.current->slice_start + ns_to_cycles(time_slice_ns);
        if (slice_end < deadline) deadline = slice_end;
    }
    if (deadline == ~uint64_t{0}) arch::timer_disarm();
    else arch::timer_arm(deadline > now ? cycles_to_ns(deadline - now) : 0);
}

// Takes a runnable thread from the busiest other CPU (work stealing), or nullptr. Only
// try-locks: this CPU's lock is held, and two CPUs stealing from each other must not wait.
Thread* steal(Cpu& thief) {
    Cpu* victim = nullptr;
    size_t most = 0;
    for (unsigned i = 0; i < max_cpus; ++i) {
        if (&cpus[i] == &thief || !cpus[i].online) continue;
        size_t n = cpus[i].run_queue.size();  // racy read: only a hint
        if (n > most) {
            most = n;
            victim = &cpus[i];
        }
    }
    if (!victim || !victim->lock.try_lock()) return nullptr;
    auto* t = static_cast<Thread*>(victim->run_queue.pop_highest());
    if (t && t->pinned_cpu >= 0) {  // pinned there: leave it (keeping its turn)
        victim->run_queue.enqueue_front(*t);
        t = nullptr;
    }
    victim->lock.unlock();
    if (t) TRACE(sched_migrate, trace::thread_id(t), index_of(*victim), index_of(thief));
    return t;
}

// Switches to the best runnable thread. Called with c.lock held and interrupts off; the
// current thread has already been put where it belongs (still `running` means it stays
// runnable). Returns, in the current thread, with the lock released.
void schedule(Cpu& c);

void finish_switch() {
    Cpu& c = this_cpu();
    Thread* prev = c.prev;
    c.prev = nullptr;
    // Before on_cpu goes false: a joiner (or detach) frees the thread only after that.
    bool reap = prev && prev->state == Thread::State::dead &&
                (__atomic_fetch_or(&prev->reap_marks, reap_switched_out, __ATOMIC_ACQ_REL) & reap_detached);
    int migrate = prev ? prev->migrate_to : -1;
    if (migrate >= 0) {
        TRACE(sched_migrate, trace::thread_id(prev), prev->cpu, migrate);
        prev->migrate_to = -1;
        prev->cpu = static_cast<unsigned>(migrate);
    }
    if (prev) __atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
    c.lock.unlock();
    if (reap) free_thread(prev);
    // A thread moving to another CPU (set_affinity) is queued there once it is off this one.
    if (migrate >= 0) wake_thread(prev);
}

// sched.switch (prev_state: 0 preempted, 1 blocked, 2 sleeping, 3 exited), and idle.
inline void trace_switch(Cpu& c, Thread* prev, Thread* next) {
    uint64_t state = prev->state == Thread::State::blocked    ? 1
                     : prev->state == Thread::State::sleeping ? 2
                     : prev->state == Thread::State::dead     ? 3
                                                              : 0;
    if (prev == c.idle) TRACE(sched_idle_exit);
    TRACE(sched_switch, trace::thread_id(prev), state, trace::thread_id(next));
    if (next == c.idle) TRACE(sched_idle_enter);
}

void schedule(Cpu& c) {
    Thread* prev = c.current;
    if (prev->state == Thread::State::running && prev != c.idle) {
        prev->state = Thread::State::ready;
        c.run_queue.enqueue(*prev);
    }
    __atomic_store_n(&c.kicked, false, __ATOMIC_RELEASE);
    auto* next = static_cast<Thread*>(c.run_queue.pop_highest());
    if (!next) next = steal(c);
    if (!next) next = c.idle;
    c.need_resched = false;
    if (next == prev) {
        prev->state = Thread::State::running;
        program_timer(c);
        c.lock.unlock();
        return;
    }
    next->state = Thread::State::running;
    next->cpu = index_of(c);
    uint64_t now = arch::cycles();
    if (prev != c.idle) __atomic_store_n(&prev->run_cycles, prev->run_cycles + (now - prev->slice_start), __ATOMIC_RELAXED);
    __atomic_store_n(&next->slice_start, now, __ATOMIC_RELAXED);
    ++next->switches;
    ++c.switches;
    trace_switch(c, prev, next);
    c.current = next;
    c.prev = prev;
    while (__atomic_load_n(&next->on_cpu, __ATOMIC_ACQUIRE)) arch::cpu_relax();
    next->on_cpu = true;
    if (next == c.idle) mm::vm::cpu_enters_idle(index_of(c));
    else if (prev == c.idle) mm::vm::cpu_leaves_idle(index_of(c));
    // Application threads' FPU/SIMD and TLS registers go with them; the kernel never
    // touches those registers, so switching to or from a kernel thread leaves them alone.
    if (prev->app_state && prev->state != Thread::State::dead) arch::app_state_save(prev->app_state);
    if (next->app_state) arch::app_state_load(next->app_state);
    if (next->kernel_stack_top) arch::set_syscall_stack(next->kernel_stack_top);
    // A thread of another process brings its address space; kernel threads keep the
    // CPU's (lazy, as Linux's active_mm).
    if (CONFIG_PROCESSES && next->space) mm::vm::switch_space(next->space);
    program_timer(c);
    arch::switch_context(&prev->saved_sp, next->saved_sp, next->exception_top);
    finish_switch();
}

void reschedule_cpu(Cpu& target) {
    if (&target == &this_cpu()) {
        target.need_resched = true;
        arch::timer_arm(0);  // preempt as soon as interrupts allow: the exit hook switches
    } else {
        irq::send_ipi(index_of(target), arch::reschedule_irq());
    }
}

// After `t` was queued on `c` (c's lock held): `c` must notice. Idle, or running a thread
// of lower priority, it reschedules at once. Running one of the same priority, it arms the
// end of that one's slice: tickless, with nothing else to run it had none, and a thread no
// idle CPU can steal (a pinned one) would wait until the running one blocks, which a long
// system call may not do for seconds (the syscall fuzzer found a sched_setaffinity waiting
// out a 2 GiB sendfile).
void notice_queued(Cpu& c, const Thread& t) {
    if (c.current == c.idle || (CONFIG_PREEMPT && t.priority > c.current->priority)) {
        reschedule_cpu(c);
    } else if (CONFIG_PREEMPT && t.priority == c.current->priority) {
        if (&c == &this_cpu()) program_timer(c);
        else irq::send_ipi(index_of(c), arch::reschedule_irq());
    }
}

// Interrupt exit: switch if the timer handler or a wake-up asked for it.
void interrupt_exit() {
    if (!ready) return;
    Cpu& c = this_cpu();
    c.lock.lock();
    Thread* cur = c.current;
    bool idle_with_work = cur == c.idle && !c.run_queue.empty();
    bool preempt = CONFIG_PREEMPT && cur != c.idle &&
                   (c.need_resched || c.run_queue.should_preempt(*cur, cycles_to_ns(arch::cycles() - cur->slice_start),
                                                                 time_slice_ns));
    if (!idle_with_work && !preempt) {
        c.need_resched = false;
        program_timer(c);
        c.lock.unlock();
        return;
    }
    // Time slicing means this CPU has more work than it can run at once: share it.
    if (preempt && !c.run_queue.empty()) kick_idle_cpu(c);
    schedule(c);
}

void timer_handler(unsigned, void*) {
    arch::timer_disarm();
    Cpu& c = this_cpu();
    {
        SpinGuard guard(c.lock);
        uint64_t now = arch::cycles();
        bool waiting = false;  // woke a thread that cannot run here at once
        while (Thread* t = c.sleepers.front()) {
            if (t->wake_at > now) break;
            c.sleepers.remove(*t);
            // A sleeper, or a waiter whose timeout expired: it unlinks itself from its wait
            // queue when it runs (WaitQueue::wait).
            if (t->state == Thread::State::sleeping || t->state == Thread::State::blocked) {
                TRACE(sched_wake, trace::thread_id(t), index_of(c));
                t->state = Thread::State::ready;
                c.run_queue.enqueue(*t);
                if (CONFIG_PREEMPT && t->priority > c.current->priority) c.need_resched = true;
                else if (c.current != c.idle) waiting = true;
            }
        }
        // As wake_thread does: an idle CPU may take it rather than let it wait for this
        // CPU's thread (for ever, in a cooperative kernel, while that thread computes).
        if (waiting) kick_idle_cpu(c);
    }
    // Expired kernel timers, one at a time with the CPU's lock released around each
    // callback (it may wake threads or re-arm itself, both of which take it). The exit hook
    // programs the hardware timer for whatever is next.
    for (;;) {
        Timer* t;
        {
            SpinGuard guard(c.lock);
            t = c.timers.front();
            if (!t || t->fire_at > arch::cycles()) break;
            c.timers.remove(*t);
            __atomic_store_n(&t->running, true, __ATOMIC_RELAXED);
        }
        t->callback_(t, t->context_);
        __atomic_store_n(&t->running, false, __ATOMIC_RELEASE);
    }
}

bool has_work(Cpu& c) {
    return c.run_queue.size() != 0 || __atomic_load_n(&c.kicked, __ATOMIC_SEQ_CST);
}

[[noreturn]] void idle_loop() {
    arch::interrupts_disable();
    for (;;) {
        Cpu& c = this_cpu();
        c.lock.lock();
        schedule(c);  // local work, else stolen work, else back here
        uint64_t start = arch::cycles(), poll = ns_to_cycles(idle_poll_ns);
        while (!has_work(c) && arch::cycles() - start < poll) arch::cpu_relax();
        if (!has_work(c)) arch::wait_for_interrupt();
    }
}

void idle_entry(void*) { idle_loop(); }

// Asks an idle CPU other than `busy` that has not been asked yet to look for work (it
// steals from the busiest).
void kick_idle_cpu(const Cpu& busy) {
    for (auto& other : cpus) {
        if (&other == &busy || !__atomic_load_n(&other.online, __ATOMIC_ACQUIRE) || other.current != other.idle) {
            continue;
        }
        if (__atomic_exchange_n(&other.kicked, true, __ATOMIC_ACQ_REL)) continue;
        irq::send_ipi(index_of(other), arch::reschedule_irq());
        return;
    }
}

[[noreturn]] void thread_start() {
    // First run of a thread: we arrive from schedule() with the CPU's lock held.
    finish_switch();
    Thread* self = current();
    arch::interrupts_enable();
    self->entry(self->arg);
    exit();
}

Thread* allocate(const char* name, void (*entry)(void*), void* arg, int priority, size_t stack_size) {
    auto* t = new Thread;
    t->name = name;
    t->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    t->priority = priority;
    t->entry = entry;
    t->arg = arg;
    // The creator's address space (clone's CLONE_VM; kernel threads: the initial space).
    if (Thread* creator = ready ? current() : nullptr) t->space = creator->space;
    t->join_waiters = new WaitQueue;
    StackSlot slot;
    if (stack_size > max_stack_size || !allocate_stack_slot(slot)) {
        delete t->join_waiters;
        delete t;
        return nullptr;
    }
    t->stack_slot = static_cast<int>(slot.index);
    t->exception_top = slot.exception_top;
    t->kernel_stack_top = slot.stack_top;
    t->saved_sp = arch::prepare_thread_stack(slot.stack_top, thread_start);
    __atomic_fetch_add(&live, 1, __ATOMIC_RELAXED);
    register_thread(*t);
    return t;
}

// Brings CPU `c` into scheduling with `running` as its current thread and `idle` as its
// idle thread (on secondary CPUs they are the same: the CPU's boot context idles).
void cpu_online(Cpu& c, Thread* running, Thread* idle) {
    c.current = running;
    running->on_cpu = true;
    running->cpu = index_of(c);
    c.idle = idle;
    idle->cpu = index_of(c);
    if (arch::timer_irq() != irq::spurious) irq::attach(arch::timer_irq(), timer_handler, nullptr);
    // The reschedule IPI's switching is the interrupt exit hook's work; the handler answers
    // synchronize_cpus: a full barrier, then the generation it saw.
    irq::attach(arch::reschedule_irq(), [](unsigned, void*) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        __atomic_store_n(&this_cpu().barrier_seen, __atomic_load_n(&barrier_generation, __ATOMIC_ACQUIRE),
                         __ATOMIC_RELEASE);
    }, nullptr);
    // A panic elsewhere stops this CPU where it is, so the report is the last word.
    irq::attach(arch::stop_irq(), [](unsigned, void*) { arch::halt(); }, nullptr);
    __atomic_store_n(&c.online, true, __ATOMIC_RELEASE);
    __atomic_fetch_add(&online_count, 1, __ATOMIC_RELAXED);
}

}  // namespace

void synchronize_cpus() {
    uint64_t generation = __atomic_add_fetch(&barrier_generation, 1, __ATOMIC_SEQ_CST);
    unsigned me = current_cpu();  // (moving elsewhere later is a switch: a barrier here)
    for (unsigned i = 0; i < max_cpus; ++i) {
        if (i != me && __atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE)) irq::send_ipi(i, arch::reschedule_irq());
    }
    for (unsigned i = 0; i < max_cpus; ++i) {
        if (i == me || !__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE)) continue;
        while (__atomic_load_n(&cpus[i].barrier_seen, __ATOMIC_ACQUIRE) < generation) arch::cpu_relax();
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint64_t current_cpu_cycles() {
    // slice_start and run_cycles change together at a switch: read until no switch came
    // between the reads (a switch on this thread's behalf needs this thread off the CPU).
    Thread* self = current();
    for (;;) {
        uint64_t start = __atomic_load_n(&self->slice_start, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        uint64_t run = __atomic_load_n(&self->run_cycles, __ATOMIC_RELAXED);
        uint64_t now = arch::cycles();
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&self->slice_start, __ATOMIC_RELAXED) == start) return run + (now - start);
    }
}

uint64_t cpu_cycles(const Thread& t) {
    if (&t == current()) return current_cpu_cycles();
    uint64_t run = __atomic_load_n(&t.run_cycles, __ATOMIC_RELAXED);
    if (__atomic_load_n(&t.state, __ATOMIC_RELAXED) != Thread::State::running) return run;
    uint64_t start = __atomic_load_n(&t.slice_start, __ATOMIC_RELAXED), now = arch::cycles();
    return now > start ? run + (now - start) : run;
}

uint64_t cpu_cycles_to_ns(uint64_t cycles) { return cycles_to_ns(cycles); }

IrqGuard::IrqGuard() : was_enabled_(arch::interrupts_enabled()) { arch::interrupts_disable(); }
IrqGuard::~IrqGuard() {
    if (was_enabled_) arch::interrupts_enable();
}

void init() {
    boot_thread.name = "boot";
    boot_thread.id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    boot_thread.state = Thread::State::running;
    boot_thread.join_waiters = new WaitQueue;
    boot_thread.space = mm::vm::initial_space();  // and every thread it creates
    boot_thread.slice_start = arch::cycles();
    boot_thread.exception_top = arch::boot_exception_stack_top();
    live = 1;
    register_thread(boot_thread);
    Thread* idle = allocate("idle", idle_entry, nullptr, priority_idle, idle_stack_size);
    if (!idle) mm::kernel_out_of_memory("the boot CPU's idle thread", idle_stack_size);
    __atomic_fetch_sub(&live, 1, __ATOMIC_RELAXED);  // idle threads are not counted
    irq::set_exit_hook(interrupt_exit);
    cpu_online(cpus[arch::cpu_index()], &boot_thread, idle);
    trace::thread_named(&boot_thread);
    trace::thread_named(idle);
    ready = true;
    arch::interrupts_enable();
}

void secondary_cpu_main(unsigned index, uintptr_t exception_stack_top) {
    // The CPU's boot context becomes its idle thread (it keeps its boot stack).
    static Thread idle_threads[max_cpus];
    Thread* self = &idle_threads[index];
    self->name = "idle";
    self->state = Thread::State::running;
    self->priority = priority_idle;
    self->exception_top = exception_stack_top;
    self->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    register_thread(*self);
    mm::vm::cpu_starts();            // the initial space, as on the boot CPU
    mm::vm::cpu_enters_idle(index);  // before it is online: no shootdown can miss it
    cpu_online(cpus[index], self, self);
    trace::thread_named(self);
    idle_loop();
}

Thread* create(const char* name, void (*entry)(void*), void* arg, int priority, size_t stack_size) {
    if (priority <= priority_idle || priority >= priority_levels) return nullptr;
    return allocate(name, entry, arg, priority, stack_size);
}

bool set_affinity(unsigned cpu, bool only_there) {
    if (cpu >= max_cpus || !__atomic_load_n(&cpus[cpu].online, __ATOMIC_ACQUIRE)) return false;
    IrqGuard irqs;
    Cpu& c = this_cpu();
    Thread* self = c.current;
    self->pinned_cpu = only_there ? static_cast<int>(cpu) : -1;
    if (&c == &cpus[cpu]) return true;
    c.lock.lock();
    // Off this CPU as if blocked; finish_switch (on whatever runs next here) queues it there.
    self->state = Thread::State::blocked;
    self->migrate_to = static_cast<int>(cpu);
    schedule(c);
    return true;
}

bool pin(Thread* t, unsigned cpu) {
    if (cpu >= max_cpus || !__atomic_load_n(&cpus[cpu].online, __ATOMIC_ACQUIRE)) return false;
    t->pinned_cpu = static_cast<int>(cpu);
    t->cpu = cpu;
    return true;
}

void start(Thread* t) {
    trace::thread_named(t);
    IrqGuard irqs;
    if (t->pinned_cpu >= 0) {
        Cpu& target = cpus[t->pinned_cpu];
        target.lock.lock();
        t->state = Thread::State::ready;
        target.run_queue.enqueue(*t);
        notice_queued(target, *t);
        target.lock.unlock();
        return;
    }
    Cpu& c = this_cpu();
    {
        c.lock.lock();
        t->cpu = index_of(c);
        t->state = Thread::State::ready;
        c.run_queue.enqueue(*t);
        notice_queued(c, *t);
        c.lock.unlock();
    }
    if (c.current != c.idle) kick_idle_cpu(c);  // another CPU may take it at once
}

void join(Thread* t) {
    {
        WaitQueue::Guard guard(*t->join_waiters);
        while (t->state != Thread::State::dead) t->join_waiters->wait(guard);
    }
    free_thread(t);
}

void detach(Thread* t) {
    // Frees it here only when its last switch away already happened without seeing the mark
    // (finish_switch frees it otherwise): never both.
    if (__atomic_fetch_or(&t->reap_marks, reap_detached, __ATOMIC_ACQ_REL) & reap_switched_out) free_thread(t);
}

void exit() {
    arch::interrupts_disable();
    Thread* self = current();
    if (self == &boot_thread) panic("sched: the boot thread cannot exit");
    trace::thread_ended(self);
    {
        WaitQueue::Guard guard(*self->join_waiters);
        self->state = Thread::State::dead;
        self->join_waiters->wake_all();
    }
    Cpu& c = this_cpu();
    c.lock.lock();
    schedule(c);
    panic("sched: a dead thread was resumed");
}

Thread* current() {
    IrqGuard irqs;  // no migration between reading the CPU index and its current thread
    return this_cpu().current;
}

Thread* current_irqs_off() { return this_cpu().current; }

unsigned current_cpu() {
    IrqGuard irqs;
    return arch::cpu_index();
}

void yield() {
    IrqGuard irqs;
    Cpu& c = this_cpu();
    c.lock.lock();
    schedule(c);
}

// Under the CPU's lock, which interrupt() takes too: either it sees the thread blocked and
// wakes it, or the thread sees the mark here and does not block.
bool interrupt_stops_wait(const Thread* self) {
    return self->interruptible && __atomic_load_n(&self->interrupt_pending, __ATOMIC_SEQ_CST);
}

void sleep_ns(uint64_t ns) {
    IrqGuard irqs;
    Cpu& c = this_cpu();
    c.lock.lock();
    Thread* self = c.current;
    if (interrupt_stops_wait(self)) {
        c.lock.unlock();
        return;
    }
    self->wake_at = deadline_after(ns);
    self->state = Thread::State::sleeping;
    c.sleepers.insert_sorted(*self, by_wake_time);
    schedule(c);
}

// ---- kernel timers ------------------------------------------------------------------------

void Timer::arm_at(uint64_t deadline_ns) {
    uint64_t at = ns_deadline_to_cycles(deadline_ns);
    IrqGuard irqs;
    // Off the list it is on first (re-arming moves it to this CPU). Only a callback of this
    // timer could move it meanwhile, and it runs on `cpu` with interrupts off: look again.
    while (link.linked()) {
        unsigned owner = __atomic_load_n(&cpu, __ATOMIC_ACQUIRE);
        Cpu& other = cpus[owner];
        other.lock.lock();
        if (link.linked() && cpu == owner) other.timers.remove(*this);
        other.lock.unlock();
    }
    Cpu& c = this_cpu();
    c.lock.lock();
    fire_at = at;
    __atomic_store_n(&cpu, index_of(c), __ATOMIC_RELEASE);
    c.timers.insert_sorted(*this, by_fire_time);
    if (c.timers.front() == this) program_timer(c);
    c.lock.unlock();
}

void Timer::arm_after(uint64_t ns) {
    uint64_t now = cycles_to_ns(arch::cycles()), deadline;
    if (__builtin_add_overflow(now, ns, &deadline)) deadline = ~uint64_t{0};
    arm_at(deadline);
}

bool Timer::cancel() {
    bool was_pending = false;
    for (;;) {
        {
            IrqGuard irqs;
            unsigned owner = __atomic_load_n(&cpu, __ATOMIC_ACQUIRE);
            Cpu& c = cpus[owner];
            c.lock.lock();
            if (link.linked() && cpu == owner) {
                c.timers.remove(*this);
                was_pending = true;
            }
            c.lock.unlock();
        }
        // A callback in progress on another CPU finishes (and may re-arm: look again).
        while (__atomic_load_n(&running, __ATOMIC_ACQUIRE)) arch::cpu_relax();
        if (!link.linked()) return was_pending;
    }
}

uint64_t context_switches() {
    uint64_t n = 0;
    for (auto& c : cpus) n += __atomic_load_n(&c.switches, __ATOMIC_RELAXED);
    return n;
}
void for_each_thread(void (*f)(Thread& thread, void* context), void* context) {
    SpinGuard guard(all_threads_lock);
    all_threads.for_each([&](Thread& t) { f(t, context); });
}

size_t live_threads() { return __atomic_load_n(&live, __ATOMIC_RELAXED); }
unsigned online_cpus() { return __atomic_load_n(&online_count, __ATOMIC_RELAXED); }
bool cpu_online(unsigned index) { return index < max_cpus && __atomic_load_n(&cpus[index].online, __ATOMIC_ACQUIRE); }

void stop_other_cpus() {
    if (!ready) return;
    unsigned me = arch::cpu_index();
    for (unsigned i = 0; i < max_cpus; ++i) {
        if (i != me && __atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE)) irq::send_ipi(i, arch::stop_irq());
    }
}

bool WaitQueue::wait(Guard&, uint64_t timeout_ns) {
    Cpu& c = this_cpu();  // interrupts are off: the Guard holds a SpinGuard
    Thread* self = c.current;
    c.lock.lock();
    if (interrupt_stops_wait(self)) {
        c.lock.unlock();
        return false;
    }
    self->state = Thread::State::blocked;
    waiters_.push_back(*self);
    if (timeout_ns) {
        self->wake_at = deadline_after(timeout_ns);
        c.sleepers.insert_sorted(*self, by_wake_time);
    }
    lock_.unlock();
    schedule(c);
    lock_.lock();
    // Still listed: nobody woke us, the timeout did.
    if (self->wait_link.linked()) {
        waiters_.remove(*self);
        return false;
    }
    return true;
}

namespace {
void wake_locked(Cpu& c, Thread* t) {
    if (t->timer_link.linked()) c.sleepers.remove(*t);
    if (t->state == Thread::State::blocked || t->state == Thread::State::sleeping) {
        TRACE(sched_wake, trace::thread_id(t), index_of(c));
        t->state = Thread::State::ready;
        c.run_queue.enqueue(*t);
        notice_queued(c, *t);
        if (c.current != c.idle) kick_idle_cpu(c);
    }
}
}  // namespace

void wake_thread(Thread* t) {
    Cpu& c = cpus[t->cpu];
    c.lock.lock();
    wake_locked(c, t);
    c.lock.unlock();
}

InterruptibleScope::InterruptibleScope() : was_(current()->interruptible) { current()->interruptible = true; }
InterruptibleScope::~InterruptibleScope() { current()->interruptible = was_; }

void interrupt(Thread* t) {
    __atomic_store_n(&t->interrupt_pending, uint8_t{1}, __ATOMIC_SEQ_CST);
    IrqGuard irqs;
    // The running thread marking itself (a signal to itself, a mask change) is in no wait
    // and on no other CPU: the mark is all it needs.
    if (t == this_cpu().current) return;
    // A blocked thread stays on its CPU; a running one may move, but then it is not waiting
    // (it checks the mark under its new CPU's lock before it blocks).
    for (;;) {
        unsigned cpu = __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE);
        Cpu& c = cpus[cpu];
        c.lock.lock();
        if (t->cpu != cpu) {
            c.lock.unlock();
            continue;
        }
        if (t->interruptible && t->state != Thread::State::running && t->state != Thread::State::ready) {
            wake_locked(c, t);  // a waiter stays listed in its queue and sees it was not woken
        } else if (t->state == Thread::State::running && &c != &this_cpu()) {
            // In application code it reaches a delivery point at its next interrupt: send one.
            irq::send_ipi(cpu, arch::reschedule_irq());
        }
        c.lock.unlock();
        return;
    }
}

bool interrupted() { return __atomic_load_n(&current()->interrupt_pending, __ATOMIC_SEQ_CST); }
void clear_interrupt() { __atomic_store_n(&current()->interrupt_pending, uint8_t{0}, __ATOMIC_SEQ_CST); }

}  // namespace mica::sched
