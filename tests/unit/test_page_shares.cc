// mm::PageShares (page_shares.h): reference counts of pages mapped by several address
// spaces, against a std::map model, through growth and backward-shift deletion.
#include <gtest/gtest.h>
#include <mica/mm/page_shares.h>
#include <map>
#include <random>
#include <vector>

using mica::mm::PageShares;

namespace {
struct Table {
    PageShares shares;
    std::vector<std::vector<PageShares::Bucket>> arrays;
    void grow_for(size_t extra) {
        if (shares.fits(extra)) return;
        size_t capacity = PageShares::capacity_for(shares.size() + extra);
        arrays.emplace_back(capacity, PageShares::Bucket{0, 0});
        shares.rehash(arrays.back().data(), capacity);
    }
};
}  // namespace

TEST(PageShares, UnsharedPagesCountOneAndDropToZero) {
    PageShares s;
    EXPECT_EQ(s.count(0x1000), 1u);
    EXPECT_EQ(s.drop(0x1000), 0u);  // no table yet: the one reference was the last
    Table t;
    t.grow_for(1);
    EXPECT_EQ(t.shares.count(0x5000), 1u);
    EXPECT_EQ(t.shares.drop(0x5000), 0u);
}

TEST(PageShares, ForkThenBothUnmap) {
    Table t;
    t.grow_for(2);
    t.shares.add(0x2000);  // fork: parent and child map it
    t.shares.add(0x3000);
    EXPECT_EQ(t.shares.count(0x2000), 2u);
    t.shares.add(0x2000);  // a second fork
    EXPECT_EQ(t.shares.count(0x2000), 3u);
    EXPECT_EQ(t.shares.drop(0x2000), 2u);
    EXPECT_EQ(t.shares.drop(0x2000), 1u);
    EXPECT_EQ(t.shares.size(), 1u);  // no entry once one reference is left
    EXPECT_EQ(t.shares.count(0x2000), 1u);
    EXPECT_EQ(t.shares.drop(0x2000), 0u);
    EXPECT_EQ(t.shares.drop(0x3000), 1u);
    EXPECT_EQ(t.shares.size(), 0u);
}

TEST(PageShares, RandomOperationsMatchAModel) {
    Table t;
    std::map<uintptr_t, uint32_t> model;  // references of every mapped page
    std::mt19937_64 rng(7);
    // Few distinct pages in a small table: long probe runs that wrap around, so deletion
    // moves entries across the end of the array.
    for (int step = 0; step < 200000; ++step) {
        uintptr_t page = (rng() % 300 + 1) << 12;
        if (rng() % 2) {
            t.grow_for(1);
            if (!model.count(page)) model[page] = 1;  // mapped once before it is shared
            t.shares.add(page);
            ++model[page];
        } else if (model.count(page)) {
            uint32_t left = t.shares.drop(page);
            ASSERT_EQ(left, model[page] - 1);
            if (--model[page] == 0) model.erase(page);
        }
        if (step % 997 == 0) {
            size_t shared = 0;
            for (auto& [p, c] : model) {
                ASSERT_EQ(t.shares.count(p), c);
                shared += c >= 2;
            }
            ASSERT_EQ(t.shares.size(), shared);
        }
    }
}
