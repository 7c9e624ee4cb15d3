// CONFIG_DEBUG_MEMORY's checking layer, on the host.
#include <gtest/gtest.h>
#include <mica/mm/debug_heap.h>

#include "test_arena.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace mica::mm;

namespace {

constexpr size_t arena_pages = 4096;

struct Reported {
    std::string problem;
    size_t size;
    uintptr_t site;
};
std::vector<Reported> reports;

struct DebugHeapTest : ::testing::Test {
    DebugHeapTest() { reports.clear(); }
    test::TestArena arena{arena_pages};
    Heap heap{arena.allocator, [](const char* p, const void*) { reports.push_back({p, 0, 0}); }, true};
    DebugHeap debug{heap, [](const char* p, const void*, size_t size, uintptr_t site) {
                        reports.push_back({p, size, site});
                    }};
};

TEST_F(DebugHeapTest, CleanUseReportsNothing) {
    std::vector<void*> blocks;
    for (size_t size : {1, 16, 100, 2000, 5000, 70000}) {
        for (size_t align : {16, 64, 256, 4096}) {
            auto* p = static_cast<uint8_t*>(debug.alloc(size, align, 0x1234));
            ASSERT_NE(p, nullptr);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
            memset(p, 0x5a, size);
            blocks.push_back(p);
        }
    }
    for (void* p : blocks) debug.free(p);
    // Reuse of freed (poisoned) blocks must not look like writes after free.
    for (int i = 0; i < 100; ++i) debug.free(debug.alloc(static_cast<size_t>(i * 13 % 500 + 1), 16, 0));
    EXPECT_TRUE(reports.empty()) << reports.front().problem;
    EXPECT_EQ(heap.stats().allocations, 0u);
}

TEST_F(DebugHeapTest, OverflowAndUnderflowNameTheAllocationSite) {
    auto* p = static_cast<uint8_t*>(debug.alloc(40, 16, 0xabc));
    p[40] = 1;  // one past the end
    debug.free(p);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_NE(reports[0].problem.find("heap buffer overflow"), std::string::npos);
    EXPECT_EQ(reports[0].size, 40u);
    EXPECT_EQ(reports[0].site, 0xabcu);

    p = static_cast<uint8_t*>(debug.alloc(8, 16, 0xdef));
    p[-1] = 1;
    debug.free(p);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_NE(reports[1].problem.find("underflow"), std::string::npos);
    EXPECT_EQ(reports[1].site, 0xdefu);
}

TEST_F(DebugHeapTest, DoubleAndForeignFrees) {
    void* p = debug.alloc(24, 16, 0x77);
    debug.free(p);
    debug.free(p);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].problem, "double free");
    EXPECT_EQ(reports[0].site, 0x77u);
    alignas(64) static uint8_t not_heap[256];
    debug.free(not_heap + 128);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_NE(reports[1].problem.find("did not return"), std::string::npos);
}

TEST_F(DebugHeapTest, WriteAfterFreeIsFoundOnReuse) {
    auto* p = static_cast<uint8_t*>(debug.alloc(100, 16, 0x1));
    debug.free(p);
    p[50] = 42;  // use after free
    // The same size class hands the block out again (LIFO free list).
    void* q = debug.alloc(100, 16, 0x2);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_NE(reports[0].problem.find("write to freed memory"), std::string::npos);
    debug.free(q);
}

TEST_F(DebugHeapTest, LeakCheckListsLiveAllocationsSinceAPoint) {
    void* early = debug.alloc(10, 16, 0x10);
    uint64_t mark = debug.sequence();
    void* a = debug.alloc(20, 16, 0x20);
    void* b = debug.alloc(30, 16, 0x30);
    debug.free(a);
    std::vector<std::pair<size_t, uintptr_t>> live;
    size_t n = debug.for_each_live(mark, [&](const void*, size_t size, uintptr_t site) { live.push_back({size, site}); });
    EXPECT_EQ(n, 1u);
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].first, 30u);
    EXPECT_EQ(live[0].second, 0x30u);
    debug.free(b);
    debug.free(early);
    EXPECT_EQ(debug.for_each_live(0, [](const void*, size_t, uintptr_t) {}), 0u);
}

TEST_F(DebugHeapTest, ReallocKeepsContentsAndChecks) {
    auto* p = static_cast<char*>(debug.alloc(10, 16, 0x5));
    strcpy(p, "abcdefghi");
    p = static_cast<char*>(debug.realloc(p, 3000, 0x6));
    ASSERT_NE(p, nullptr);
    EXPECT_STREQ(p, "abcdefghi");
    EXPECT_EQ(debug.usable_size(p), 3000u);
    debug.free(p);
    EXPECT_TRUE(reports.empty());
}

}  // namespace
