// Host stand-in for the kernel's file data pages (fs/data_pages.h): aligned host memory,
// counted so that tests can see a file system give back every page.
#include <mica/fs/data_pages.h>
#include <set>
#include <stdlib.h>

namespace mica::fs {

long host_data_pages_live = 0;
// Pages a test says an application maps (the page cache keeps them).
std::set<const void*> host_data_pages_mapped;

void* alloc_data_page() {
    void* p = aligned_alloc(data_page_size, data_page_size);
    if (p) ++host_data_pages_live;
    return p;
}

void free_data_page(void* page) {
    if (page) --host_data_pages_live;
    free(page);
}

}  // namespace mica::fs

namespace mica::fs {
bool data_page_mapped(const void* page) { return host_data_pages_mapped.count(page) != 0; }
}  // namespace mica::fs
