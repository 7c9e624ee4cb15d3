#include <mica/mm/page_allocator.h>
#include <string.h>

namespace mica::mm {

void PageAllocator::init(uintptr_t base, size_t pages, uint8_t* metadata) {
    base_ = base;
    pages_ = pages;
    state_ = metadata;
    next_ = reinterpret_cast<uint32_t*>(metadata + links_offset(pages));
    prev_ = next_ + pages;
    memset(state_, not_free, pages);  // links are only read for free heads: no need to clear
    for (auto& list : free_lists_) list = none;
    total_pages_ = free_pages_ = 0;
}

void PageAllocator::push(size_t index, unsigned order) {
    auto i = static_cast<uint32_t>(index);
    prev_[i] = none;
    next_[i] = free_lists_[order];
    if (next_[i] != none) prev_[next_[i]] = i;
    free_lists_[order] = i;
    state_[index] = static_cast<uint8_t>(order);
}

void PageAllocator::unlink(size_t index, unsigned order) {
    auto i = static_cast<uint32_t>(index);
    if (prev_[i] != none) next_[prev_[i]] = next_[i];
    else free_lists_[order] = next_[i];
    if (next_[i] != none) prev_[next_[i]] = prev_[i];
    state_[index] = not_free;
}

void PageAllocator::add_free_range(uintptr_t start, uintptr_t end) {
    if (start < base_) start = base_;
    uintptr_t limit = base_ + (pages_ << page_shift);
    if (end > limit) end = limit;
    start = (start + page_size - 1) & ~(page_size - 1);
    end &= ~(page_size - 1);
    if (start >= end) return;
    size_t index = (start - base_) >> page_shift;
    size_t last = (end - base_) >> page_shift;
    size_t added = last - index;
    total_pages_ += added;
    // Largest naturally aligned blocks first: a 128 MiB range becomes ~32 list insertions.
    while (index < last) {
        unsigned order = max_order - 1;
        while (order && ((index & ((size_t{1} << order) - 1)) || index + (size_t{1} << order) > last)) {
            --order;
        }
        release(index, order);
        index += size_t{1} << order;
    }
}

void PageAllocator::release(size_t index, unsigned order) {
    free_pages_ += size_t{1} << order;
    while (order + 1 < max_order) {
        size_t buddy = index ^ (size_t{1} << order);
        if (buddy + (size_t{1} << order) > pages_ || state_[buddy] != order) break;
        unlink(buddy, order);
        index &= ~(size_t{1} << order);
        ++order;
    }
    push(index, order);
}

void* PageAllocator::alloc(unsigned order) {
    if (order >= max_order) return nullptr;
    unsigned found = order;
    while (found < max_order && free_lists_[found] == none) ++found;
    if (found == max_order) return nullptr;
    size_t index = free_lists_[found];
    unlink(index, found);
    // Split: the upper halves go back on the smaller lists.
    while (found > order) {
        --found;
        push(index + (size_t{1} << found), found);
    }
    free_pages_ -= size_t{1} << order;
    return block_at(index);
}

FreeError PageAllocator::free(void* block, unsigned order) {
    auto addr = reinterpret_cast<uintptr_t>(block);
    if (order >= max_order || addr < base_ || addr >= base_ + (pages_ << page_shift)) {
        return FreeError::out_of_range;
    }
    size_t index = index_of(block);
    if ((addr & (page_size - 1)) || (index & ((size_t{1} << order) - 1))) return FreeError::misaligned;
    if (index + (size_t{1} << order) > pages_) return FreeError::out_of_range;
    // Already free: either it heads a free block, or it lies inside a larger free block.
    if (state_[index] != not_free) return FreeError::double_free;
    for (unsigned o = order + 1; o < max_order; ++o) {
        size_t head = index & ~((size_t{1} << o) - 1);
        if (state_[head] == o) return FreeError::double_free;
    }
    release(index, order);
    return FreeError::none;
}

int PageAllocator::largest_free_order() const {
    for (int o = max_order - 1; o >= 0; --o) {
        if (free_lists_[o] != none) return o;
    }
    return -1;
}

}  // namespace mica::mm
