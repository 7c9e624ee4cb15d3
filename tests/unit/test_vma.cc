// Virtual memory areas with Linux's mmap/munmap/mprotect semantics, checked against a model
// that records each page's protection.
#include <gtest/gtest.h>
#include <mica/mm/vma.h>

#include <map>
#include <random>
#include <vector>

using namespace mica::mm;

namespace {

constexpr uintptr_t page = 4096;
constexpr uintptr_t lowest = 0x10000, highest = lowest + 256 * page;

int live_nodes = 0;
AddressSpace::NodeAllocator nodes{[](void*) -> Vma* { ++live_nodes; return new Vma{}; },
                                  [](Vma* v, void*) { --live_nodes; delete v; }, nullptr};

// The model: protection of every mapped page.
using Model = std::map<uintptr_t, int>;

void expect_matches(const AddressSpace& as, const Model& model) {
    Model seen;
    uintptr_t previous_end = 0;
    as.for_each([&](const Vma& v) {
        EXPECT_LT(v.start, v.end);
        EXPECT_GE(v.start, previous_end) << "areas overlap or are unsorted";
        previous_end = v.end;
        for (uintptr_t p = v.start; p < v.end; p += page) seen[p] = v.prot;
    });
    EXPECT_EQ(seen, model);
}

TEST(Vma, MapFindUnmapSplit) {
    AddressSpace as(lowest, highest, nodes);
    intptr_t a = as.map(0, 4 * page, prot_read | prot_write, false);
    ASSERT_EQ(a, static_cast<intptr_t>(lowest));
    intptr_t b = as.map(0, page + 1, prot_read, false);  // rounded up to two pages
    ASSERT_EQ(b, static_cast<intptr_t>(lowest + 4 * page));
    EXPECT_EQ(as.find(lowest + 5 * page + 100)->prot, prot_read);
    EXPECT_EQ(as.find(lowest + 6 * page), nullptr);
    // Unmap the middle of the first area: it splits in two.
    EXPECT_EQ(as.unmap(lowest + page, 2 * page), 0);
    EXPECT_EQ(as.count(), 3u);
    EXPECT_EQ(as.find(lowest + page), nullptr);
    EXPECT_NE(as.find(lowest), nullptr);
    EXPECT_NE(as.find(lowest + 3 * page), nullptr);
    // The hole is reused by the next fitting mapping.
    EXPECT_EQ(as.map(0, 2 * page, prot_exec, false), static_cast<intptr_t>(lowest + page));
}

TEST(Vma, InvalidArguments) {
    AddressSpace as(lowest, highest, nodes);
    EXPECT_EQ(as.map(0, 0, prot_read, false), -errno_inval);
    EXPECT_EQ(as.map(lowest + 1, page, prot_read, true), -errno_inval);       // unaligned fixed
    EXPECT_EQ(as.map(highest, page, prot_read, true), -errno_inval);          // outside
    EXPECT_EQ(as.map(0, highest, prot_read, false), -errno_inval);            // too large
    EXPECT_EQ(as.unmap(lowest + 3, page), -errno_inval);
    EXPECT_EQ(as.unmap(lowest, 0), -errno_inval);
    EXPECT_EQ(as.protect(lowest, page, prot_read), -errno_nomem);             // nothing mapped
    EXPECT_EQ(as.unmap(lowest, page), 0);                                     // unmapping a hole is fine
}

TEST(Vma, FixedMappingReplaces) {
    AddressSpace as(lowest, highest, nodes);
    ASSERT_EQ(as.map(0, 8 * page, prot_read, false), static_cast<intptr_t>(lowest));
    ASSERT_EQ(as.map(lowest + 2 * page, 2 * page, prot_write, true), static_cast<intptr_t>(lowest + 2 * page));
    EXPECT_EQ(as.find(lowest + page)->prot, prot_read);
    EXPECT_EQ(as.find(lowest + 3 * page)->prot, prot_write);
    EXPECT_EQ(as.find(lowest + 4 * page)->prot, prot_read);
    EXPECT_EQ(as.count(), 3u);
}

TEST(Vma, ProtectRequiresAFullyMappedRange) {
    AddressSpace as(lowest, highest, nodes);
    ASSERT_GE(as.map(lowest, 2 * page, prot_read, true), 0);
    ASSERT_GE(as.map(lowest + 3 * page, 2 * page, prot_read, true), 0);
    EXPECT_EQ(as.protect(lowest, 5 * page, prot_write), -errno_nomem);  // page 2 is a hole
    EXPECT_EQ(as.find(lowest)->prot, prot_read);                        // nothing changed
    EXPECT_EQ(as.protect(lowest + page, page, prot_write), 0);
    EXPECT_EQ(as.find(lowest)->prot, prot_read);
    EXPECT_EQ(as.find(lowest + page)->prot, prot_write);
}

TEST(Vma, HintIsFollowedWhenFree) {
    AddressSpace as(lowest, highest, nodes);
    EXPECT_EQ(as.map(lowest + 10 * page, page, prot_read, false), static_cast<intptr_t>(lowest + 10 * page));
    // Occupied hint: the next free range above it.
    EXPECT_EQ(as.map(lowest + 10 * page, page, prot_read, false), static_cast<intptr_t>(lowest + 11 * page));
    // No room above the hint: anywhere.
    EXPECT_EQ(as.map(highest - page, 2 * page, prot_read, false), static_cast<intptr_t>(lowest));
}

TEST(Vma, RandomOperationsMatchModel) {
    {
        AddressSpace as(lowest, highest, nodes);
        Model model;
        std::mt19937 rng(42);
        for (int step = 0; step < 3000; ++step) {
            uintptr_t start = lowest + (rng() % 256) * page;
            size_t length = (rng() % 16 + 1) * page;
            int prot = static_cast<int>(rng() % 8);
            switch (rng() % 4) {
            case 0: {  // fixed map
                intptr_t r = as.map(start, length, prot, true);
                if (start + length <= highest) {
                    ASSERT_EQ(r, static_cast<intptr_t>(start)) << "start " << std::hex << start << " length " << length << " step " << std::dec << step;
                    for (uintptr_t p = start; p < start + length; p += page) model[p] = prot;
                } else {
                    ASSERT_EQ(r, -errno_inval);
                }
                break;
            }
            case 1: {  // map anywhere
                intptr_t r = as.map(start, length, prot, false);
                if (r < 0) break;  // full: the model must agree there was no room
                for (uintptr_t p = r; p < r + length; p += page) {
                    ASSERT_EQ(model.count(p), 0u) << "mapped over an existing page";
                    model[p] = prot;
                }
                break;
            }
            case 2: {  // unmap (past the end of the address space: EINVAL, as Linux)
                if (start + length > highest) {
                    ASSERT_EQ(as.unmap(start, length), -errno_inval);
                    break;
                }
                ASSERT_EQ(as.unmap(start, length), 0);
                for (uintptr_t p = start; p < start + length; p += page) model.erase(p);
                break;
            }
            default: {  // protect
                bool all = start + length <= highest;
                for (uintptr_t p = start; all && p < start + length; p += page) all = model.count(p);
                int r = as.protect(start, length, prot);
                if (all) {
                    ASSERT_EQ(r, 0);
                    for (uintptr_t p = start; p < start + length; p += page) model[p] = prot;
                } else {
                    ASSERT_NE(r, 0);
                }
            }
            }
            expect_matches(as, model);
            if (::testing::Test::HasFailure()) return;
        }
    }
    EXPECT_EQ(live_nodes, 0);  // the destructor released every node
}

}  // namespace

