// The page cache (fs/page_cache.h): hits and misses, the bound on pages nobody maps, mapped
// pages kept, fill errors, several pages filled by one call (get_range), and every page given
// back.
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <mica/fs/page_cache.h>
#include <set>
#include <vector>
#include <string.h>

namespace mica::fs {
extern long host_data_pages_live;
extern std::set<const void*> host_data_pages_mapped;
}

namespace {

using mica::fs::PageCache;

// A file whose page i holds the byte (i + seed) everywhere; counts its fills and can fail one.
struct FakeFile {
    PageCache::File pages;
    int seed = 0;
    int fills = 0;
    int64_t fail_index = -1;
    static int fill(void* context, uint64_t index, void* page) {
        auto* f = static_cast<FakeFile*>(context);
        if (static_cast<int64_t>(index) == f->fail_index) return -mica::fs::errno_io;
        ++f->fills;
        memset(page, static_cast<int>((index + f->seed) & 0xff), mica::fs::data_page_size);
        return 0;
    }
};

// FakeFile's pages, filled several at a time: records each call's range and wanted pages.
struct RangeFile : FakeFile {
    struct Call {
        uint64_t first;
        std::vector<bool> wanted;
    };
    std::vector<Call> calls;
    static int fill_pages(void* context, uint64_t first, void* const* pages, size_t count) {
        auto* f = static_cast<RangeFile*>(context);
        Call call{first, {}};
        for (size_t i = 0; i < count; ++i) {
            call.wanted.push_back(pages[i] != nullptr);
            if (static_cast<int64_t>(first + i) == f->fail_index) return -mica::fs::errno_io;
        }
        f->calls.push_back(call);
        for (size_t i = 0; i < count; ++i) {
            if (pages[i]) FakeFile::fill(f, first + i, pages[i]);
        }
        return 0;
    }
};

void* get(PageCache& cache, FakeFile& f, uint64_t index) {
    void* page = nullptr;
    EXPECT_EQ(cache.get(f.pages, index, FakeFile::fill, &f, &page), 0);
    return page;
}

TEST(PageCache, FillsOnceThenHits) {
    long before = mica::fs::host_data_pages_live;
    {
        PageCache cache(64);
        FakeFile a, b;
        b.seed = 100;
        void* p = get(cache, a, 3);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(static_cast<unsigned char*>(p)[0], 3);
        EXPECT_EQ(get(cache, a, 3), p);
        EXPECT_EQ(a.fills, 1);
        // Same index of another file: its own page.
        void* q = get(cache, b, 3);
        EXPECT_NE(q, p);
        EXPECT_EQ(static_cast<unsigned char*>(q)[100], 103);
        EXPECT_EQ(cache.find(a.pages, 3), p);
        EXPECT_EQ(cache.find(a.pages, 4), nullptr);
        EXPECT_EQ(cache.stats().hits, 1u);
        EXPECT_EQ(cache.stats().misses, 2u);
        EXPECT_EQ(cache.stats().pages, 2u);
        EXPECT_EQ(a.pages.pages(), 1u);
        cache.forget(a.pages);
        cache.forget(b.pages);
        EXPECT_EQ(cache.stats().pages, 0u);
    }
    EXPECT_EQ(mica::fs::host_data_pages_live, before);
}

TEST(PageCache, FillErrorCachesNothing) {
    PageCache cache(64);
    FakeFile f;
    f.fail_index = 7;
    void* page = nullptr;
    EXPECT_EQ(cache.get(f.pages, 7, FakeFile::fill, &f, &page), -mica::fs::errno_io);
    EXPECT_EQ(cache.find(f.pages, 7), nullptr);
    EXPECT_EQ(cache.stats().pages, 0u);
    f.fail_index = -1;
    EXPECT_NE(get(cache, f, 7), nullptr);
    cache.forget(f.pages);
}

TEST(PageCache, KeepsAtMostItsLimitOfUnmappedPagesLeastRecentlyUsedGoFirst) {
    long before = mica::fs::host_data_pages_live;
    PageCache cache(PageCache::min_limit);
    FakeFile f;
    for (uint64_t i = 0; i < 3 * PageCache::min_limit; ++i) {
        get(cache, f, i);
        get(cache, f, 0);  // page 0 stays the most recently used
    }
    EXPECT_EQ(cache.stats().pages, PageCache::min_limit);
    EXPECT_NE(cache.find(f.pages, 0), nullptr);
    EXPECT_EQ(cache.find(f.pages, 1), nullptr);
    EXPECT_NE(cache.find(f.pages, 3 * PageCache::min_limit - 1), nullptr);
    EXPECT_EQ(cache.stats().evictions, 2 * PageCache::min_limit);
    EXPECT_EQ(mica::fs::host_data_pages_live, before + static_cast<long>(PageCache::min_limit));
    cache.forget(f.pages);
    EXPECT_EQ(mica::fs::host_data_pages_live, before);
}

TEST(PageCache, MappedPagesAreKeptAndDoNotCount) {
    PageCache cache(PageCache::min_limit);
    FakeFile program, data;
    data.seed = 9;
    // A program's pages, all mapped by an application.
    std::set<void*> mapped;
    for (uint64_t i = 0; i < 2 * PageCache::min_limit; ++i) {
        void* p = get(cache, program, i);
        mica::fs::host_data_pages_mapped.insert(p);
        mapped.insert(p);
    }
    // Then a file read through: its pages come and go; the program's stay.
    for (uint64_t i = 0; i < 4 * PageCache::min_limit; ++i) get(cache, data, i);
    for (uint64_t i = 0; i < 2 * PageCache::min_limit; ++i) EXPECT_NE(cache.find(program.pages, i), nullptr) << i;
    EXPECT_LE(cache.stats().pages, 2 * PageCache::min_limit + PageCache::min_limit);
    // Unmapped (the application went): they become ordinary cached pages again and the
    // bound applies to them.
    for (void* p : mapped) mica::fs::host_data_pages_mapped.erase(p);
    for (uint64_t i = 4 * PageCache::min_limit; i < 12 * PageCache::min_limit; ++i) get(cache, data, i);
    EXPECT_EQ(cache.stats().pages, PageCache::min_limit);
    cache.forget(program.pages);
    cache.forget(data.pages);
}

TEST(PageCache, ForgettingAFileLeavesTheOthers) {
    PageCache cache(128);
    FakeFile a, b;
    for (uint64_t i = 0; i < 10; ++i) {
        get(cache, a, i);
        get(cache, b, i);
    }
    cache.forget(a.pages);
    EXPECT_EQ(cache.stats().pages, 10u);
    for (uint64_t i = 0; i < 10; ++i) {
        EXPECT_EQ(cache.find(a.pages, i), nullptr);
        EXPECT_NE(cache.find(b.pages, i), nullptr);
    }
    cache.forget(b.pages);
}

}  // namespace

