// Physical memory and the kernel heap, brought up from the boot memory map.
#pragma once

#include <mica/mm/heap.h>
#include <mica/mm/page_allocator.h>

namespace mica {
struct BootInfo;
}

namespace mica::mm {

// Page allocator over all RAM except the low 1 MiB, the kernel image and early allocations.
void init(const BootInfo& boot);
PageAllocator& pages();
Heap& heap();
// The C allocator's entry (locked; through the checking layer with CONFIG_DEBUG_MEMORY);
// `site` is the caller's return address, named in debug reports.
void* allocate(size_t size, size_t alignment, uintptr_t site);
void release(void* pointer);
void* reallocate(void* pointer, size_t size, uintptr_t site);
// The malloc front end chosen in Kconfig (MM_ALLOCATOR), and the free small objects its
// per-CPU caches hold (counted as allocated in heap().stats()).
const char* allocator_name();
size_t cached_objects();
size_t cached_bytes();
// Allocations the kernel holds: the heap's count minus the free objects in caches.
size_t live_allocations();
// One consistent reading of the memory accounting (tools/soak compares them over time).
struct Usage {
    size_t live_allocations;  // as live_allocations()
    size_t live_bytes;        // their bytes (size classes, large blocks' usable size)
    size_t heap_pages;        // pages the heap holds (slabs and large blocks)
    size_t free_pages;
    size_t total_pages;
};
Usage usage();
// CONFIG_DEBUG_MEMORY: allocations made after start_leak_check() and still live at
// report_leaks() are printed with their allocation sites; returns how many.
void start_leak_check();
size_t report_leaks();

// Gives RAM the boot loader lent (the initrd, once unpacked) to the page allocator: the
// whole pages inside the physical range [base, base + size).
void release_boot_memory(uint64_t base, uint64_t size);

// Whether [p, p + bytes) is RAM in the direct map (heap and page-allocator memory, not
// application mappings, kernel stacks or the image): physically contiguous, so
// virt_to_phys(p) is a device address for the whole range (drivers handing memory to a
// device in place check this first).
bool in_direct_map(const void* p, size_t bytes);

// The page allocator for concurrent callers (it takes the allocator's lock).
void* alloc_pages(unsigned order);
void free_pages(void* block, unsigned order);

}  // namespace mica::mm
