// A file's data as an array of pages, each allocated when first written: a hole (never
// written, or past a truncation) has no page and reads as zeros, so sparse files cost only
// what they hold, and a file is not limited by the heap's largest block (a contiguous buffer
// was, at 4 MiB). The pages are whole physical pages (data_pages.h), so a page cache can
// later map them into applications. Not thread-safe: the owning vnode's lock covers it.
#pragma once

#include <mica/fs/data_pages.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::fs {

class FilePages {
public:
    // The page index is one heap block: this many bytes of file at most (2 GiB with 4 MiB
    // blocks and 8-byte pointers).
    static uint64_t max_bytes();

    FilePages() = default;
    ~FilePages() { resize(0); }
    FilePages(const FilePages&) = delete;
    FilePages& operator=(const FilePages&) = delete;

    // Copies [offset, offset + length) out; the caller keeps the range inside the file's
    // size. Holes give zeros.
    void read(uint64_t offset, void* buffer, size_t length) const;
    // Copies in, allocating pages as needed; the caller has made room with reserve() or
    // resize(). 0 or
    // -ENOMEM (then the bytes written so far stay, as a short write would leave them).
    int write(uint64_t offset, const void* buffer, size_t length);
    // Makes room for `bytes` of file (growing leaves holes), or frees the pages wholly past
    // it and zeros the tail of the last page (so that growing again reads zeros). 0, -EFBIG
    // beyond max_bytes(), or -ENOMEM.
    int resize(uint64_t bytes);
    // Makes room for `bytes` of file without freeing anything past it (a write that extends
    // the file keeps the pages fallocate(FALLOC_FL_KEEP_SIZE) allocated beyond its end).
    // Bytes past the file's size are always zeros, so no clearing is needed. 0, -EFBIG, -ENOMEM.
    int reserve(uint64_t bytes);
    // fallocate: every hole in [offset, offset + length) gets a zeroed page (the index grows
    // as needed; nothing is freed, even past a smaller size). 0, -EFBIG beyond max_bytes(),
    // or -ENOMEM (the pages allocated so far stay: they read as the zeros they replace).
    int allocate(uint64_t offset, uint64_t length);
    // fallocate's FALLOC_FL_PUNCH_HOLE: [offset, offset + length) reads as zeros afterwards;
    // the pages wholly inside it are freed.
    void punch(uint64_t offset, uint64_t length);

    // The page holding file offset `page_index * data_page_size`, or nullptr for a hole.
    void* page(uint64_t page_index) const { return page_index < count_ ? pages_[page_index] : nullptr; }
    size_t allocated_pages() const { return allocated_; }

private:
    int grow_index(uint64_t pages);  // the index holds at least `pages` entries

    void** pages_ = nullptr;  // count_ entries, nullptr for holes
    uint64_t count_ = 0;
    size_t allocated_ = 0;
};

}  // namespace mica::fs
