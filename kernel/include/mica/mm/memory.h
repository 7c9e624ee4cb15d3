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
// The page allocator for concurrent callers (it takes the allocator's lock).
void* alloc_pages(unsigned order);
void free_pages(void* block, unsigned order);

}  // namespace mica::mm
