// Each primitive's state is guarded by its wait queue's lock: the condition check and the
// wait happen under one Guard, so a wake-up cannot fall between them.
#include <mica/trace/trace.h>
#include <mica/sched/sync.h>

namespace mica::sched {
namespace {
constexpr int e_intr = 4, e_again = 11, e_timedout = 110;  // Linux errno values

// Futex waiters hash by address into a few wait queues; a waiter records its address in
// its Thread, and wakers wake only the waiters of their address.
constexpr unsigned futex_buckets = 64;
WaitQueue futex_queues[futex_buckets];  // owned here

WaitQueue& bucket_of(const uint32_t* address) {
    return futex_queues[(reinterpret_cast<uintptr_t>(address) >> 2) % futex_buckets];
}
}  // namespace

void Mutex::lock() {
    WaitQueue::Guard guard(waiters_);
    Thread* self = current();
    // Never cut short, even inside an InterruptibleScope (CondVar::wait re-locks in one).
    bool interruptible = self->interruptible;
    self->interruptible = false;
    while (owner_) waiters_.wait(guard);
    self->interruptible = interruptible;
    owner_ = self;
}

bool Mutex::try_lock() {
    WaitQueue::Guard guard(waiters_);
    if (owner_) return false;
    owner_ = current();
    return true;
}

void Mutex::unlock() {
    WaitQueue::Guard guard(waiters_);
    owner_ = nullptr;
    waiters_.wake_one();
}

bool CondVar::wait(Mutex& m, uint64_t timeout_ns) {
    bool woken;
    {
        // Queue ourselves before releasing the mutex: a signal after the unlock finds us.
        WaitQueue::Guard guard(waiters_);
        m.unlock();
        woken = waiters_.wait(guard, timeout_ns);
    }
    m.lock();
    return woken;
}

void CondVar::signal() {
    WaitQueue::Guard guard(waiters_);
    waiters_.wake_one();
}

void CondVar::broadcast() {
    WaitQueue::Guard guard(waiters_);
    waiters_.wake_all();
}

bool Semaphore::wait(uint64_t timeout_ns) {
    WaitQueue::Guard guard(waiters_);
    while (count_ == 0) {
        if (!waiters_.wait(guard, timeout_ns)) return false;
    }
    --count_;
    return true;
}

void Semaphore::post() {
    WaitQueue::Guard guard(waiters_);
    ++count_;
    waiters_.wake_one();
}

// The reader-writer state is guarded by the writers' queue lock; readers wait there too
// (woken all at once), told apart by what they wait for.
void RwLock::lock_shared() {
    WaitQueue::Guard guard(queue_);
    while (writer_ || writers_waiting_) queue_.wait(guard);
    ++readers_;
}

void RwLock::unlock_shared() {
    WaitQueue::Guard guard(queue_);
    if (--readers_ == 0) queue_.wake_all();
}

void RwLock::lock() {
    WaitQueue::Guard guard(queue_);
    ++writers_waiting_;
    while (writer_ || readers_) queue_.wait(guard);
    --writers_waiting_;
    writer_ = true;
}

void RwLock::unlock() {
    WaitQueue::Guard guard(queue_);
    writer_ = false;
    queue_.wake_all();
}

namespace {
int wait_on_futex(const uint32_t* address, uint32_t expected, uint64_t timeout_ns, FutexLoad load) {
    WaitQueue& q = bucket_of(address);
    WaitQueue::Guard guard(q);
    uint32_t value;
    if (load) {
        if (int r = load(address, &value); r < 0) return r;
    } else {
        value = __atomic_load_n(address, __ATOMIC_SEQ_CST);
    }
    if (value != expected) return -e_again;
    Thread* self = current();
    self->futex_address = address;
    bool woken = q.wait(guard, timeout_ns);
    self->futex_address = nullptr;
    if (!woken && self->interruptible && interrupted()) return -e_intr;
    return woken ? 0 : -e_timedout;
}
}  // namespace

int futex_wait(const uint32_t* address, uint32_t expected, uint64_t timeout_ns, FutexLoad load) {
    int r = wait_on_futex(address, expected, timeout_ns, load);
    TRACE(futex_wait, address, r);
    return r;
}

int futex_wake(const uint32_t* address, int count) {
    int woken;
    {
        WaitQueue& q = bucket_of(address);
        WaitQueue::Guard guard(q);
        woken = static_cast<int>(q.wake_if([&](const Thread& t) { return t.futex_address == address; },
                                           count < 0 ? 0 : static_cast<size_t>(count)));
    }
    TRACE(futex_wake, address, woken);
    return woken;
}

}  // namespace mica::sched
