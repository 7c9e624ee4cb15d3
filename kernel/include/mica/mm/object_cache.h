// One CPU's cache of free small objects in front of the shared heap (Bonwick's magazines,
// one per size class): malloc and free of small objects touch only the CPU's own cache,
// with interrupts off but no lock, and go to the locked heap in batches - a refill of
// `batch` objects when a class runs empty, a flush of `batch` when it is full. Objects in a
// cache count as allocated in the heap's statistics. Host-testable: the heap side is a
// pair of callbacks.
#pragma once

#include <mica/mm/heap.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

class ObjectCache {
public:
    static constexpr unsigned capacity = 32;  // objects per class: 14 classes x 32 x 8 B per CPU
    static constexpr unsigned batch = capacity / 2;

    struct Source {
        // Up to `wanted` objects of `size_class` into `out`; returns how many.
        unsigned (*fill)(unsigned size_class, void** out, unsigned wanted, void* context);
        // Gives `count` objects back.
        void (*drain)(void* const* objects, unsigned count, void* context);
        void* context;
    };

    // nullptr when the heap is out of memory.
    void* alloc(unsigned size_class, const Source& source);
    void free(void* object, unsigned size_class, const Source& source);
    // Gives every cached object back (a CPU going away, a low-memory path, the tests).
    void drain_all(const Source& source);
    size_t cached_objects() const;
    size_t cached_bytes() const;  // their size classes' bytes

private:
    struct Magazine {
        unsigned count;
        void* objects[capacity];
    };
    Magazine magazines_[Heap::class_count] = {};
};

}  // namespace mica::mm
