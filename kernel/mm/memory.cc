// Brings up physical memory from the boot memory map and exports the C allocation API.
#include <mica/boot.h>
#include <mica/export.h>
#include <mica/mm/early.h>
#include <mica/cxx_runtime.h>
#include <mica/mm/memory.h>
#include <mica/panic.h>
#include <stdlib.h>
#include <string.h>

namespace mica::mm {
namespace {
// Below 1 MiB live the real-mode IVT, BIOS data and ROMs; never hand those out.
constexpr uintptr_t low_memory_end = 0x100000;
constexpr uintptr_t largest_block = page_size << (max_order - 1);

// Owned here: the one page allocator and heap, created in init().
alignas(PageAllocator) unsigned char page_allocator_storage[sizeof(PageAllocator)];
alignas(Heap) unsigned char heap_storage[sizeof(Heap)];
PageAllocator* page_allocator = nullptr;
Heap* kernel_heap = nullptr;

void heap_error(const char* problem, const void* pointer) {
    panic("heap: %s (pointer %p)", problem, pointer);
}
}  // namespace

void init(const BootInfo& boot) {
    uintptr_t lowest = ~uintptr_t{0}, highest = 0;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        uintptr_t base = boot.ram[i].base < low_memory_end ? low_memory_end : boot.ram[i].base;
        if (boot.ram[i].end() <= base) continue;
        if (base < lowest) lowest = base;
        if (boot.ram[i].end() > highest) highest = boot.ram[i].end();
    }
    if (highest == 0) panic("no usable RAM above 1 MiB in the boot memory map");
    // Align the span's base so buddy blocks are naturally aligned in physical memory.
    uintptr_t base = lowest & ~(largest_block - 1);
    size_t span_pages = (highest - base + page_size - 1) >> page_shift;
    // The metadata is sized from the memory present: 9 bytes per 4 KiB page (0.2%).
    auto* metadata = static_cast<uint8_t*>(early_alloc(PageAllocator::metadata_bytes(span_pages), false));

    page_allocator = new (page_allocator_storage) PageAllocator();
    page_allocator->init(base, span_pages, metadata);
    uintptr_t kernel_start = reinterpret_cast<uintptr_t>(_kernel_start);
    uintptr_t reserved_end = early_end();  // image, then early allocations, are contiguous
    for (size_t i = 0; i < boot.ram_count; ++i) {
        uintptr_t start = boot.ram[i].base < low_memory_end ? low_memory_end : boot.ram[i].base;
        uintptr_t end = boot.ram[i].end();
        if (start >= end) continue;
        // Add the parts of this range outside [kernel_start, reserved_end).
        if (start < kernel_start) page_allocator->add_free_range(start, end < kernel_start ? end : kernel_start);
        if (end > reserved_end) page_allocator->add_free_range(start > reserved_end ? start : reserved_end, end);
    }
    kernel_heap = new (heap_storage) Heap(*page_allocator, heap_error);
}

PageAllocator& pages() { return *page_allocator; }
Heap& heap() { return *kernel_heap; }

}  // namespace mica::mm

using mica::mm::heap;

extern "C" {

MICA_EXPORT void* malloc(size_t size) { return heap().alloc(size); }

MICA_EXPORT void free(void* ptr) { heap().free(ptr); }

MICA_EXPORT void* calloc(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return nullptr;
    void* p = heap().alloc(total);
    if (p) memset(p, 0, total);
    return p;
}

MICA_EXPORT void* realloc(void* ptr, size_t size) { return heap().realloc(ptr, size); }

MICA_EXPORT void* aligned_alloc(size_t alignment, size_t size) { return heap().alloc(size, alignment); }

}  // extern "C"
