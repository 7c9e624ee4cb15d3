#include <mica/sched/sync.h>

namespace mica::sched {
namespace {
constexpr int e_again = 11, e_timedout = 110;  // Linux errno values

// Futex waiters hash by address into a few buckets; each waiter remembers its address.
constexpr unsigned futex_buckets = 64;
struct FutexWaiter {
    const uint32_t* address;
    WaitQueue queue;
    FutexWaiter* next;
};
FutexWaiter* buckets[futex_buckets];  // owned here; changed only with interrupts off

unsigned bucket_of(const uint32_t* address) {
    return static_cast<unsigned>((reinterpret_cast<uintptr_t>(address) >> 2) % futex_buckets);
}
}  // namespace

void Mutex::lock() {
    IrqGuard guard;
    while (owner_) waiters_.wait();
    owner_ = current();
}

bool Mutex::try_lock() {
    IrqGuard guard;
    if (owner_) return false;
    owner_ = current();
    return true;
}

void Mutex::unlock() {
    IrqGuard guard;
    owner_ = nullptr;
    waiters_.wake_one();
}

bool CondVar::wait(Mutex& m, uint64_t timeout_ns) {
    IrqGuard guard;
    m.owner_ = nullptr;
    m.waiters_.wake_one();
    bool woken = waiters_.wait(timeout_ns);
    while (m.owner_) m.waiters_.wait();
    m.owner_ = current();
    return woken;
}

void CondVar::signal() {
    IrqGuard guard;
    waiters_.wake_one();
}

void CondVar::broadcast() {
    IrqGuard guard;
    waiters_.wake_all();
}

bool Semaphore::wait(uint64_t timeout_ns) {
    IrqGuard guard;
    while (count_ == 0) {
        if (!waiters_.wait(timeout_ns)) return false;
    }
    --count_;
    return true;
}

void Semaphore::post() {
    IrqGuard guard;
    ++count_;
    waiters_.wake_one();
}

void RwLock::lock_shared() {
    IrqGuard guard;
    while (writer_ || writers_waiting_) readers_queue_.wait();
    ++readers_;
}

void RwLock::unlock_shared() {
    IrqGuard guard;
    if (--readers_ == 0) writers_queue_.wake_one();
}

void RwLock::lock() {
    IrqGuard guard;
    ++writers_waiting_;
    while (writer_ || readers_) writers_queue_.wait();
    --writers_waiting_;
    writer_ = true;
}

void RwLock::unlock() {
    IrqGuard guard;
    writer_ = false;
    if (writers_waiting_) writers_queue_.wake_one();
    else readers_queue_.wake_all();
}

int futex_wait(const uint32_t* address, uint32_t expected, uint64_t timeout_ns) {
    IrqGuard guard;
    if (*reinterpret_cast<const volatile uint32_t*>(address) != expected) return -e_again;
    FutexWaiter self{address, {}, nullptr};
    unsigned b = bucket_of(address);
    self.next = buckets[b];
    buckets[b] = &self;
    bool woken = self.queue.wait(timeout_ns);
    // Unlink (a waker unlinks too; whoever comes first does it).
    for (FutexWaiter** p = &buckets[b]; *p; p = &(*p)->next) {
        if (*p == &self) {
            *p = self.next;
            break;
        }
    }
    return woken ? 0 : -e_timedout;
}

int futex_wake(const uint32_t* address, int count) {
    IrqGuard guard;
    int woken = 0;
    for (FutexWaiter** p = &buckets[bucket_of(address)]; *p && woken < count;) {
        FutexWaiter* w = *p;
        if (w->address == address && w->queue.wake_one()) {
            *p = w->next;  // woken waiters leave the bucket
            ++woken;
        } else {
            p = &w->next;
        }
    }
    return woken;
}

}  // namespace mica::sched
