// Per-CPU object caches over the real heap: objects are never handed out twice, the heap
// sees batches, and draining returns everything. Several caches stand in for CPUs, and
// objects freed on a "CPU" other than the one that allocated them move between caches.
#include <gtest/gtest.h>
#include <mica/mm/object_cache.h>

#include "test_arena.h"

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

using namespace mica::mm;

namespace {

struct CountingHeap {
    test::TestArena arena{4096};
    Heap heap{arena.allocator, [](const char* problem, const void*) { FAIL() << problem; }};
    unsigned fills = 0, drains = 0;
    ObjectCache::Source source{
        [](unsigned c, void** out, unsigned wanted, void* self) {
            auto* h = static_cast<CountingHeap*>(self);
            ++h->fills;
            return h->heap.alloc_batch(c, out, wanted);
        },
        [](void* const* objects, unsigned count, void* self) {
            auto* h = static_cast<CountingHeap*>(self);
            ++h->drains;
            for (unsigned i = 0; i < count; ++i) h->heap.free(objects[i]);
        },
        this};
};

TEST(ObjectCache, HeapClassesForCaches) {
    EXPECT_EQ(Heap::small_class(1, 16), 0);
    EXPECT_EQ(Heap::small_class(17, 16), 1);
    EXPECT_EQ(Heap::small_class(40, 64), 3);  // 48 is not 64-aligned: the 64 class
    EXPECT_EQ(Heap::small_class(2048, 16), static_cast<int>(Heap::class_count) - 1);
    EXPECT_EQ(Heap::small_class(2049, 16), -1);
    EXPECT_EQ(Heap::small_class(16, 128), -1);  // above the header alignment: large path
    CountingHeap h;
    void* small = h.heap.alloc(100);
    void* large = h.heap.alloc(10000);
    EXPECT_EQ(h.heap.class_of(small), Heap::small_class(100, 16));
    EXPECT_EQ(h.heap.class_of(large), -1);
    h.heap.free(small);
    h.heap.free(large);
}

// The accounting tools/soak reads (--memstats): live bytes are the heap's bytes minus what
// the caches hold, which cached_bytes() counts by size class.
TEST(ObjectCache, CachedBytesFollowTheClasses) {
    CountingHeap h;
    ObjectCache cache;
    void* a = cache.alloc(2, h.source);  // one refill of `batch` objects of class 2
    void* b = cache.alloc(5, h.source);
    EXPECT_EQ(cache.cached_bytes(), (ObjectCache::batch - 1) * (Heap::class_sizes[2] + Heap::class_sizes[5]));
    EXPECT_EQ(h.heap.stats().bytes_in_use - cache.cached_bytes(), Heap::class_sizes[2] + Heap::class_sizes[5]);
    cache.free(a, 2, h.source);
    cache.free(b, 5, h.source);
    EXPECT_EQ(h.heap.stats().bytes_in_use - cache.cached_bytes(), 0u);
    cache.drain_all(h.source);
    EXPECT_EQ(cache.cached_bytes(), 0u);
}

TEST(ObjectCache, RefillsAndFlushesInBatches) {
    CountingHeap h;
    ObjectCache cache;
    std::vector<void*> objects;
    for (unsigned i = 0; i < 3 * ObjectCache::batch; ++i) objects.push_back(cache.alloc(2, h.source));
    EXPECT_EQ(h.fills, 3u);  // one refill per batch
    EXPECT_EQ(h.heap.stats().allocations, 3 * ObjectCache::batch);
    for (void* p : objects) cache.free(p, 2, h.source);
    // 48 frees into a 32-slot magazine: one flush of 16 when it filled.
    EXPECT_EQ(h.drains, 1u);
    EXPECT_EQ(cache.cached_objects(), 3 * ObjectCache::batch - ObjectCache::batch);
    cache.drain_all(h.source);
    EXPECT_EQ(cache.cached_objects(), 0u);
    EXPECT_EQ(h.heap.stats().allocations, 0u);
    EXPECT_EQ(h.heap.stats().bytes_in_use, 0u);
}

TEST(ObjectCache, RandomTrafficAcrossCpusNeverSharesAnObject) {
    CountingHeap h;
    constexpr int cpus = 4;
    ObjectCache caches[cpus];
    std::map<void*, unsigned> live;  // object -> its class
    std::mt19937 rng(11);
    for (int step = 0; step < 50000; ++step) {
        ObjectCache& cache = caches[rng() % cpus];
        if (live.empty() || rng() % 100 < 52) {
            unsigned c = rng() % Heap::class_count;
            auto* p = static_cast<unsigned char*>(cache.alloc(c, h.source));
            ASSERT_NE(p, nullptr);
            ASSERT_TRUE(live.emplace(p, c).second) << "object handed out twice";
            ASSERT_EQ(h.heap.class_of(p), static_cast<int>(c));
            std::memset(p, static_cast<int>(c), Heap::class_sizes[c]);
        } else {
            auto it = live.begin();
            std::advance(it, rng() % std::min<size_t>(live.size(), 64));
            auto* p = static_cast<unsigned char*>(it->first);
            for (size_t i = 0; i < Heap::class_sizes[it->second]; ++i) ASSERT_EQ(p[i], it->second) << "corrupted";
            cache.free(p, it->second, h.source);
            live.erase(it);
        }
    }
    size_t cached = 0;
    for (auto& c : caches) cached += c.cached_objects();
    EXPECT_EQ(h.heap.stats().allocations, live.size() + cached);
    for (auto& [p, c] : live) caches[0].free(p, c, h.source);
    for (auto& c : caches) c.drain_all(h.source);
    EXPECT_EQ(h.heap.stats().allocations, 0u);
}

}  // namespace
