// File data pages come straight from the page allocator: a heap block of a page would carry
// a header and take two.
#include <mica/fs/data_pages.h>
#include <mica/mm/memory.h>

namespace mica::fs {

void* alloc_data_page() { return mm::alloc_pages(0); }
void free_data_page(void* page) { mm::free_pages(page, 0); }

}  // namespace mica::fs
