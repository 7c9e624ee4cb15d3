// Blocking synchronisation on top of WaitQueue: mutex, condition variable, counting
// semaphore, reader-writer lock, address-keyed futex wait/wake, and RAII guards.
#pragma once

#include <mica/sched/sched.h>
#include <stdint.h>

namespace mica::sched {

class Mutex {
public:
    void lock();
    bool try_lock();
    void unlock();
    bool held_by_current() const { return owner_ == current(); }

private:
    friend class CondVar;
    Thread* owner_ = nullptr;
    WaitQueue waiters_;
};

class CondVar {
public:
    // Atomically releases `m` and waits; `m` is held again on return. False on timeout.
    bool wait(Mutex& m, uint64_t timeout_ns = 0);
    void signal();
    void broadcast();

private:
    WaitQueue waiters_;
};

class Semaphore {
public:
    explicit Semaphore(unsigned initial = 0) : count_(initial) {}
    bool wait(uint64_t timeout_ns = 0);  // false on timeout
    void post();
    unsigned count() const { return count_; }

private:
    unsigned count_;
    WaitQueue waiters_;
};

// Writers are preferred once waiting, so a stream of readers cannot starve them.
class RwLock {
public:
    void lock_shared();
    void unlock_shared();
    void lock();
    void unlock();

private:
    unsigned readers_ = 0;
    unsigned writers_waiting_ = 0;
    bool writer_ = false;
    WaitQueue queue_;
};

template <typename Lock>
class LockGuard {
public:
    explicit LockGuard(Lock& lock) : lock_(lock) { lock_.lock(); }
    ~LockGuard() { lock_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    Lock& lock_;
};

// futex: wait while *address == expected (checked under the scheduler lock, so no wake-up is
// lost between the check and the sleep). Returns 0 when woken, -EAGAIN (value differed) or
// -ETIMEDOUT, the codes Linux's futex(2) returns, or what `load` returns when it fails.
// `load` reads the word (0 or -errno); the default is a plain atomic load. The Linux layer
// passes a checked copy: another thread may unmap the word at any moment, and the read
// happens with interrupts off under the queue's lock, where a fault must not be fatal.
using FutexLoad = int (*)(const uint32_t* address, uint32_t* value);
int futex_wait(const uint32_t* address, uint32_t expected, uint64_t timeout_ns = 0, FutexLoad load = nullptr);
// Wakes up to `count` waiters on `address`; returns how many.
int futex_wake(const uint32_t* address, int count);

}  // namespace mica::sched
