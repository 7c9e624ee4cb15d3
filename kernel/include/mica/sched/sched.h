// Threads and the scheduler. One CPU for now (SMP with per-CPU run queues is the rest of
// issue 4); the policy lives in run_queue.h. With CONFIG_PREEMPT the timer interrupt
// preempts a thread whose slice is over or when a higher priority thread wakes; without it
// threads switch only when they block, sleep, yield or exit.
//
// Interrupt context: each thread has its own interrupt stack (x86: the TSS IST entry for
// interrupts is switched with the thread; aarch64: SP_EL1), so the scheduler may switch
// threads from inside an interrupt handler and the interrupted frame stays with its thread.
#pragma once

#include <mica/sched/list.h>
#include <mica/sched/run_queue.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::sched {

class WaitQueue;

struct Thread : Schedulable {
    enum class State { ready, running, blocked, sleeping, dead };

    const char* name = "";
    uint64_t id = 0;
    State state = State::ready;
    uintptr_t saved_sp = 0;        // while switched out
    uintptr_t stack = 0;           // base of the stack (page allocator block), 0 for boot
    unsigned stack_order = 0;
    uintptr_t exception_stack = 0; // base; its top is where interrupts land for this thread
    void (*entry)(void*) = nullptr;
    void* arg = nullptr;
    uint64_t slice_start = 0;      // cycle counter when it last started running
    uint64_t wake_at = 0;          // cycles, while sleeping
    ListNode timer_link;           // in the sleep list
    WaitQueue* waiting_on = nullptr;
    bool timed_out = false;
    WaitQueue* join_waiters = nullptr;  // created with the thread
    bool detached = false;
    uint64_t switches = 0;         // times switched in (statistics, tests)
};

inline constexpr size_t default_stack_size = 64 * 1024;
inline constexpr uint64_t time_slice_ns = 4000000;  // 4 ms

// Makes the running boot code the first thread and creates the idle thread.
void init();
bool initialized();

// A new thread that will run entry(arg) once started; nullptr when out of memory.
Thread* create(const char* name, void (*entry)(void*), void* arg, int priority = priority_default,
               size_t stack_size = default_stack_size);
void start(Thread* t);
// Waits for `t` to finish and frees it. Each thread is joined at most once (or detached).
void join(Thread* t);
// The thread frees itself when it finishes.
void detach(Thread* t);
[[noreturn]] void exit();

Thread* current();
void yield();
void sleep_ns(uint64_t ns);
// Counts and totals, for tests and benchmarks.
uint64_t context_switches();
size_t live_threads();

// Timer interrupt entry (arch code calls it from the timer's interrupt handler).
void on_timer_interrupt();

// Disables interrupts for its lifetime, restoring the previous state: the scheduler's lock
// on one CPU.
class IrqGuard {
public:
    IrqGuard();
    ~IrqGuard();
    IrqGuard(const IrqGuard&) = delete;
    IrqGuard& operator=(const IrqGuard&) = delete;

private:
    bool was_enabled_;
};

// Threads waiting for an event. wait() must be called with interrupts disabled (hold an
// IrqGuard around the condition check and the wait, so no wake-up is lost).
class WaitQueue {
public:
    // Blocks the current thread until woken (or until `timeout_ns` passes, when non-zero);
    // returns false on timeout.
    bool wait(uint64_t timeout_ns = 0);
    bool wake_one();
    size_t wake_all();
    bool empty() const { return waiters_.empty(); }

private:
    friend void wake_thread(Thread* t);
    List<Schedulable, &Schedulable::run_link> waiters_;
};

}  // namespace mica::sched
