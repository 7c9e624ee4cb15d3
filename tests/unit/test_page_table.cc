// mm::PageTable over both architectures' entry formats, with host memory for the tables:
// explicit cases for large leaves and splitting, then random operations checked against a
// per-page model (what each page maps to and with which protection).
#include <arch/aarch64/page_format.h>
#include <arch/x86_64/page_format.h>
#include <gtest/gtest.h>
#include <mica/mm/page_table.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>

using namespace mica::mm;

namespace {

constexpr uintptr_t kib4 = 4096, mib2 = 2u << 20;

struct TableMemory {
    std::set<void*> live;
    static void* alloc(void* self) {
        void* t = std::aligned_alloc(4096, 4096);
        std::memset(t, 0, 4096);
        static_cast<TableMemory*>(self)->live.insert(t);
        return t;
    }
    static void release(void* t, void* self) {
        EXPECT_EQ(static_cast<TableMemory*>(self)->live.erase(t), 1u) << "freed a table twice";
        std::free(t);
    }
    ~TableMemory() {
        for (void* t : live) std::free(t);
    }
};

template <typename Format>
struct Fixture {
    Fixture() {
        // As on a CPU with NX (the kernel turns it on where CPUID reports it).
        if constexpr (std::is_same_v<Format, mica::x86::PageFormat>) Format::no_execute = Format::no_execute_bit;
    }
    TableMemory memory;
    void* root = TableMemory::alloc(&memory);
    PageTable<Format> table{root, {&TableMemory::alloc, &TableMemory::release,
                                   [](const void* p) { return reinterpret_cast<uintptr_t>(p); },
                                   [](uintptr_t pa) { return reinterpret_cast<void*>(pa); }, &memory}};
};

template <typename Format>
class PageTableTest : public ::testing::Test {};
using Formats = ::testing::Types<mica::x86::PageFormat, mica::aarch64::PageFormat>;
TYPED_TEST_SUITE(PageTableTest, Formats);

TYPED_TEST(PageTableTest, LargeLeavesWhereAligned) {
    Fixture<TypeParam> f;
    // 2 MiB + 8 KiB at a 2 MiB-aligned address: one large leaf, then two pages.
    ASSERT_TRUE(f.table.map(0x40000000, 0x80000000, mib2 + 2 * kib4, {prot_read | prot_write}));
    Translation t = f.table.translate(0x40000000 + 0x1234);
    EXPECT_TRUE(t.mapped);
    EXPECT_EQ(t.address, 0x80001234u);
    EXPECT_EQ(t.leaf_size, mib2);
    EXPECT_EQ(t.attributes.prot, prot_read | prot_write);
    t = f.table.translate(0x40000000 + mib2 + kib4 + 8);
    EXPECT_EQ(t.leaf_size, kib4);
    EXPECT_EQ(t.address, 0x80000000u + mib2 + kib4 + 8);
    EXPECT_FALSE(f.table.translate(0x40000000 + mib2 + 2 * kib4).mapped);
    // Misaligned physical address: 4 KiB pages only.
    ASSERT_TRUE(f.table.map(0x80000000, 0x1000, mib2, {prot_read}));
    EXPECT_EQ(f.table.translate(0x80000000).leaf_size, kib4);
}

TYPED_TEST(PageTableTest, PartialUnmapSplitsALargeLeaf) {
    Fixture<TypeParam> f;
    ASSERT_TRUE(f.table.map(0x40000000, 0x80000000, mib2, {prot_read | prot_exec}));
    std::map<uintptr_t, size_t> released;
    ASSERT_TRUE(f.table.unmap(0x40000000 + 3 * kib4, 2 * kib4, [&](uintptr_t pa, size_t size) { released[pa] = size; }));
    EXPECT_EQ(released, (std::map<uintptr_t, size_t>{{0x80003000, kib4}, {0x80004000, kib4}}));
    EXPECT_TRUE(f.table.translate(0x40000000 + 2 * kib4).mapped);
    EXPECT_FALSE(f.table.translate(0x40000000 + 3 * kib4).mapped);
    EXPECT_FALSE(f.table.translate(0x40000000 + 4 * kib4).mapped);
    Translation t = f.table.translate(0x40000000 + 5 * kib4);
    EXPECT_EQ(t.address, 0x80005000u);
    EXPECT_EQ(t.attributes.prot, prot_read | prot_exec);
    EXPECT_EQ(t.leaf_size, kib4);
}

TYPED_TEST(PageTableTest, ProtNoneKeepsThePage) {
    Fixture<TypeParam> f;
    ASSERT_TRUE(f.table.map(0x40000000, 0x80000000, mib2, {prot_read | prot_write}));
    ASSERT_TRUE(f.table.protect(0x40000000, kib4, {0}));
    Translation t = f.table.translate(0x40000000);
    EXPECT_TRUE(t.mapped);
    EXPECT_EQ(t.attributes.prot, 0);
    EXPECT_EQ(t.address, 0x80000000u);
    ASSERT_TRUE(f.table.protect(0x40000000, kib4, {prot_read}));
    EXPECT_EQ(f.table.translate(0x40000000).attributes.prot, prot_read);
    EXPECT_EQ(f.table.translate(0x40000000).address, 0x80000000u);
}

TYPED_TEST(PageTableTest, MapPageIfAbsent) {
    Fixture<TypeParam> f;
    EXPECT_EQ(f.table.map_page_if_absent(0x5000, 0x9000, {prot_read}), 1);
    EXPECT_EQ(f.table.map_page_if_absent(0x5000, 0xa000, {prot_read}), 0);
    EXPECT_EQ(f.table.translate(0x5000).address, 0x9000u);
}

TYPED_TEST(PageTableTest, DeviceMemoryType) {
    Fixture<TypeParam> f;
    ASSERT_TRUE(f.table.map(0x9000000, 0x9000000, kib4, {prot_read | prot_write, MemoryType::device}));
    EXPECT_EQ(f.table.translate(0x9000000).attributes.type, MemoryType::device);
}

TYPED_TEST(PageTableTest, RandomOperationsMatchModel) {
    Fixture<TypeParam> f;
    struct Page { uintptr_t pa; int prot; };
    std::map<uintptr_t, Page> model;  // virtual page -> what it maps
    std::mt19937_64 rng(7);
    constexpr uintptr_t base = 0x200000000, span_pages = 4 * 512;  // 8 MiB window: 4 large slots
    for (int step = 0; step < 4000; ++step) {
        uintptr_t first = rng() % span_pages;
        uintptr_t count = rng() % 4 == 0 ? 512 : rng() % 40 + 1;
        if (rng() % 3 == 0) first &= ~uintptr_t{511};  // aligned ranges exercise large leaves
        if (first + count > span_pages) count = span_pages - first;
        uintptr_t va = base + first * kib4;
        int op = rng() % 3;
        if (op == 0) {
            uintptr_t pa = (rng() % 64) * mib2 + (rng() % 2 ? 0 : (rng() % 512) * kib4) + 0x100000000;
            int prot = (rng() % 2 ? prot_read : prot_read | prot_write) | (rng() % 2 ? prot_exec : 0);
            ASSERT_TRUE(f.table.map(va, pa, count * kib4, {prot}));
            for (uintptr_t i = 0; i < count; ++i) model[va + i * kib4] = {pa + i * kib4, prot};
        } else if (op == 1) {
            std::set<uintptr_t> released;
            ASSERT_TRUE(f.table.unmap(va, count * kib4, [&](uintptr_t pa, size_t size) {
                for (size_t o = 0; o < size; o += kib4) released.insert(pa + o);
            }));
            std::set<uintptr_t> expected;
            for (uintptr_t i = 0; i < count; ++i) {
                auto it = model.find(va + i * kib4);
                if (it == model.end()) continue;
                expected.insert(it->second.pa);
                model.erase(it);
            }
            ASSERT_EQ(released, expected) << "step " << step;
        } else {
            int prot = static_cast<int>(rng() % 4) == 0 ? 0 : prot_read | (rng() % 2 ? prot_write : 0) | (rng() % 2 ? prot_exec : 0);
            ASSERT_TRUE(f.table.protect(va, count * kib4, {prot}));
            for (uintptr_t i = 0; i < count; ++i) {
                auto it = model.find(va + i * kib4);
                if (it != model.end()) it->second.prot = prot;
            }
        }
        for (int probe = 0; probe < 16; ++probe) {
            uintptr_t page = base + (rng() % span_pages) * kib4;
            Translation t = f.table.translate(page + 8);
            auto it = model.find(page);
            ASSERT_EQ(t.mapped, it != model.end()) << "step " << step << " page " << std::hex << page;
            if (t.mapped) {
                ASSERT_EQ(t.address, it->second.pa + 8);
                ASSERT_EQ(t.attributes.prot, it->second.prot);
            }
        }
    }
    // Everything unmapped: every table but the root is freed.
    ASSERT_TRUE(f.table.unmap(base, span_pages * kib4, [](uintptr_t, size_t) {}));
    EXPECT_EQ(f.memory.live.size(), 1u);
}

}  // namespace