TEST(Vma, ReservedAreasAreTheKernels) {
    AddressSpace as(lowest, highest, nodes);
    ASSERT_EQ(as.reserve(lowest + 4 * page, 4 * page), 0);
    EXPECT_EQ(as.reserve(lowest + 6 * page, 4 * page), -errno_inval);  // overlaps
    // Placement skips it; fixed mappings, unmapping and re-protecting it are refused.
    EXPECT_EQ(as.map(lowest, 6 * page, prot_read, false), static_cast<intptr_t>(lowest + 8 * page));
    EXPECT_EQ(as.map(lowest + 2 * page, 4 * page, prot_read, true), -errno_nomem);
    EXPECT_EQ(as.unmap(lowest + 5 * page, page), -errno_inval);
    EXPECT_EQ(as.protect(lowest + 4 * page, page, prot_read), -errno_nomem);
    EXPECT_EQ(as.find(lowest + 5 * page)->kind, VmaKind::reserved);
    EXPECT_EQ(as.map(lowest, 2 * page, prot_read, false), static_cast<intptr_t>(lowest));
}

TEST(Vma, ResizeGrowsAndShrinksLikeBrk) {
    AddressSpace as(lowest, highest, nodes);
    ASSERT_EQ(as.map(lowest, page, prot_read | prot_write, true, VmaKind::heap), static_cast<intptr_t>(lowest));
    ASSERT_EQ(as.map(lowest + 8 * page, page, prot_read, true), static_cast<intptr_t>(lowest + 8 * page));
    EXPECT_EQ(as.resize(lowest, lowest + 5 * page + 1), 0);  // rounded up to 6 pages
    EXPECT_EQ(as.find(lowest)->end, lowest + 6 * page);
    EXPECT_EQ(as.resize(lowest, lowest + 9 * page), -errno_nomem);  // would cover the next area
    EXPECT_EQ(as.find(lowest)->end, lowest + 6 * page);
    EXPECT_EQ(as.resize(lowest, lowest + 2 * page), 0);
    EXPECT_EQ(as.find(lowest + 2 * page), nullptr);
    EXPECT_EQ(as.resize(lowest + page, lowest + 4 * page), -errno_inval);  // not an area start
}

