#include <mica/fs/abi.h>
#include <mica/fs/file_pages.h>
#include <mica/mm/heap.h>
#include <stdlib.h>
#include <string.h>

namespace mica::fs {
namespace {
constexpr uint64_t page_size = data_page_size;
uint64_t pages_for(uint64_t bytes) { return (bytes + page_size - 1) / page_size; }
}  // namespace

uint64_t FilePages::max_bytes() { return mm::Heap::max_allocation / sizeof(void*) * page_size; }

void FilePages::read(uint64_t offset, void* buffer, size_t length) const {
    auto* out = static_cast<char*>(buffer);
    while (length > 0) {
        uint64_t index = offset / page_size, within = offset % page_size;
        size_t n = page_size - within < length ? page_size - within : length;
        if (void* p = page(index)) {
            memcpy(out, static_cast<char*>(p) + within, n);
        } else {
            memset(out, 0, n);
        }
        out += n;
        offset += n;
        length -= n;
    }
}

int FilePages::write(uint64_t offset, const void* buffer, size_t length) {
    auto* in = static_cast<const char*>(buffer);
    while (length > 0) {
        uint64_t index = offset / page_size, within = offset % page_size;
        size_t n = page_size - within < length ? page_size - within : length;
        if (!pages_[index]) {
            void* fresh = alloc_data_page();
            if (!fresh) return -errno_nomem;
            // Only the bytes not about to be written need clearing.
            if (within) memset(fresh, 0, within);
            if (within + n < page_size) memset(static_cast<char*>(fresh) + within + n, 0, page_size - within - n);
            pages_[index] = fresh;
            ++allocated_;
        }
        memcpy(static_cast<char*>(pages_[index]) + within, in, n);
        in += n;
        offset += n;
        length -= n;
    }
    return 0;
}

int FilePages::grow_index(uint64_t wanted) {
    // The index grows by doubling, so appends stay amortised O(1).
    uint64_t capacity = count_ * 2 > wanted ? count_ * 2 : wanted;
    if (capacity * sizeof(void*) > mm::Heap::max_allocation) capacity = wanted;
    auto** grown = static_cast<void**>(realloc(pages_, capacity * sizeof(void*)));
    if (!grown) return -errno_nomem;
    memset(grown + count_, 0, (capacity - count_) * sizeof(void*));
    pages_ = grown;
    count_ = capacity;
    return 0;
}

int FilePages::allocate(uint64_t offset, uint64_t length) {
    if (length == 0) return 0;
    if (offset > max_bytes() || length > max_bytes() - offset) return -errno_fbig;
    uint64_t first = offset / page_size, end = pages_for(offset + length);
    if (end > count_) {
        if (int result = grow_index(end); result < 0) return result;
    }
    for (uint64_t i = first; i < end; ++i) {
        if (pages_[i]) continue;
        void* fresh = alloc_data_page();
        if (!fresh) return -errno_nomem;
        memset(fresh, 0, page_size);
        pages_[i] = fresh;
        ++allocated_;
    }
    return 0;
}

void FilePages::punch(uint64_t offset, uint64_t length) {
    uint64_t end = offset + length < offset ? UINT64_MAX : offset + length;
    while (offset < end && offset / page_size < count_) {
        uint64_t index = offset / page_size, within = offset % page_size;
        uint64_t n = page_size - within < end - offset ? page_size - within : end - offset;
        if (void* p = pages_[index]) {
            if (n == page_size) {
                free_data_page(p);
                pages_[index] = nullptr;
                --allocated_;
            } else {
                memset(static_cast<char*>(p) + within, 0, n);
            }
        }
        offset += n;
    }
}

int FilePages::reserve(uint64_t bytes) {
    if (bytes > max_bytes()) return -errno_fbig;
    uint64_t wanted = pages_for(bytes);
    return wanted > count_ ? grow_index(wanted) : 0;
}

int FilePages::resize(uint64_t bytes) {
    if (bytes > max_bytes()) return -errno_fbig;
    uint64_t wanted = pages_for(bytes);
    if (wanted > count_) return grow_index(wanted);
    for (uint64_t i = wanted; i < count_; ++i) {
        if (pages_[i]) {
            free_data_page(pages_[i]);
            pages_[i] = nullptr;
            --allocated_;
        }
    }
    if (bytes % page_size && pages_[bytes / page_size]) {
        memset(static_cast<char*>(pages_[bytes / page_size]) + bytes % page_size, 0, page_size - bytes % page_size);
    }
    if (wanted == 0) {
        free(pages_);
        pages_ = nullptr;
        count_ = 0;
    }
    return 0;
}

}  // namespace mica::fs
