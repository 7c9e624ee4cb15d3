// The few C++ runtime pieces a freestanding kernel needs: global constructors, operator
// new/delete on the kernel heap (and their std::nothrow forms), and the hooks GCC emits calls to.
#include <mica/cxx_runtime.h>
#include <mica/mm/exhaustion.h>
#include <mica/panic.h>
#include <mica/mm/memory.h>
#include <stdlib.h>

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[], __init_array_end[];

// The kernel never returns from kernel_main, so global destructors never run; recording
// them would only cost memory.
__attribute__((visibility("hidden"))) int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
__attribute__((visibility("hidden"))) void* __dso_handle = &__dso_handle;
__attribute__((visibility("hidden"))) void __cxa_pure_virtual() { mica::panic("pure virtual function called"); }
}

namespace mica {
void run_global_constructors() {
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c) (*c)();
}
}  // namespace mica

namespace {
[[gnu::always_inline]] inline void* checked_alloc(size_t size) {
    // The site is the caller of operator new, not operator new itself.
    void* p = mica::mm::allocate(size, mica::mm::Heap::min_alignment,
                                 reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
    // No exceptions in the kernel: running out of memory in `new` is fatal.
    if (!p) mica::mm::kernel_out_of_memory("operator new", size);
    return p;
}
}  // namespace

// Always default-visible (GCC declares them implicitly); tools/gen-exports.py keeps them out
// of the export list: applications bring their own C++ runtime.
void* operator new(size_t size) { return checked_alloc(size); }
void* operator new[](size_t size) { return checked_alloc(size); }
// `new (std::nothrow) T`: nullptr when memory is exhausted, for code that answers -ENOMEM
// (and compiles unchanged for the host tests).
namespace std {
const nothrow_t nothrow{};
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
    return mica::mm::allocate(size, mica::mm::Heap::min_alignment,
                              reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
    return mica::mm::allocate(size, mica::mm::Heap::min_alignment,
                              reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
}
void operator delete(void* p) noexcept { mica::mm::release(p); }
void operator delete[](void* p) noexcept { mica::mm::release(p); }
void operator delete(void* p, size_t) noexcept { mica::mm::release(p); }
void operator delete[](void* p, size_t) noexcept { mica::mm::release(p); }
