// Boot-time bump allocator: page-aligned memory just past the kernel image, used before the
// page allocator exists (page tables, the page allocator's own metadata). Never freed; the
// page allocator is told to skip what it handed out.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

void early_init(uintptr_t start, uintptr_t limit);
// Page-aligned and zeroed (unless `zero` is false: large tables whose users initialise
// what they read); panics when the early region is exhausted.
void* early_alloc(size_t bytes, bool zero = true);
uintptr_t early_end();

}  // namespace mica::mm
