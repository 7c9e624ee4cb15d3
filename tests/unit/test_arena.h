// Host memory standing in for physical RAM, with a page allocator over all of it: shared by
// the allocator tests.
#pragma once

#include <mica/mm/page_allocator.h>

#include <cstdlib>
#include <vector>

namespace mica::mm::test {

struct TestArena {
    explicit TestArena(size_t pages, bool add_all = true)
        : pages(pages),
          memory(static_cast<uint8_t*>(std::aligned_alloc(largest, (pages * page_size + largest - 1) / largest * largest))),
          metadata(PageAllocator::metadata_bytes(pages)) {
        allocator.init(base(), pages, metadata.data());
        if (add_all) allocator.add_free_range(base(), base() + pages * page_size);
    }
    ~TestArena() { std::free(memory); }
    TestArena(const TestArena&) = delete;
    TestArena& operator=(const TestArena&) = delete;
    uintptr_t base() const { return reinterpret_cast<uintptr_t>(memory); }

    static constexpr size_t largest = page_size << (max_order - 1);
    size_t pages;
    uint8_t* memory;
    std::vector<uint8_t> metadata;
    PageAllocator allocator;
};

}  // namespace mica::mm::test
