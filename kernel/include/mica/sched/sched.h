// Threads and the scheduler: a run queue per CPU (policy in run_queue.h), threads placed on
// the CPU that wakes or creates them and stolen by CPUs that run out of work. With
// CONFIG_PREEMPT the timer interrupt preempts a thread whose slice is over or when a higher
// priority thread wakes; without it threads switch only when they block, sleep, yield or exit.
//
// Locking: each CPU's lock guards its run queue, sleep list and current thread; each
// WaitQueue's lock guards its waiters. Order: wait queue before CPU; never two CPUs' locks at
// once except in stealing, which only try-locks.
//
// Interrupt context: each thread has its own interrupt stack (x86: the TSS IST entry for
// interrupts is switched with the thread; aarch64: SP_EL1), so the scheduler may switch
// threads from inside an interrupt handler and the interrupted frame stays with its thread.
#pragma once

#include <mica/sched/list.h>
#include <mica/sched/policy.h>
#include <mica/sched/spinlock.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm::vm {
struct Space;
}

namespace mica::sched {

class WaitQueue;

struct Thread : Schedulable {
    enum class State { ready, running, blocked, sleeping, dead };

    const char* name = "";
    uint64_t id = 0;
    State state = State::ready;
    uintptr_t saved_sp = 0;        // while switched out
    int stack_slot = -1;           // its slot in the stack area (stacks.h); -1: boot stacks
    uintptr_t exception_top = 0;   // where interrupts and exceptions land while it runs
    void (*entry)(void*) = nullptr;
    void* arg = nullptr;
    uint64_t slice_start = 0;      // cycle counter when it last started running
    uint64_t run_cycles = 0;       // CPU time: cycles it ran before slice_start (cpu_cycles)
    uint64_t wake_at = 0;          // cycles, while sleeping
    ListNode timer_link;           // in the sleep list
    ListNode all_link;             // in the list of every thread (for_each_thread)
    ListNode wait_link;            // in a WaitQueue (apart from run_link: a timed-out waiter
                                   // is runnable while still listed until it unlinks itself)
    WaitQueue* join_waiters = nullptr;  // created with the thread
    // Who frees a detached thread (atomic, reap_* bits): detach() and the switch away from
    // the dead thread each set their bit, and whichever comes second frees it. (Two flags
    // read separately let both free it when detach() ran as the thread was exiting.)
    uint8_t reap_marks = 0;
    uint64_t switches = 0;         // times switched in (statistics, tests)
    unsigned cpu = 0;              // whose run queue / sleep list it is on, or last ran on
    bool on_cpu = false;           // its registers are still live on a CPU (mid-switch)
    const uint32_t* futex_address = nullptr;  // while waiting in futex_wait
    int pinned_cpu = -1;           // runs only there when >= 0 (never stolen)
    int migrate_to = -1;           // set_affinity: the CPU it is moving to, while it moves
    // Application threads (arch.h "Application threads"): the FPU/TLS block switched with
    // the thread, the kernel stack its system calls run on, the registers of the system
    // call in progress, and the Linux layer's per-thread data. All null for kernel threads.
    void* app_state = nullptr;
    uintptr_t kernel_stack_top = 0;
    void* syscall_frame = nullptr;
    void* app = nullptr;
    // Interruptible waits (see InterruptibleScope): whether the thread's current wait may be
    // cut short, and whether it has been asked to (a signal for an application thread).
    bool interruptible = false;
    uint8_t interrupt_pending = 0;  // atomic: set by interrupt(), cleared by clear_interrupt()
    // A fault on a file page to read in on the way back to the application (mm/file_pager.h):
    // the page's address with flag bits, 0 when none. Only the thread itself touches it.
    uintptr_t pending_file_fault = 0;
    // The address space it runs in (mm/vm.h "Address spaces"), loaded by the scheduler when
    // it differs from the CPU's. A new thread gets its creator's (so kernel threads run in
    // the initial space, and clone's threads in their process's); nullptr for idle threads,
    // which run in whatever space the CPU has loaded (lazily, as Linux's active_mm). Set
    // before the thread starts, or by the thread itself (vm::set_space).
    mm::vm::Space* space = nullptr;
};

inline constexpr unsigned max_cpus = 64;

inline constexpr size_t default_stack_size = 64 * 1024;  // also the largest (stacks.h)
inline constexpr uint64_t time_slice_ns = 4000000;  // 4 ms

// Makes the running boot code the first thread and creates the idle thread.
void init();

// A new thread that will run entry(arg) once started; nullptr when out of memory.
Thread* create(const char* name, void (*entry)(void*), void* arg, int priority = priority_default,
               size_t stack_size = default_stack_size);
void start(Thread* t);
// Restricts a thread that has not started yet to one CPU (false if that CPU is not online).
bool pin(Thread* t, unsigned cpu);
// Moves the calling thread to `cpu` now (returning there) and, when `only_there`, keeps it
// there; false if that CPU is not online.
bool set_affinity(unsigned cpu, bool only_there);
// Waits for `t` to finish and frees it. Each thread is joined at most once (or detached).
void join(Thread* t);
// The thread frees itself when it finishes.
void detach(Thread* t);
[[noreturn]] void exit();

Thread* current();
// The same for callers that already run with interrupts off (the tracer): no guard needed.
Thread* current_irqs_off();
void yield();
void sleep_ns(uint64_t ns);
// Calls f(thread, context) for every thread that exists, idle threads included, in creation
// order (a debugger walks the same list: tools/gdb/mica.py). Runs with interrupts off under
// the list's lock: f must not sleep, block or create or free threads.
void for_each_thread(void (*f)(Thread& thread, void* context), void* context);
// Counts and totals, for tests and benchmarks.
uint64_t context_switches();
size_t live_threads();
unsigned online_cpus();
bool cpu_online(unsigned index);
unsigned current_cpu();
// Halts every other CPU (panic): sends them the stop IPI and does not wait.
void stop_other_cpus();
// Returns once every other online CPU has taken an interrupt since the call began (the
// reschedule IPI), so each has executed a full memory barrier and, returning to what it
// ran, a context-synchronising instruction (membarrier(2)'s expedited commands). Call with
// interrupts on; it spins until every CPU has answered.
void synchronize_cpus();

// CPU time: the cycles the calling thread has run, up to now; and the same for any thread
// (exact for the caller; for a thread running on another CPU at this moment, the cycles of
// its current run are added as of now, which a switch at the same moment can make a slice
// off). cycles_to_ns converts (saturating).
uint64_t current_cpu_cycles();
uint64_t cpu_cycles(const Thread& t);
uint64_t cpu_cycles_to_ns(uint64_t cycles);

// Secondary CPU entry: called by the arch's CPU start-up code on the new CPU's boot stack;
// becomes that CPU's idle thread.
[[noreturn]] void secondary_cpu_main(unsigned index, uintptr_t exception_stack_top);


// Disables interrupts on this CPU for its lifetime, restoring the previous state. It keeps
// the running thread on this CPU; it does not exclude other CPUs (use a Spinlock for that).
class IrqGuard {
public:
    IrqGuard();
    ~IrqGuard();
    IrqGuard(const IrqGuard&) = delete;
    IrqGuard& operator=(const IrqGuard&) = delete;

private:
    bool was_enabled_;
};

// Threads waiting for an event. The waiter checks its condition and calls wait() while
// holding the queue's lock (a Guard), so no wake-up can slip in between.
class WaitQueue {
public:
    class Guard {
    public:
        explicit Guard(WaitQueue& q) : guard_(q.lock_) {}

