// Kernel heap: size-classed slabs for small objects, page runs for large ones (a buddy block
// whose unused tail pages go back to the page allocator).
// Every page run the heap owns starts with a PageHeader, found from any pointer it returned
// by looking at the page holding (pointer - 1); so free() needs no size and can reject
// pointers the heap never handed out. Not thread-safe: the kernel's malloc holds a lock
// around it (per-CPU caches in front of it are issue 5).
#pragma once

#include <mica/mm/page_allocator.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

class Heap {
public:
    // Called for a free() that cannot be honoured (pointer not from the heap, double free).
    using ErrorHandler = void (*)(const char* problem, const void* pointer);

    static constexpr size_t min_alignment = 16;
    static constexpr size_t header_bytes = 64;  // keeps objects 64-byte aligned at most
    // The largest allocation: one buddy block of the largest order, less its header.
    static constexpr size_t max_allocation = (page_size << (max_order - 1)) - header_bytes;
    static constexpr size_t class_sizes[] = {16,  32,  48,  64,   96,   128,  192,
                                             256, 384, 512, 768, 1024, 1536, 2048};
    static constexpr unsigned class_count = sizeof(class_sizes) / sizeof(class_sizes[0]);
    // The largest request served from a slab (one page, never a run of pages), and the largest
    // that a large run of one page holds: sizes a caller on a fragmented small machine can
    // still get.
    static constexpr size_t max_small = class_sizes[class_count - 1];
    static constexpr size_t one_page_large = page_size - header_bytes;

    struct Stats {
        size_t bytes_in_use;   // as requested by callers, rounded to their class
        size_t slab_pages;     // pages holding small objects
        size_t large_pages;    // pages held by large allocations
        size_t allocations;    // live allocations
    };

    // `poison_fresh`: fill new slab pages with freed_poison, so that a debugging layer
    // (debug_heap.h) can tell a block that was written after being freed.
    Heap(PageAllocator& pages, ErrorHandler on_error, bool poison_fresh = false)
        : pages_(pages), on_error_(on_error), poison_fresh_(poison_fresh) {}
    static constexpr uint8_t freed_poison = 0xdd;
    static constexpr size_t free_link_bytes = 16;  // what the heap itself writes into a freed block

    // nullptr when out of memory or when alignment is not a power of two up to page_size.
    void* alloc(size_t size, size_t alignment = min_alignment);
    void free(void* pointer);
    // Bytes usable at `pointer` (at least what was asked for).
    size_t usable_size(const void* pointer) const;
    void* realloc(void* pointer, size_t size);

    const Stats& stats() const { return stats_; }

    // For caches in front of the heap (object_cache.h): the size class an allocation of
    // `size` bytes at `alignment` comes from, or -1 for large allocations; the class of a
    // pointer the heap handed out, or -1 when it is not a small object; and up to `wanted`
    // objects of one class at once (fewer when memory runs out).
    static int small_class(size_t size, size_t alignment);
    int class_of(const void* pointer) const;
    unsigned alloc_batch(unsigned size_class, void** out, unsigned wanted);

private:
    struct PageHeader;
    struct FreeObject {
        FreeObject* next;
        uint64_t marker;  // free_marker while on a free list: catches double frees cheaply
    };

    void* alloc_small(unsigned size_class);
    void* alloc_large(size_t size, size_t alignment);
    bool free_run_pages(uint8_t* run, size_t first, size_t end);
    PageHeader* header_of(const void* pointer) const;
    bool on_free_list(unsigned size_class, const FreeObject* object) const;

    PageAllocator& pages_;
    ErrorHandler on_error_;
    bool poison_fresh_;
    FreeObject* free_lists_[class_count] = {};
    Stats stats_ = {};
};

}  // namespace mica::mm
