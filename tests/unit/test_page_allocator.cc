#include <gtest/gtest.h>
#include <mica/mm/page_allocator.h>

#include "test_arena.h"

#include <cstdlib>
#include <map>
#include <random>
#include <vector>

using namespace mica::mm;

namespace {

struct Arena : test::TestArena {
    explicit Arena(size_t pages) : TestArena(pages, false) {}
};

TEST(PageAllocator, StartsEmptyAndAddsWholePagesOnly) {
    Arena a(1024);
    EXPECT_EQ(a.allocator.free_pages(), 0u);
    EXPECT_EQ(a.allocator.alloc(0), nullptr);
    a.allocator.add_free_range(a.base() + 100, a.base() + 10 * page_size + 5);  // pages 1..9
    EXPECT_EQ(a.allocator.free_pages(), 9u);
    EXPECT_EQ(a.allocator.total_pages(), 9u);
}

// contains() decides whether a driver may give memory to a device in place: exactly the
// span, whatever is allocated, and no range that leaves it or wraps around.
TEST(PageAllocator, ContainsExactlyTheSpan) {
    Arena a(64);
    const size_t span = 64 * page_size;
    auto at = [&](uintptr_t offset) { return reinterpret_cast<const void*>(a.base() + offset); };
    EXPECT_TRUE(a.allocator.contains(at(0), 1));
    EXPECT_TRUE(a.allocator.contains(at(0), span));
    EXPECT_TRUE(a.allocator.contains(at(span - 1), 1));
    EXPECT_TRUE(a.allocator.contains(at(page_size - 10), 20));  // across a page boundary
    EXPECT_FALSE(a.allocator.contains(at(span - 1), 2));
    EXPECT_FALSE(a.allocator.contains(at(span), 1));
    EXPECT_FALSE(a.allocator.contains(at(0), span + 1));
    EXPECT_FALSE(a.allocator.contains(at(0), 0));
    EXPECT_FALSE(a.allocator.contains(reinterpret_cast<const void*>(a.base() - 1), 2));
    EXPECT_FALSE(a.allocator.contains(at(16), SIZE_MAX));  // a length that wraps
    EXPECT_FALSE(a.allocator.contains(nullptr, 16));
}

TEST(PageAllocator, BlocksAreAlignedAndDisjoint) {
    Arena a(2048);
    a.allocator.add_free_range(a.base(), a.base() + 2048 * page_size);
    EXPECT_EQ(a.allocator.largest_free_order(), int(max_order - 1));
    std::vector<std::pair<uintptr_t, unsigned>> blocks;
    for (unsigned order : {0u, 3u, 1u, 10u, 0u, 5u}) {
        void* p = a.allocator.alloc(order);
        ASSERT_NE(p, nullptr);
        auto addr = reinterpret_cast<uintptr_t>(p);
        EXPECT_EQ((addr - a.base()) % (page_size << order), 0u) << "order " << order;
        for (auto [other, o] : blocks) {
            bool disjoint = addr + (page_size << order) <= other || other + (page_size << o) <= addr;
            EXPECT_TRUE(disjoint);
        }
        blocks.emplace_back(addr, order);
    }
    for (auto [addr, order] : blocks) {
        EXPECT_EQ(a.allocator.free(reinterpret_cast<void*>(addr), order), FreeError::none);
    }
    // Everything merged back into maximal blocks.
    EXPECT_EQ(a.allocator.free_pages(), 2048u);
    EXPECT_EQ(a.allocator.alloc(max_order - 1) != nullptr, true);
    EXPECT_NE(a.allocator.alloc(max_order - 1), nullptr);
    EXPECT_EQ(a.allocator.alloc(max_order - 1), nullptr);
}

TEST(PageAllocator, ExhaustionReturnsNull) {
    Arena a(64);
    a.allocator.add_free_range(a.base(), a.base() + 64 * page_size);
    for (int i = 0; i < 64; ++i) ASSERT_NE(a.allocator.alloc(0), nullptr) << i;
    EXPECT_EQ(a.allocator.alloc(0), nullptr);
    EXPECT_EQ(a.allocator.free_pages(), 0u);
    EXPECT_EQ(a.allocator.largest_free_order(), -1);
    EXPECT_EQ(a.allocator.alloc(max_order), nullptr);
}

TEST(PageAllocator, RejectsBadFrees) {
    Arena a(64);
    a.allocator.add_free_range(a.base(), a.base() + 64 * page_size);
    void* p = a.allocator.alloc(2);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(a.allocator.free(static_cast<uint8_t*>(p) + 1, 2), FreeError::misaligned);
    EXPECT_EQ(a.allocator.free(reinterpret_cast<void*>(a.base() + 64 * page_size), 0), FreeError::out_of_range);
    EXPECT_EQ(a.allocator.free(p, 2), FreeError::none);
    EXPECT_EQ(a.allocator.free(p, 2), FreeError::double_free);
    // A page inside a larger free block is also already free.
    EXPECT_EQ(a.allocator.free(static_cast<uint8_t*>(p) + page_size, 0), FreeError::double_free);
    EXPECT_EQ(a.allocator.free_pages(), 64u);
}

TEST(PageAllocator, HolesAreNeverHandedOut) {
    Arena a(1024);
    // Two ranges with a hole in between, as a firmware memory map has.
    a.allocator.add_free_range(a.base() + 3 * page_size, a.base() + 300 * page_size);
    a.allocator.add_free_range(a.base() + 512 * page_size, a.base() + 1000 * page_size);
    size_t got = 0;
    while (void* p = a.allocator.alloc(0)) {
        size_t index = (reinterpret_cast<uintptr_t>(p) - a.base()) / page_size;
        EXPECT_TRUE((index >= 3 && index < 300) || (index >= 512 && index < 1000)) << index;
        ++got;
    }
    EXPECT_EQ(got, 297u + 488u);
}

// Random alloc/free sequences checked against a model of which pages are in use.
TEST(PageAllocator, RandomSequencesMatchModel) {
    constexpr size_t pages = 4096;
    Arena a(pages);
    a.allocator.add_free_range(a.base(), a.base() + pages * page_size);
    std::mt19937 rng(12345);
    std::vector<bool> used(pages);
    std::map<uintptr_t, unsigned> live;
    size_t used_pages = 0;
    for (int step = 0; step < 20000; ++step) {
        if (live.empty() || rng() % 3 != 0) {
            unsigned order = rng() % 6;
            void* p = a.allocator.alloc(order);
            if (!p) continue;
            size_t first = (reinterpret_cast<uintptr_t>(p) - a.base()) / page_size;
            for (size_t i = first; i < first + (size_t{1} << order); ++i) {
                ASSERT_FALSE(used[i]) << "page " << i << " handed out twice";
                used[i] = true;
            }
            live[reinterpret_cast<uintptr_t>(p)] = order;
            used_pages += size_t{1} << order;
        } else {
            auto it = live.begin();
            std::advance(it, rng() % live.size());
            size_t first = (it->first - a.base()) / page_size;
            for (size_t i = first; i < first + (size_t{1} << it->second); ++i) used[i] = false;
            ASSERT_EQ(a.allocator.free(reinterpret_cast<void*>(it->first), it->second), FreeError::none);
            used_pages -= size_t{1} << it->second;
            live.erase(it);
        }
        ASSERT_EQ(a.allocator.free_pages(), pages - used_pages);
    }
    for (auto [addr, order] : live) a.allocator.free(reinterpret_cast<void*>(addr), order);
    EXPECT_EQ(a.allocator.free_pages(), pages);
    EXPECT_EQ(a.allocator.largest_free_order(), int(max_order - 1));  // fully coalesced
}

TEST(PageAllocator, OrderForBytes) {
    EXPECT_EQ(order_for_bytes(1), 0u);
    EXPECT_EQ(order_for_bytes(page_size), 0u);
    EXPECT_EQ(order_for_bytes(page_size + 1), 1u);
    EXPECT_EQ(order_for_bytes(5 * page_size), 3u);
}

}  // namespace