TEST(Vma, ManyAreasStayOrderedAndFindable) {
    constexpr uintptr_t big_high = lowest + 100000 * page;
    AddressSpace as(lowest, big_high, nodes);
    // 20000 one-page areas with a one-page hole after each: lookups must find every one.
    for (int i = 0; i < 20000; ++i) {
        ASSERT_EQ(as.map(lowest + 2 * i * page, page, i % 8, true), static_cast<intptr_t>(lowest + 2 * i * page));
    }
    EXPECT_EQ(as.count(), 20000u);
    for (int i = 0; i < 20000; i += 7) {
        const Vma* v = as.find(lowest + 2 * i * page + 100);
        ASSERT_NE(v, nullptr);
        EXPECT_EQ(v->prot, i % 8);
        EXPECT_EQ(as.find(lowest + (2 * i + 1) * page), nullptr);
    }
    // First fit for two pages: only past the last area.
    EXPECT_EQ(as.map(0, 2 * page, prot_read, false), static_cast<intptr_t>(lowest + 40000 * page - page));
}

namespace {
// The page of the pager's file each mapped page shows, or -1 for anonymous pages.
std::map<uintptr_t, int64_t> file_pages_of(const AddressSpace& as, const FilePager* pager) {
    std::map<uintptr_t, int64_t> out;
    as.for_each([&](const Vma& v) {
        for (uintptr_t p = v.start; p < v.end; p += page) {
            out[p] = v.pager == pager ? static_cast<int64_t>(v.pager_index + (p - v.start) / page) : -1;
        }
    });
    return out;
}
}  // namespace

TEST(Vma, PagerFollowsItsPagesThroughSplits) {
    AddressSpace as(lowest, highest, nodes);
    auto* pager = reinterpret_cast<FilePager*>(uintptr_t{0x1000});  // only compared
    ASSERT_EQ(as.map(lowest, 8 * page, prot_read | prot_write, true), static_cast<intptr_t>(lowest));
    // Pages 2..5 of the area show file pages 10..13.
    ASSERT_EQ(as.set_pager(lowest + 2 * page, 4 * page, pager, 10), 0);
    EXPECT_EQ(as.count(), 3u);
    // mprotect and munmap in the middle split the paged area; each piece keeps its pages.
    ASSERT_EQ(as.protect(lowest + 3 * page, page, prot_read), 0);
    ASSERT_EQ(as.unmap(lowest + 4 * page, page), 0);
    auto seen = file_pages_of(as, pager);
    std::map<uintptr_t, int64_t> expected = {{lowest, -1},           {lowest + page, -1},
                                             {lowest + 2 * page, 10}, {lowest + 3 * page, 11},
                                             {lowest + 5 * page, 13}, {lowest + 6 * page, -1},
                                             {lowest + 7 * page, -1}};
    EXPECT_EQ(seen, expected);
    // A fixed mapping over part of it is anonymous again.
    ASSERT_EQ(as.map(lowest + 2 * page, page, prot_read, true), static_cast<intptr_t>(lowest + 2 * page));
    EXPECT_EQ(file_pages_of(as, pager)[lowest + 2 * page], -1);
    EXPECT_EQ(file_pages_of(as, pager)[lowest + 3 * page], 11);
    // Holes and reserved areas refuse a pager and change nothing.
    EXPECT_EQ(as.set_pager(lowest + 3 * page, 2 * page, pager, 0), -errno_nomem);
    EXPECT_EQ(file_pages_of(as, pager)[lowest + 3 * page], 11);
    EXPECT_EQ(as.set_pager(lowest + 1, page, pager, 0), -errno_inval);
}
