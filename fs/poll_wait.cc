#include <mica/clock.h>
#include <mica/fs/poll_wait.h>

namespace mica::fs {

bool PollSleeper::sleep_until(uint64_t deadline) {
    // Interruptible: a signal ends the sleep as a timeout would; callers check
    // sched::interrupted() to tell them apart.
    sched::InterruptibleScope scope;
    sched::WaitQueue::Guard guard(queue_);
    while (!woken_) {
        if (sched::interrupted()) return false;
        if (deadline == no_deadline) {
            queue_.wait(guard);
            continue;
        }
        uint64_t now = clock::monotonic_ns();
        if (now >= deadline) return false;
        queue_.wait(guard, deadline - now);
    }
    woken_ = false;
    return true;
}

void PollSleeper::wake() {
    sched::WaitQueue::Guard guard(queue_);
    woken_ = true;
    queue_.wake_all();
}

void SleeperWaiter::callback(PollWaiter* waiter, uint32_t) {
    static_cast<SleeperWaiter*>(waiter)->sleeper->wake();
}

uint64_t deadline_after(int64_t timeout_ns) {
    if (timeout_ns < 0) return no_deadline;
    uint64_t now = clock::monotonic_ns();
    uint64_t deadline;
    if (__builtin_add_overflow(now, static_cast<uint64_t>(timeout_ns), &deadline) || deadline == no_deadline) {
        return no_deadline - 1;
    }
    return deadline;
}

}  // namespace mica::fs
