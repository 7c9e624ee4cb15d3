// File data pages come straight from the page allocator: a heap block of a page would carry
// a header and take two. Applications may map them (mm::vm::map_file_pages), so a page the
// file gives up is freed only once no mapping shares it.
#include <mica/fs/data_pages.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>

namespace mica::fs {

void* alloc_data_page() { return mm::alloc_pages(0); }
void free_data_page(void* page) { mm::vm::release_file_page(page); }
bool data_page_mapped(const void* page) { return mm::vm::file_page_mapped(page); }

}  // namespace mica::fs