namespace {
TEST(PageCache, ShrinkGivesBackUnmappedPagesOnly) {
    PageCache cache(1024);
    FakeFile f;
    std::set<void*> mapped;
    for (uint64_t i = 0; i < 100; ++i) {
        void* p = get(cache, f, i);
        if (i % 2 == 0) {
            mica::fs::host_data_pages_mapped.insert(p);
            mapped.insert(p);
        }
    }
    EXPECT_EQ(cache.shrink(30), 30u);
    EXPECT_EQ(cache.stats().pages, 70u);
    EXPECT_EQ(cache.shrink(1000), 20u);  // the 50 mapped ones stay
    for (uint64_t i = 0; i < 100; i += 2) EXPECT_NE(cache.find(f.pages, i), nullptr);
    for (void* p : mapped) mica::fs::host_data_pages_mapped.erase(p);
    EXPECT_EQ(cache.shrink(1000), 50u);
    EXPECT_EQ(cache.stats().pages, 0u);
    cache.forget(f.pages);
}
}  // namespace

namespace {
void* get_range(PageCache& cache, RangeFile& f, uint64_t index, uint64_t first, size_t count) {
    void* page = nullptr;
    EXPECT_EQ(cache.get_range(f.pages, index, first, count, RangeFile::fill_pages, &f, &page), 0);
    return page;
}

TEST(PageCache, GetRangeFillsTheMissingPagesWithOneCall) {
    long before = mica::fs::host_data_pages_live;
    {
        PageCache cache(PageCache::min_limit);
        RangeFile f;
        f.seed = 5;
        get(cache, f, 2);  // already cached: not filled again
        void* p = get_range(cache, f, 5, 0, 8);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(static_cast<unsigned char*>(p)[7], 10);
        ASSERT_EQ(f.calls.size(), 1u);
        EXPECT_EQ(f.calls[0].first, 0u);
        EXPECT_EQ(f.calls[0].wanted, (std::vector<bool>{true, true, false, true, true, true, true, true}));
        for (uint64_t i = 0; i < 8; ++i) {
            auto* page = static_cast<unsigned char*>(cache.find(f.pages, i));
            ASSERT_NE(page, nullptr) << i;
            EXPECT_EQ(page[100], i + 5);
        }
        EXPECT_EQ(cache.stats().misses, 8u);  // one per page filled (page 2 by get)
        EXPECT_EQ(cache.stats().pages, 8u);
        // A hit fills nothing, whatever the range.
        EXPECT_EQ(get_range(cache, f, 3, 0, 8), cache.find(f.pages, 3));
        EXPECT_EQ(f.calls.size(), 1u);
        EXPECT_EQ(cache.stats().hits, 1u);
        // The range must hold the page and be at most a chunk.
        void* page = nullptr;
        EXPECT_EQ(cache.get_range(f.pages, 20, 21, 4, RangeFile::fill_pages, &f, &page), -mica::fs::errno_inval);
        EXPECT_EQ(cache.get_range(f.pages, 20, 16, 4, RangeFile::fill_pages, &f, &page), -mica::fs::errno_inval);
        EXPECT_EQ(cache.get_range(f.pages, 20, 0, PageCache::map_chunk_pages + 1, RangeFile::fill_pages, &f, &page),
                  -mica::fs::errno_inval);
        EXPECT_EQ(f.calls.size(), 1u);
        cache.forget(f.pages);
    }
    EXPECT_EQ(mica::fs::host_data_pages_live, before);
}

TEST(PageCache, GetRangeFillErrorCachesNothing) {
    long before = mica::fs::host_data_pages_live;
    PageCache cache(PageCache::min_limit);
    RangeFile f;
    f.fail_index = 6;
    void* page = nullptr;
    EXPECT_EQ(cache.get_range(f.pages, 4, 0, 8, RangeFile::fill_pages, &f, &page), -mica::fs::errno_io);
    EXPECT_EQ(cache.stats().pages, 0u);
    EXPECT_EQ(mica::fs::host_data_pages_live, before);
    f.fail_index = -1;
    EXPECT_NE(get_range(cache, f, 4, 0, 8), nullptr);
    EXPECT_EQ(cache.stats().pages, 8u);
    cache.forget(f.pages);
}

TEST(PageCache, GetRangeKeepsTheLimitAndTheChunkItFilled) {
    PageCache cache(PageCache::min_limit);
    RangeFile f;
    constexpr size_t chunk = PageCache::map_chunk_pages;
    for (uint64_t first = 0; first < 6 * chunk; first += chunk) {
        get_range(cache, f, first + chunk - 1, first, chunk);
        // Everything just filled is there; the least recently used went first.
        for (uint64_t i = first; i < first + chunk; ++i) EXPECT_NE(cache.find(f.pages, i), nullptr) << i;
        EXPECT_LE(cache.stats().pages, PageCache::min_limit);
    }
    EXPECT_EQ(cache.find(f.pages, 0), nullptr);
    EXPECT_EQ(cache.stats().evictions, 6 * chunk - PageCache::min_limit);
    cache.forget(f.pages);
}
}  // namespace
