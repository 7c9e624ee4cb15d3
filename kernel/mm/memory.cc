// Brings up physical memory from the boot memory map and exports the C allocation API.
#include <mica/trace/trace.h>
#include <arch/arch.h>
#include <mica/boot.h>
#include <mica/export.h>
#include <mica/mm/early.h>
#include <mica/cxx_runtime.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/ksyms.h>
#include <mica/mm/debug_heap.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include "memory_internal.h"
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
alignas(DebugHeap) unsigned char debug_heap_storage[sizeof(DebugHeap)];
uint64_t leak_mark = 0;

void debug_report(const char* problem, const void* pointer, size_t size, uintptr_t site) {
    ksyms::Symbol s = ksyms::lookup(site);
    if (site && s.name) {
        panic("heap: %s (pointer %p; %zu bytes allocated at %s+%#lx)", problem, pointer, size, s.name, s.offset);
    }
    panic("heap: %s (pointer %p)", problem, pointer);
}

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
    if (start < end) page_allocator->add_free_range(reinterpret_cast<uintptr_t>(phys_to_virt(start)),
                                                    reinterpret_cast<uintptr_t>(phys_to_virt(end)));
}
}  // namespace

Heap* kernel_heap = nullptr;
DebugHeap* debug_heap = nullptr;

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
    page_allocator->init(reinterpret_cast<uintptr_t>(phys_to_virt(base)), span_pages, metadata);
    // The image and the early allocations after it are contiguous; then the arch's reserved
    // ranges (firmware areas, the device tree blob).
    MemoryRange holes[BootInfo::max_reserved + 1];
    size_t hole_count = 0;
    uintptr_t image = virt_to_phys(_kernel_start);
    holes[hole_count++] = {image, early_end() - image};
    for (size_t i = 0; i < boot.reserved_count; ++i) holes[hole_count++] = boot.reserved[i];
    for (size_t i = 0; i < boot.ram_count; ++i) add_ram(boot.ram[i].base, boot.ram[i].end(), holes, hole_count);
    kernel_heap = new (heap_storage) Heap(*page_allocator, heap_error, CONFIG_DEBUG_MEMORY);
    if (CONFIG_DEBUG_MEMORY) debug_heap = new (debug_heap_storage) DebugHeap(*kernel_heap, debug_report);
}

PageAllocator& pages() { return *page_allocator; }

bool in_direct_map(const void* p, size_t bytes) { return page_allocator && page_allocator->contains(p, bytes); }

// One lock for the page allocator and the heap (which takes pages from it while holding
// it), with interrupts off while held. The malloc front end (malloc_*.cc) may keep per-CPU
// caches in front of it.
sched::Spinlock memory_lock;

void release_boot_memory(uint64_t base, uint64_t size) {
    uint64_t start = (base + page_size - 1) & ~uint64_t{page_size - 1}, end = (base + size) & ~uint64_t{page_size - 1};
    if (start >= end) return;
    sched::SpinGuard guard(memory_lock);
    page_allocator->add_free_range(reinterpret_cast<uintptr_t>(phys_to_virt(start)),
                                   reinterpret_cast<uintptr_t>(phys_to_virt(end)));
}

void* alloc_pages(unsigned order) {
    void* block;
    {
        sched::SpinGuard guard(memory_lock);
        block = page_allocator->alloc(order);
    }
    TRACE(mm_page_alloc, order, block);
    return block;
}

void free_pages(void* block, unsigned order) {
    TRACE(mm_page_free, order, block);
    sched::SpinGuard guard(memory_lock);
    if (page_allocator->free(block, order) != FreeError::none) panic("free_pages: bad block %p (order %u)", block, order);
}
Heap& heap() { return *kernel_heap; }

size_t live_allocations() {
    size_t cached = cached_objects();
    sched::SpinGuard guard(memory_lock);
    return kernel_heap->stats().allocations - cached;
}

Usage usage() {
    size_t cached = cached_objects(), cached_size = cached_bytes();
    sched::SpinGuard guard(memory_lock);
    const Heap::Stats& h = kernel_heap->stats();
    return {h.allocations - cached, h.bytes_in_use - cached_size, h.slab_pages + h.large_pages,
            page_allocator->free_pages(), page_allocator->total_pages()};
}

void start_leak_check() {
    if (debug_heap) leak_mark = debug_heap->sequence();
}

size_t report_leaks() {
    if (!debug_heap) return 0;
    constexpr size_t max_lines = 20;
    size_t shown = 0, bytes = 0;
    size_t n = debug_heap->for_each_live(leak_mark, [&](const void* p, size_t size, uintptr_t site) {
        bytes += size;
        if (shown++ >= max_lines) return;
        ksyms::Symbol s = ksyms::lookup(site);
        kprintf("mica: leak: %zu bytes at %p, allocated at %s+%#lx\n", size, p, s.name ? s.name : "?", s.offset);
    });
    if (n) kprintf("mica: %zu allocations (%zu bytes) made after boot are still live\n", n, bytes);
    return n;
}

}  // namespace mica::mm

extern "C" {

MICA_EXPORT void* malloc(size_t size) {
    void* p = mica::mm::allocate(size, mica::mm::Heap::min_alignment,
                                 reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
    TRACE(mm_malloc, size, p);
    return p;
}

MICA_EXPORT void free(void* ptr) {
    TRACE(mm_free, ptr);
    mica::mm::release(ptr);
}

MICA_EXPORT void* calloc(size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) return nullptr;
    void* p = mica::mm::allocate(total, mica::mm::Heap::min_alignment,
                                 reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
    if (p) memset(p, 0, total);
    TRACE(mm_malloc, total, p);
    return p;
}

MICA_EXPORT void* realloc(void* ptr, size_t size) {
    void* p = mica::mm::reallocate(ptr, size, reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
    if (p != ptr) {  // a move (or a free with size 0): the old block is gone
        if (ptr && (p || size == 0)) TRACE(mm_free, ptr);
        if (p) TRACE(mm_malloc, size, p);
    }
    return p;
}

MICA_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
    void* p = mica::mm::allocate(size, alignment, reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
    TRACE(mm_malloc, size, p);
    return p;
}

}  // extern "C"