    private:
        SpinGuard guard_;
    };

    // Blocks the current thread until woken (or until `timeout_ns` passes, when non-zero);
    // returns false on timeout. `held` must guard this queue; it is held again on return.
    bool wait(Guard& held, uint64_t timeout_ns = 0);
    // Wakes up to `max` waiters for which pred(thread) is true (all: the default
    // predicate). The caller holds a Guard on this queue.
    template <typename Pred>
    size_t wake_if(Pred pred, size_t max);
    bool wake_one() { return wake_if([](const Thread&) { return true; }, 1) == 1; }
    size_t wake_all() { return wake_if([](const Thread&) { return true; }, ~size_t{0}); }

private:
    Spinlock lock_;
    List<Thread, &Thread::wait_link> waiters_;
};

// Interruptible waits. Inside an InterruptibleScope, the current thread's blocking waits
// (WaitQueue::wait and what is built on it: CondVar, Semaphore, futex_wait; and sleep_ns)
// end early once interrupt(thread) has been called, or do not block at all while it stays
// pending: they return as on a timeout and the caller checks interrupted() (the Linux layer
// then returns -EINTR or restarts the call). Waits outside a scope are never cut short, so
// kernel code that cannot handle an early return (mutexes, driver waits) is unaffected.
class InterruptibleScope {
public:
    InterruptibleScope();
    ~InterruptibleScope();
    InterruptibleScope(const InterruptibleScope&) = delete;
    InterruptibleScope& operator=(const InterruptibleScope&) = delete;

private:
    bool was_;
};
// Marks `t` as interrupted and wakes it if it is in an interruptible wait. Any context
// (interrupt handlers included).
void interrupt(Thread* t);
// The current thread's mark, and clearing it (the Linux layer clears it when the thread
// has no deliverable signal left).
bool interrupted();
void clear_interrupt();

// Makes a blocked or sleeping thread runnable; does nothing to a thread that already is
// (a waiter whose timeout fired first). Internal to sched.
void wake_thread(Thread* t);

// A one-shot kernel timer. Its callback runs once, at or after the deadline, on the CPU that
// armed it, in the timer interrupt (interrupts off): it may take spinlocks, wake threads and
// notify PollHeads, never sleep. The timers of a CPU share its one-shot hardware timer with
// the scheduler (tickless: only the earliest event is programmed).
//
// cancel() and the destructor return only once the callback is neither pending nor running.
// The owner serialises arm() and cancel() of one timer; a callback may re-arm its own timer
// (periodic timers do) but must not cancel it, nor cancel a timer whose callback may be
// cancelling this one.
class Timer {
public:
    using Callback = void (*)(Timer* timer, void* context);

    Timer(Callback callback, void* context) : callback_(callback), context_(context) {}
    ~Timer() { cancel(); }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    // Fires at monotonic time `deadline_ns` (clock::monotonic_ns()); a deadline in the past
    // fires at once. Arming a pending timer moves it.
    void arm_at(uint64_t deadline_ns);
    void arm_after(uint64_t ns);
    // Takes it off its CPU's list and waits for a callback in progress. True if it was pending.
    bool cancel();
    bool pending() const { return link.linked(); }

    // The scheduler's (scheduler.cc): position in a CPU's list, and that CPU.
    ListNode link;
    uint64_t fire_at = 0;    // cycle counter
    unsigned cpu = 0;        // whose list while pending
    bool running = false;    // its callback is running (on `cpu`)
    Callback callback_;
    void* context_;
};

template <typename Pred>
size_t WaitQueue::wake_if(Pred pred, size_t max) {
    size_t woken = 0;
    while (woken < max) {
        Thread* t = waiters_.find([&](Thread& x) { return pred(x); });
        if (!t) break;
        waiters_.remove(*t);  // unlinked: the waiter's wait() will see it was woken
        wake_thread(t);
        ++woken;
    }
    return woken;
}

}  // namespace mica::sched
