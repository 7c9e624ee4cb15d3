// Boot-time bump allocator: page-aligned memory just past the kernel image, used before the
// page allocator exists (page tables, the page allocator's own metadata). Never freed; the
// page allocator is told to skip what it handed out.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica {
struct BootInfo;
}

namespace mica::mm {

// Starts the early region right after the kernel image; it ends at the end of the image's RAM
// range, at the first reserved range above the image (loaders put the device tree there),
// or at `accessible_limit` (what the boot page tables reach), whichever comes first.
void early_init(const BootInfo& boot, uint64_t accessible_limit);
// Page-aligned and zeroed (unless `zero` is false: large tables whose users initialise
// what they read); stops the machine with "not enough memory" when the region is exhausted.
void* early_alloc(size_t bytes, bool zero = true);
uintptr_t early_end();

}  // namespace mica::mm
