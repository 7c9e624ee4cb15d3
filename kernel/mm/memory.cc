// Brings up physical memory from the boot memory map and exports the C allocation API.
#include <arch/arch.h>
#include <mica/boot.h>
#include <mica/export.h>
#include <mica/mm/early.h>
#include <mica/cxx_runtime.h>
#include <mica/mm/memory.h>
#include <mica/panic.h>
#include <mica/sched/spinlock.h>
#include <stdlib.h>
#include <string.h>

namespace mica::mm {
namespace {
constexpr uintptr_t largest_block = page_size << (max_order - 1);

// Owned here: the one page allocator and heap, created in init().
alignas(PageAllocator) unsigned char page_allocator_storage[sizeof(PageAllocator)];
alignas(Heap) unsigned char heap_storage[sizeof(Heap)];
PageAllocator* page_allocator = nullptr;
Heap* kernel_heap = nullptr;

void heap_error(const char* problem, const void* pointer) {
    panic("heap: %s (pointer %p)", problem, pointer);
}


// Adds [start, end) minus every range in `holes` (sorted or not) to the allocator.
void add_ram(uintptr_t start, uintptr_t end, const MemoryRange* holes, size_t hole_count) {
    for (size_t i = 0; i < hole_count && start < end; ++i) {
        uintptr_t hole_start = holes[i].base, hole_end = holes[i].end();
        if (hole_end <= start || hole_start >= end) continue;
        if (hole_start > start) add_ram(start, hole_start, holes + i + 1, hole_count - i - 1);
        start = hole_end;
    }
    if (start < end) page_allocator->add_free_range(start, end);
}
}  // namespace

void init(const BootInfo& boot) {
    uintptr_t lowest = ~uintptr_t{0}, highest = 0;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].base < lowest) lowest = boot.ram[i].base;
        if (boot.ram[i].end() > highest) highest = boot.ram[i].end();
    }
    if (highest == 0) panic("no RAM in the boot memory map");
    // Align the span's base so buddy blocks are naturally aligned in physical memory.
    uintptr_t base = lowest & ~(largest_block - 1);
    size_t span_pages = (highest - base + page_size - 1) >> page_shift;
    // The metadata is sized from the memory present: 9 bytes per 4 KiB page (0.2%).
    auto* metadata = static_cast<uint8_t*>(early_alloc(PageAllocator::metadata_bytes(span_pages), false));

    page_allocator = new (page_allocator_storage) PageAllocator();
    page_allocator->init(base, span_pages, metadata);
    // The image and the early allocations after it are contiguous; then the arch's reserved
    // ranges (firmware areas, the device tree blob).
    MemoryRange holes[BootInfo::max_reserved + 1];
    size_t hole_count = 0;
    auto image = reinterpret_cast<uintptr_t>(_kernel_start);
    holes[hole_count++] = {image, early_end() - image};
    for (size_t i = 0; i < boot.reserved_count; ++i) holes[hole_count++] = boot.reserved[i];
    for (size_t i = 0; i < boot.ram_count; ++i) add_ram(boot.ram[i].base, boot.ram[i].end(), holes, hole_count);
    kernel_heap = new (heap_storage) Heap(*page_allocator, heap_error);
}

PageAllocator& pages() { return *page_allocator; }

// One lock for the page allocator and the heap (which takes pages from it while holding
// it), with interrupts off while held. Per-CPU caches in front of the heap are issue 5.
sched::Spinlock memory_lock;

void* alloc_pages(unsigned order) {
    sched::SpinGuard guard(memory_lock);
    return page_allocator->alloc(order);
}

void free_pages(void* block, unsigned order) {
    sched::SpinGuard guard(memory_lock);
    if (page_allocator->free(block, order) != FreeError::none) panic("free_pages: bad block %p (order %u)", block, order);
}
Heap& heap() { return *kernel_heap; }

}  // namespace mica::mm

using mica::mm::heap;

namespace mica::mm {
extern sched::Spinlock memory_lock;
}

namespace {
struct HeapLock {
    mica::sched::SpinGuard guard{mica::mm::memory_lock};
};
}  // namespace

extern "C" {

MICA_EXPORT void* malloc(size_t size) {
    HeapLock lock;
    return heap().alloc(size);
}

MICA_EXPORT void free(void* ptr) {
    HeapLock lock;
    heap().free(ptr);
}

MICA_EXPORT void* calloc(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return nullptr;
    void* p = malloc(total);
    if (p) memset(p, 0, total);
    return p;
}

MICA_EXPORT void* realloc(void* ptr, size_t size) {
    HeapLock lock;
    return heap().realloc(ptr, size);
}

MICA_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
    HeapLock lock;
    return heap().alloc(size, alignment);
}

}  // extern "C"
