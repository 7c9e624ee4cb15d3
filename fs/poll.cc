#include <mica/fs/poll.h>

namespace mica::fs {

PollWaiter::~PollWaiter() { detach(); }

void PollWaiter::detach() {
    // head_ changes only under the head's lock, and only this waiter's owner adds it, so a
    // non-null head_ read here stays the head until remove() takes that lock.
    if (PollHead* head = __atomic_load_n(&head_, __ATOMIC_ACQUIRE)) head->remove(this);
}

PollHead::~PollHead() {
    PollLockGuard guard(lock_);
    while (PollWaiter* w = waiters_.pop_front()) __atomic_store_n(&w->head_, nullptr, __ATOMIC_RELEASE);
}

void PollHead::add(PollWaiter* waiter) {
    if (waiter->head_ == this) return;
    waiter->detach();
    PollLockGuard guard(lock_);
    waiters_.push_back(*waiter);
    __atomic_store_n(&waiter->head_, this, __ATOMIC_RELEASE);
}

void PollHead::remove(PollWaiter* waiter) {
    PollLockGuard guard(lock_);
    if (waiter->head_ != this) return;
    waiters_.remove(*waiter);
    __atomic_store_n(&waiter->head_, nullptr, __ATOMIC_RELEASE);
}

void PollHead::notify(uint32_t events) {
    PollLockGuard guard(lock_);
    waiters_.for_each([events](PollWaiter& w) {
        if (events == 0 || (events & w.interest)) w.callback(&w, events);
    });
}

bool PollHead::has_waiters() {
    PollLockGuard guard(lock_);
    return !waiters_.empty();
}

size_t PollHead::waiter_count() {
    PollLockGuard guard(lock_);
    return waiters_.size();
}

}  // namespace mica::fs
