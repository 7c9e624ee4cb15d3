#include <mica/sched/run_queue.h>

namespace mica::sched {

void RunQueue::enqueue(Schedulable& s) {
    __atomic_store_n(&count_, count_ + 1, __ATOMIC_RELAXED);
    queues_[s.priority].push_back(s);
    bitmap_ |= 1u << s.priority;
}

void RunQueue::enqueue_front(Schedulable& s) {
    __atomic_store_n(&count_, count_ + 1, __ATOMIC_RELAXED);
    queues_[s.priority].push_front(s);
    bitmap_ |= 1u << s.priority;
}

void RunQueue::remove(Schedulable& s) {
    __atomic_store_n(&count_, count_ - 1, __ATOMIC_RELAXED);
    Queue::remove(s);
    if (queues_[s.priority].empty()) bitmap_ &= ~(1u << s.priority);
}

int RunQueue::highest_priority() const { return bitmap_ ? 31 - __builtin_clz(bitmap_) : -1; }

Schedulable* RunQueue::pop_highest() {
    int p = highest_priority();
    if (p < 0) return nullptr;
    Schedulable* s = queues_[p].pop_front();
    __atomic_store_n(&count_, count_ - 1, __ATOMIC_RELAXED);
    if (queues_[p].empty()) bitmap_ &= ~(1u << p);
    return s;
}

bool RunQueue::should_preempt(const Schedulable& current, uint64_t ran_ns, uint64_t slice_ns) const {
    int waiting = highest_priority();
    if (waiting > current.priority) return true;
    return waiting == current.priority && ran_ns >= slice_ns;
}

}  // namespace mica::sched
