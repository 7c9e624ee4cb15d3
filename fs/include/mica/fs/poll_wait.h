// Sleeping until a PollHead notifies (kernel only; poll.h is the host-testable core). A
// PollSleeper is one thread's wake-up point: any number of SleeperWaiters on any heads call
// it back, and the thread sleeps in sleep_until() until one did or a deadline passed. The
// callback only sets a flag and wakes the thread under the sleeper's wait-queue lock, so it
// is safe in every context a PollHead notifies from (interrupt context included).
//
// Use: add the waiters, then look at the objects' state, then sleep; a change between the
// look and the sleep has already set the flag, so no wake-up is lost. Each sleep_until()
// consumes the flag.
#pragma once

#include <mica/fs/poll.h>
#include <mica/sched/sched.h>
#include <stdint.h>

namespace mica::fs {

// Deadlines are monotonic nanoseconds (clock::monotonic_ns()).
inline constexpr uint64_t no_deadline = ~uint64_t{0};

class PollSleeper {
public:
    // True once woken since the last sleep (or construction); false when `deadline` passed
    // first. A deadline in the past returns at once (after consuming a pending wake-up).
    bool sleep_until(uint64_t deadline);
    // Called back by waiters (any context that may take a spinlock).
    void wake();

private:
    sched::WaitQueue queue_;
    bool woken_ = false;  // guarded by queue_'s lock
};

// A PollWaiter that wakes a PollSleeper.
class SleeperWaiter : public PollWaiter {
public:
    SleeperWaiter() : PollWaiter(callback) {}
    SleeperWaiter(PollSleeper* sleeper, uint32_t interest) : PollWaiter(callback, interest), sleeper(sleeper) {}
    PollSleeper* sleeper = nullptr;

private:
    static void callback(PollWaiter* waiter, uint32_t events);
};

// The deadline `timeout_ns` from now (no_deadline for a negative timeout), saturating.
uint64_t deadline_after(int64_t timeout_ns);

}  // namespace mica::fs
