#include <gtest/gtest.h>
#include <mica/mm/heap.h>

#include "test_arena.h"

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace mica::mm;

namespace {

constexpr size_t arena_pages = 8192;  // 32 MiB
std::vector<std::string> errors;

struct HeapFixture : ::testing::Test {
    HeapFixture() { errors.clear(); }
    test::TestArena arena{arena_pages};
    PageAllocator& pages = arena.allocator;
    Heap heap{pages, [](const char* problem, const void*) { errors.emplace_back(problem); }};
};

TEST_F(HeapFixture, SmallAndLargeAllocationsAreUsableAndAligned) {
    for (size_t size : {1, 15, 16, 17, 100, 2048, 2049, 4000, 5000, 100000, 3 << 20}) {
        auto* p = static_cast<uint8_t*>(heap.alloc(size));
        ASSERT_NE(p, nullptr) << size;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Heap::min_alignment, 0u);
        EXPECT_GE(heap.usable_size(p), size);
        std::memset(p, 0xab, heap.usable_size(p));
        heap.free(p);
    }
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(heap.stats().allocations, 0u);
    EXPECT_EQ(heap.stats().bytes_in_use, 0u);
    EXPECT_EQ(heap.stats().large_pages, 0u);
}

// A large object holds the pages it needs, not the power of two around them: the run's tail
// goes back to the page allocator, and all of it comes back at free.
TEST_F(HeapFixture, LargeRunsGiveTheirTailBack) {
    size_t before = pages.free_pages();
    void* p = heap.alloc(32 * 1024);  // 8 pages and the header: 9 pages, not 16
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(before - pages.free_pages(), 9u);
    EXPECT_EQ(heap.stats().large_pages, 9u);
    EXPECT_EQ(heap.usable_size(p), 9 * page_size - Heap::header_bytes);
    void* q = heap.alloc(128 * 1024 + 1);  // 33 pages, from a 64-page block
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(before - pages.free_pages(), 9u + 33u);
    void* aligned = heap.alloc(5 * page_size, page_size);  // header page + 5
    ASSERT_NE(aligned, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % page_size, 0u);
    EXPECT_EQ(before - pages.free_pages(), 9u + 33u + 6u);
    std::memset(p, 1, 32 * 1024);
    std::memset(q, 2, 128 * 1024 + 1);
    std::memset(aligned, 3, 5 * page_size);
    heap.free(q);
    heap.free(p);
    heap.free(aligned);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(pages.free_pages(), before);
    EXPECT_EQ(heap.stats().large_pages, 0u);
    // The freed pieces merged again: the largest block is back.
    void* big = heap.alloc(3 << 20);
    EXPECT_NE(big, nullptr);
    heap.free(big);
}

TEST_F(HeapFixture, AlignmentRequests) {
    for (size_t align : {16, 32, 64, 128, 256, 1024, 4096}) {
        for (size_t size : {1, 24, 100, 3000, 9000}) {
            void* p = heap.alloc(size, align);
            ASSERT_NE(p, nullptr) << size << "/" << align;
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << size << "/" << align;
            EXPECT_GE(heap.usable_size(p), size);
            heap.free(p);
        }
    }
    EXPECT_EQ(heap.alloc(8, 48), nullptr);          // not a power of two
    EXPECT_EQ(heap.alloc(8, 2 * page_size), nullptr);  // larger than supported
    EXPECT_TRUE(errors.empty());
}

TEST_F(HeapFixture, DoubleFreeAndForeignPointersAreReported) {
    void* small = heap.alloc(40);
    heap.free(small);
    heap.free(small);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], "double free");

    void* large = heap.alloc(50000);
    heap.free(large);
    heap.free(large);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[1], "double free");

    auto* obj = static_cast<uint8_t*>(heap.alloc(64));
    heap.free(obj + 16);
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors[2], "free of a pointer into the middle of a heap object");
    heap.free(obj);

    alignas(64) static uint8_t not_heap[page_size * 2];
    heap.free(not_heap + page_size + 64);
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[3], "free of a pointer not from the heap");
}

TEST_F(HeapFixture, FreedMemoryWhoseDataLooksLikeTheMarkerIsNotADoubleFree) {
    // An object holding the free-marker value in its second word must still free once.
    auto* p = static_cast<uint64_t*>(heap.alloc(32));
    p[1] = 0xf4eef4eef4eef4eeull;
    heap.free(p);
    EXPECT_TRUE(errors.empty());
}

TEST_F(HeapFixture, ReallocKeepsContents) {
    auto* p = static_cast<char*>(heap.alloc(10));
    std::strcpy(p, "123456789");
    p = static_cast<char*>(heap.realloc(p, 5000));
    ASSERT_NE(p, nullptr);
    EXPECT_STREQ(p, "123456789");
    p = static_cast<char*>(heap.realloc(p, 8));  // shrinking keeps the block
    EXPECT_STREQ(p, "123456789");
    EXPECT_EQ(heap.realloc(p, 0), nullptr);
    EXPECT_EQ(heap.stats().allocations, 0u);
}

TEST_F(HeapFixture, OutOfMemoryReturnsNull) {
    std::vector<void*> blocks;
    while (void* p = heap.alloc(1 << 20)) blocks.push_back(p);
    EXPECT_GT(blocks.size(), 10u);
    EXPECT_EQ(heap.alloc(4 << 20), nullptr);
    for (void* p : blocks) heap.free(p);
    EXPECT_EQ(pages.free_pages(), arena_pages);
}

// Random sizes, each block filled with its own pattern and checked before it is freed.
TEST_F(HeapFixture, RandomStressKeepsBlocksIntact) {
    std::mt19937 rng(99);
    struct Block {
        uint8_t* p;
        size_t size;
        uint8_t fill;
    };
    std::vector<Block> live;
    size_t free_at_start = pages.free_pages();
    for (int step = 0; step < 30000; ++step) {
        if (live.empty() || rng() % 5 < 3) {
            size_t size = rng() % 4 == 0 ? rng() % 20000 + 1 : rng() % 50 == 0 ? rng() % 60000 + 1 : rng() % 300 + 1;
            auto* p = static_cast<uint8_t*>(heap.alloc(size));
            ASSERT_NE(p, nullptr);
            auto fill = static_cast<uint8_t>(rng());
            std::memset(p, fill, size);
            live.push_back({p, size, fill});
        } else {
            size_t i = rng() % live.size();
            for (size_t k = 0; k < live[i].size; ++k) ASSERT_EQ(live[i].p[k], live[i].fill) << "corrupted block";
            heap.free(live[i].p);
            live[i] = live.back();
            live.pop_back();
        }
    }
    for (auto& b : live) heap.free(b.p);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(heap.stats().allocations, 0u);
    EXPECT_EQ(heap.stats().large_pages, 0u);
    EXPECT_EQ(pages.free_pages(), free_at_start - heap.stats().slab_pages);  // no page lost
}

}  // namespace
