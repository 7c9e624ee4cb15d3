// Host stand-in for the kernel's file data pages (fs/data_pages.h): aligned host memory,
// counted so that tests can see a file system give back every page.
#include <mica/fs/data_pages.h>
#include <stdlib.h>

namespace mica::fs {

long host_data_pages_live = 0;

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
