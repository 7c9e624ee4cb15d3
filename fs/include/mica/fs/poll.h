// Readiness: the events an object reports to poll, select and epoll, and the PollHead each
// pollable object (pipe, device, socket, eventfd, timerfd, epoll instance) owns.
//
// A PollWaiter is a small record with a callback. poll/select add one waiter per descriptor
// for the duration of a call, an epoll instance keeps one per watched descriptor for as long
// as it watches it, and a blocking socket operation adds one while it sleeps. When the
// object's state changes it calls notify() with the events that changed; every waiter whose
// interest overlaps is called back (events 0 means "something changed": everyone is). The
// callback only records the fact and wakes someone: the woken party asks the object for its
// current state (Vnode::poll_events) itself.
//
// Locking: each head has a spinlock (interrupts off in the kernel) held while waiters are
// added, removed and called back, so notify() may run anywhere that may take a spinlock,
// including a timer callback in interrupt context. A callback must not sleep and must not
// add or remove waiters on the head that calls it; it may take other spinlocks and notify
// other heads (an epoll instance notifies its own head from its items' callbacks: epoll's
// no-cycles rule keeps that order acyclic). Removing a waiter waits for a callback of the
// same head in progress on another CPU, so once remove() returns the callback is not running
// and will not run.
//
// Lifetime: a head must outlive its waiters' registrations. Whoever adds a waiter holds a
// reference to the object (an open file) until it removes it; epoll drops its registrations
// when the watched open file description is finally closed (file.h, CloseObserver).
#pragma once

#include <mica/sched/list.h>
#include <stdint.h>

#if __STDC_HOSTED__
#include <atomic>
#else
#include <mica/sched/spinlock.h>
#endif

namespace mica::fs {

// Event bits (asm-generic/poll.h and linux/eventpoll.h; the same on x86_64 and aarch64):
// poll's POLL* and epoll's EPOLL* share their values.
inline constexpr uint32_t poll_in = 0x001, poll_pri = 0x002, poll_out = 0x004, poll_err = 0x008,
                          poll_hup = 0x010, poll_nval = 0x020, poll_rdnorm = 0x040,
                          poll_rdband = 0x080, poll_wrnorm = 0x100, poll_wrband = 0x200,
                          poll_msg = 0x400, poll_rdhup = 0x2000;
// epoll's flags in the same word (not events).
inline constexpr uint32_t epoll_exclusive = 1u << 28, epoll_wakeup = 1u << 29,
                          epoll_oneshot = 1u << 30, epoll_et = 1u << 31;
inline constexpr uint32_t epoll_flag_bits = epoll_exclusive | epoll_wakeup | epoll_oneshot | epoll_et;
// Reported whether asked for or not (poll(2), epoll_ctl(2)).
inline constexpr uint32_t poll_always = poll_err | poll_hup;
// Kernel-private wake-up reasons carried by notify() (never reported to applications):
// bits Linux leaves unused between the events and epoll's flags.
inline constexpr uint32_t poll_wake_connect = 1u << 20;  // room in a listener's backlog

// The readiness of objects that never block (regular files, most devices).
inline constexpr uint32_t poll_always_ready = poll_in | poll_rdnorm | poll_out | poll_wrnorm;

#if __STDC_HOSTED__
// Host builds (unit tests): a plain spinlock on std::atomic_flag.
class PollLock {
public:
    void lock() {
        while (flag_.test_and_set(std::memory_order_acquire)) {
        }
    }
    void unlock() { flag_.clear(std::memory_order_release); }

private:
    std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};
class PollLockGuard {
public:
    explicit PollLockGuard(PollLock& lock) : lock_(lock) { lock_.lock(); }
    ~PollLockGuard() { lock_.unlock(); }
    PollLockGuard(const PollLockGuard&) = delete;
    PollLockGuard& operator=(const PollLockGuard&) = delete;

private:
    PollLock& lock_;
};
#else
using PollLock = sched::Spinlock;
using PollLockGuard = sched::SpinGuard;  // interrupts off: timer callbacks notify heads
#endif

class PollHead;

class PollWaiter {
public:
    // Called under the head's lock with the events that changed (0: unspecified).
    using Callback = void (*)(PollWaiter* waiter, uint32_t events);

    explicit PollWaiter(Callback callback = nullptr, uint32_t interest = ~0u)
        : callback(callback), interest(interest) {}
    ~PollWaiter();  // removes itself from its head
    PollWaiter(const PollWaiter&) = delete;
    PollWaiter& operator=(const PollWaiter&) = delete;

    // Removes this waiter from the head it is on, if any.
    void detach();
    PollHead* head() const { return head_; }

    Callback callback;
    uint32_t interest;  // events that concern this waiter; change only while not added

private:
    friend class PollHead;
    PollHead* head_ = nullptr;  // written under the head's lock
    sched::ListNode link_;
};

class PollHead {
public:
    PollHead() = default;
    ~PollHead();  // detaches any waiter left (a bug in its owner, but never a dangling list)
    PollHead(const PollHead&) = delete;
    PollHead& operator=(const PollHead&) = delete;

    // A waiter is on at most one head at a time: add() first removes it from any other.
    void add(PollWaiter* waiter);
    void remove(PollWaiter* waiter);
    // Calls back every waiter whose interest overlaps `events` (all of them for 0).
    void notify(uint32_t events);
    bool has_waiters();
    size_t waiter_count();

private:
    PollLock lock_;
    sched::List<PollWaiter, &PollWaiter::link_> waiters_;
};

}  // namespace mica::fs
