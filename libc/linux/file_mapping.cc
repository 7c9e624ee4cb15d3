// File pages mapped into applications (files.h files_map_pages): ramfs pages mapped where they
// are, page-cache files (squashfs) paged on demand through their pager.
#include <mica/fs/page_cache.h>
#include <mica/linux/files.h>
#include <mica/mm/file_pager.h>
#include <mica/mm/vm.h>
#include "files_impl.h"

namespace mica::abi {

using namespace files;

namespace {
struct MappedPages {
    Vnode* node;
    uint64_t first;  // the file's page index at the mapping's start
};
void* mapped_page(size_t i, void* context) {
    auto* m = static_cast<MappedPages*>(context);
    return m->node->mappable_page(m->first + i);
}
}  // namespace

int files_map_pages(fs::OpenFile* file, uint64_t offset, uintptr_t address, size_t length) {
    constexpr uint64_t page = fs::data_page_size;
    Guard guard(vfs_lock);
    Vnode* node = file->vnode();
    if (!node->has_mappable_pages() || offset % page || address % page) return 0;
    // Up to the end of the file (its last page's tail reads as zeros); the rest of the
    // range is left to demand paging (zeros).
    uint64_t size = node->size, pages = 0;
    if (offset < size) pages = (size - offset + page - 1) / page;
    if (pages > (length + page - 1) / page) pages = (length + page - 1) / page;
    // A file read from disk (squashfs) pages on demand: nothing is read here.
    if (mm::FilePager* pager = node->pager()) {
        int r = pages ? mm::vm::attach_pager(address, static_cast<size_t>(pages) * page, pager, offset / page) : 0;
        if (r == -mm::errno_inval) return 0;  // a shared mapping: copied instead
        return r < 0 ? r : 1;
    }
    // In chunks: a file system whose pages live in the page cache reads a chunk in
    // (prepare_pages, may sleep), then the chunk is mapped before anything can evict it.
    const uint64_t chunk = fs::PageCache::map_chunk_pages;
    for (uint64_t done = 0; done < pages; done += chunk) {
        uint64_t n = pages - done < chunk ? pages - done : chunk;
        if (int r = node->prepare_pages(offset / page + done, n); r < 0) return r;
        MappedPages m{node, offset / page + done};
        if (int r = mm::vm::map_file_pages(address + done * page, static_cast<size_t>(n), mapped_page, &m)) return r;
    }
    return 1;
}

int files_map_fd_pages(int fd, uint64_t offset, uintptr_t address, size_t length) {
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    if (!file->readable()) return -fs::errno_acces;
    return files_map_pages(file.get(), offset, address, length);
}

}  // namespace mica::abi
