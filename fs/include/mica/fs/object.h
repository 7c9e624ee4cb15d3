// Allocation for fs objects: malloc + placement new, so that running out of memory is an
// -ENOMEM for the caller (the kernel's operator new panics instead). Objects made here are
// destroyed with `delete`, which the classes route back to free().
#pragma once

#include <stddef.h>
#include <stdlib.h>

// Placement new: <new> on the host; the freestanding kernel has no C++ headers.
#if __STDC_HOSTED__
#include <new>
#else
#include <mica/cxx_runtime.h>
#endif

namespace mica::fs {

// A new T constructed from `args`, or nullptr when memory is exhausted.
template <typename T, typename... Args>
T* make_object(Args... args) {
    void* memory = malloc(sizeof(T));
    if (!memory) return nullptr;
    return new (memory) T(args...);
}

// Base for classes made with make_object: `delete` frees with free().
struct MallocAllocated {
    static void operator delete(void* p) { free(p); }
};

}  // namespace mica::fs
