// Where file systems get the pages that hold file data: whole pages of the kernel's page
// allocator in the kernel (data_pages.cc), aligned host memory in the unit tests.
#pragma once

#include <stddef.h>

namespace mica::fs {

inline constexpr size_t data_page_size = 4096;

// A page of data_page_size bytes, aligned to it, contents unspecified; nullptr when memory
// is exhausted. free_data_page gives it back (in the kernel: once no application mapping
// shares it any more).
void* alloc_data_page();
void free_data_page(void* page);
// Whether an application maps the page now (the page cache keeps mapped pages: dropping them
// would save nothing).
bool data_page_mapped(const void* page);

}  // namespace mica::fs
