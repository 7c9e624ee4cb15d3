// The page cache (fs/page_cache.h): hits and misses, the bound on pages nobody maps, mapped
// pages kept, fill errors, and every page given back.
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <mica/fs/page_cache.h>
#include <set>
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
