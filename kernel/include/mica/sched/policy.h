// The scheduling policy chosen in Kconfig (SCHED_POLICY). Each policy provides a class
// RunQueue with the interface of run_queue.h (enqueue, enqueue_front, remove, pop_highest,
// highest_priority, empty, size, should_preempt) and a Schedulable base for threads.
#pragma once

#include <mica/config.h>

#if CONFIG_SCHED_POLICY_PRIORITY_RR
#include <mica/sched/run_queue.h>
#else
#error "no scheduling policy selected (CONFIG_SCHED_POLICY)"
#endif
