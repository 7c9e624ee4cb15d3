// The scheduling policy, kept apart from threads and CPUs so it can be host-tested and
// replaced (Kconfig: SCHED_POLICY). This one is fixed priorities with round robin inside a
// priority: the highest non-empty priority runs; a thread that used up its time slice goes
// to the back of its priority's queue. A waking thread of higher priority preempts at once.
#pragma once

#include <mica/sched/list.h>
#include <stdint.h>

namespace mica::sched {

inline constexpr int priority_levels = 32;
inline constexpr int priority_idle = 0;      // only the idle thread
inline constexpr int priority_default = 16;

struct Schedulable {
    ListNode run_link;
    int priority = priority_default;
};

class RunQueue {
public:
    void enqueue(Schedulable& s);        // at the back of its priority
    void enqueue_front(Schedulable& s);  // preempted before its slice ended: keeps its turn
    void remove(Schedulable& s);
    Schedulable* pop_highest();
    // Highest priority waiting, or -1 when empty.
    int highest_priority() const;
    bool empty() const { return bitmap_ == 0; }
    // Safe to read without the queue's lock (work stealing uses it as a hint).
    size_t size() const { return __atomic_load_n(&count_, __ATOMIC_RELAXED); }

    // Whether `current`, having run `ran_ns` of its `slice_ns` slice, should give way now.
    bool should_preempt(const Schedulable& current, uint64_t ran_ns, uint64_t slice_ns) const;

private:
    using Queue = List<Schedulable, &Schedulable::run_link>;
    Queue queues_[priority_levels];
    uint32_t bitmap_ = 0;  // bit p set: queues_[p] is not empty
    size_t count_ = 0;
};

}  // namespace mica::sched
