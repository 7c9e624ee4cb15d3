// Malloc front end CONFIG_MM_ALLOCATOR_POOLS: small objects come from the calling CPU's
// ObjectCache (no lock, interrupts off so the thread stays on this CPU); large ones and
// cache refills/flushes take the memory lock. A CPU's cache gets a page on its first
// small allocation, so memory is only spent on CPUs that exist. With
// CONFIG_DEBUG_MEMORY every call goes to the checking layer instead (it must see each
// allocation and free).
#include <arch/arch.h>
#include <mica/mm/memory.h>
#include <mica/mm/object_cache.h>
#include <mica/sched/sched.h>
#include <new>
#include <string.h>
#include "memory_internal.h"

namespace mica::mm {
namespace {

// Owned by each CPU (index = arch::cpu_index()); created once, never freed.
ObjectCache* caches[sched::max_cpus];

unsigned fill(unsigned size_class, void** out, unsigned wanted, void*) {
    sched::SpinGuard guard(memory_lock);
    return kernel_heap->alloc_batch(size_class, out, wanted);
}

void drain(void* const* objects, unsigned count, void*) {
    sched::SpinGuard guard(memory_lock);
    for (unsigned i = 0; i < count; ++i) kernel_heap->free(objects[i]);
}

const ObjectCache::Source source{fill, drain, nullptr};

// Interrupts off for the duration: no migration, no interrupt handler allocating on this
// CPU in between.
class CpuScope {
public:
    CpuScope() : were_on_(arch::interrupts_enabled()) { arch::interrupts_disable(); }
    ~CpuScope() {
        if (were_on_) arch::interrupts_enable();
    }

private:
    bool were_on_;
};

ObjectCache* this_cpu_cache() {
    unsigned cpu = arch::cpu_index();
    if (!caches[cpu]) {
        // A page of its own, not a heap object: it is not an allocation anyone frees.
        static_assert(sizeof(ObjectCache) <= page_size);
        if (void* memory = alloc_pages(0)) caches[cpu] = new (memory) ObjectCache();
    }
    return caches[cpu];
}

void* locked_alloc(size_t size, size_t alignment) {
    sched::SpinGuard guard(memory_lock);
    return kernel_heap->alloc(size, alignment);
}

}  // namespace

const char* allocator_name() { return "per-CPU pools"; }

size_t cached_objects() {
    size_t n = 0;
    for (ObjectCache* c : caches) {
        if (c) n += c->cached_objects();
    }
    return n;
}

size_t cached_bytes() {
    size_t n = 0;
    for (ObjectCache* c : caches) {
        if (c) n += c->cached_bytes();
    }
    return n;
}

void* allocate(size_t size, size_t alignment, uintptr_t site) {
    if (debug_heap) {
        sched::SpinGuard guard(memory_lock);
        return debug_heap->alloc(size, alignment, site);
    }
    if ((alignment & (alignment - 1)) == 0 && alignment <= page_size) {
        int c = Heap::small_class(size, alignment);
        if (c >= 0) {
            CpuScope scope;
            if (ObjectCache* cache = this_cpu_cache()) return cache->alloc(static_cast<unsigned>(c), source);
        }
    }
    return locked_alloc(size, alignment);
}

void release(void* ptr) {
    if (!ptr) return;
    if (debug_heap) {
        sched::SpinGuard guard(memory_lock);
        debug_heap->free(ptr);
        return;
    }
    // The class is read from the object's slab page header, which stays a slab page for
    // good (slab pages are never returned), so no lock is needed to read it.
    int c = kernel_heap->class_of(ptr);
    if (c >= 0) {
        CpuScope scope;
        if (ObjectCache* cache = caches[arch::cpu_index()]) {
            cache->free(ptr, static_cast<unsigned>(c), source);
            return;
        }
    }
    sched::SpinGuard guard(memory_lock);
    kernel_heap->free(ptr);  // large objects, and bad pointers (reported by the heap)
}

void* reallocate(void* ptr, size_t size, uintptr_t site) {
    if (debug_heap) {
        sched::SpinGuard guard(memory_lock);
        return debug_heap->realloc(ptr, size, site);
    }
    if (!ptr) return allocate(size, Heap::min_alignment, site);
    if (size == 0) {
        release(ptr);
        return nullptr;
    }
    size_t old;
    {
        sched::SpinGuard guard(memory_lock);
        old = kernel_heap->usable_size(ptr);
    }
    if (size <= old) return ptr;
    void* fresh = allocate(size, Heap::min_alignment, site);
    if (!fresh) return nullptr;
    memcpy(fresh, ptr, old);
    release(ptr);
    return fresh;
}

}  // namespace mica::mm
