// Malloc front end CONFIG_MM_ALLOCATOR_LOCKED: every call takes the one memory lock.
// Simplest and smallest; the reference the per-CPU pools are measured against.
#include <mica/mm/memory.h>
#include "memory_internal.h"

namespace mica::mm {

const char* allocator_name() { return "locked heap"; }
size_t cached_objects() { return 0; }
size_t cached_bytes() { return 0; }

void* allocate(size_t size, size_t alignment, uintptr_t site) {
    sched::SpinGuard guard(memory_lock);
    return debug_heap ? debug_heap->alloc(size, alignment, site) : kernel_heap->alloc(size, alignment);
}

void release(void* ptr) {
    sched::SpinGuard guard(memory_lock);
    if (debug_heap) debug_heap->free(ptr);
    else kernel_heap->free(ptr);
}

void* reallocate(void* ptr, size_t size, uintptr_t site) {
    sched::SpinGuard guard(memory_lock);
    return debug_heap ? debug_heap->realloc(ptr, size, site) : kernel_heap->realloc(ptr, size);
}

}  // namespace mica::mm
