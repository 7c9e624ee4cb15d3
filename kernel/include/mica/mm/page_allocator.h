// Physical page allocator: a binary buddy system over one span of physical addresses.
// All bookkeeping (a state byte and two list links per page, 9 bytes per 4 KiB page) lives in
// a caller-provided metadata array, never in the free pages themselves: boot does not touch
// free RAM, so the hypervisor need not back it until it is used (touching one page per block
// cost 25-700 ms of boot under QEMU while the host populated memory). Host-testable.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

inline constexpr size_t page_size = 4096;
inline constexpr unsigned page_shift = 12;
// Orders 0..max_order-1: the largest block is 2^(max_order-1) pages (4 MiB).
inline constexpr unsigned max_order = 11;

enum class FreeError { none, out_of_range, misaligned, double_free };

class PageAllocator {
public:
    // Bytes of metadata needed for a span of `pages` pages.
    static constexpr size_t metadata_bytes(size_t pages) {
        return links_offset(pages) + 2 * pages * sizeof(uint32_t);
    }

    // Manages [base, base + pages * page_size); every page starts unavailable.
    // `base` should be aligned to the largest block so blocks are naturally aligned.
    void init(uintptr_t base, size_t pages, uint8_t* metadata);

    // Makes the whole pages inside [start, end) available.
    void add_free_range(uintptr_t start, uintptr_t end);

    // A block of 2^order pages aligned to its size, or nullptr when none is left.
    void* alloc(unsigned order);
    FreeError free(void* block, unsigned order);

    // Whether [p, p + bytes) lies inside the managed span (a non-empty range; allocated or not).
    bool contains(const void* p, size_t bytes) const {
        auto a = reinterpret_cast<uintptr_t>(p);
        size_t span = pages_ << page_shift;
        return bytes && a >= base_ && a - base_ < span && bytes <= span - (a - base_);
    }

    size_t total_pages() const { return total_pages_; }
    size_t free_pages() const { return free_pages_; }
    // Largest order with a free block, or -1: a fragmentation measure for tests and stats.
    int largest_free_order() const;

private:
    static constexpr uint8_t not_free = 0xff;  // state byte of pages that are not a free head
    static constexpr uint32_t none = 0xffffffff;
    static constexpr size_t links_offset(size_t pages) { return (pages + 3) & ~size_t{3}; }

    size_t index_of(const void* p) const { return (reinterpret_cast<uintptr_t>(p) - base_) >> page_shift; }
    void* block_at(size_t index) const { return reinterpret_cast<void*>(base_ + (index << page_shift)); }
    void push(size_t index, unsigned order);
    void unlink(size_t index, unsigned order);
    void release(size_t index, unsigned order);  // free with buddy merging

    uintptr_t base_ = 0;
    size_t pages_ = 0;
    uint8_t* state_ = nullptr;  // per page: order if it heads a free block, else not_free
    uint32_t* next_ = nullptr;  // per free head: next/previous free head of the same order
    uint32_t* prev_ = nullptr;
    uint32_t free_lists_[max_order] = {};
    size_t total_pages_ = 0;
    size_t free_pages_ = 0;
};

// Smallest order whose block holds `bytes`.
constexpr unsigned order_for_bytes(size_t bytes) {
    unsigned order = 0;
    while ((page_size << order) < bytes) ++order;
    return order;
}

}  // namespace mica::mm
