// Shared between memory.cc (which creates them) and the malloc front ends (malloc_*.cc,
// chosen by CONFIG_MM_ALLOCATOR): the heap, the checking layer when CONFIG_DEBUG_MEMORY is
// set (nullptr otherwise), and the lock that guards both and the page allocator.
#pragma once

#include <mica/mm/debug_heap.h>
#include <mica/mm/heap.h>
#include <mica/sched/spinlock.h>

namespace mica::mm {
extern Heap* kernel_heap;
extern DebugHeap* debug_heap;
extern sched::Spinlock memory_lock;
}  // namespace mica::mm
