// The block layer (drivers/block): the device registry and the BufferCache against a fake
// disk that records every read the cache makes.
#include <gtest/gtest.h>
#include <mica/block/buffer_cache.h>
#include <mica/block/device.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace {
using mica::block::BufferCache;

class FakeDisk final : public mica::block::Device {
public:
    FakeDisk(uint64_t capacity, uint32_t sector = 512, bool ro = false) : Device(capacity, sector, ro), data_(capacity) {
        for (uint64_t i = 0; i < capacity; ++i) data_[i] = static_cast<uint8_t>(i * 7 + i / 4096);
    }
    int read(uint64_t offset, void* buffer, size_t length) override {
        if (int e = check(offset, length, false)) return e;
        ++reads;
        read_bytes += length;
        for (uint64_t s = offset / sector_size(); s < (offset + length) / sector_size(); ++s) {
            if (bad_sectors.count(s)) return -5;
        }
        memcpy(buffer, &data_[offset], length);
        return 0;
    }
    int write(uint64_t offset, const void* buffer, size_t length) override {
        if (int e = check(offset, length, true)) return e;
        memcpy(&data_[offset], buffer, length);
        return 0;
    }
    int flush() override { return 0; }
    const uint8_t* at(uint64_t offset) const { return &data_[offset]; }
    std::atomic<uint64_t> reads{0}, read_bytes{0};
    std::set<uint64_t> bad_sectors;

private:
    std::vector<uint8_t> data_;
};

TEST(BlockRegistry, NamesInOrderAndFindAcceptsDevPaths) {
    mica::block::reset_registry_for_tests();
    FakeDisk a(4096), b(8192);
    ASSERT_EQ(mica::block::register_device(&a), 0);
    ASSERT_EQ(mica::block::register_device(&b), 0);
    EXPECT_EQ(mica::block::device_count(), 2u);
    EXPECT_STREQ(a.name(), "vda");
    EXPECT_STREQ(b.name(), "vdb");
    EXPECT_EQ(mica::block::find("vdb"), &b);
    EXPECT_EQ(mica::block::find("/dev/vda"), &a);
    EXPECT_EQ(mica::block::find("vdc"), nullptr);
    EXPECT_EQ(mica::block::find("/dev/"), nullptr);
    EXPECT_EQ(mica::block::find(nullptr), nullptr);
    EXPECT_EQ(mica::block::device(2), nullptr);
    mica::block::reset_registry_for_tests();
}

TEST(BlockDevice, ChecksAlignmentRangeAndReadOnly) {
    FakeDisk d(1 << 20, 4096, true);
    EXPECT_EQ(d.check(0, 4096, false), 0);
    EXPECT_EQ(d.check(512, 4096, false), -22);
    EXPECT_EQ(d.check(0, 512, false), -22);
    EXPECT_EQ(d.check((1 << 20) - 4096, 8192, false), -22);
    EXPECT_EQ(d.check(UINT64_MAX - 4095, 8192, false), -22);
    EXPECT_EQ(d.check(1 << 20, 0, false), 0);
    EXPECT_EQ(d.check(0, 4096, true), -30);
}

TEST(BufferCache, ByteGranularReadsAreCorrectAndCached) {
    FakeDisk d(1 << 20);
    BufferCache cache(d, 64 * 1024);
    EXPECT_EQ(cache.block_size(), 4096u);
    EXPECT_EQ(cache.max_blocks(), 16u);
    uint8_t out[10000];
    for (uint64_t offset : {0ull, 1ull, 4095ull, 4096ull, 12345ull, (1ull << 20) - 10000}) {
        for (size_t length : {size_t{1}, size_t{3}, size_t{4096}, size_t{9999}}) {
            if (offset + length > (1u << 20)) continue;
            ASSERT_EQ(cache.read(offset, out, length), 0);
            EXPECT_EQ(memcmp(out, d.at(offset), length), 0) << offset << "+" << length;
        }
    }
    uint64_t reads = d.reads;
    ASSERT_EQ(cache.read(5, out, 100), 0);  // block 0 is cached
    EXPECT_EQ(d.reads, reads);
    EXPECT_GT(cache.hits(), 0u);
    EXPECT_EQ(cache.read(0, out, 0), 0);
}

TEST(BufferCache, BoundedLruEvictsTheLeastRecentlyUsed) {
    FakeDisk d(1 << 20);
    BufferCache cache(d, 4 * 4096);  // 4 blocks
    uint8_t b;
    for (uint64_t blk = 0; blk < 4; ++blk) ASSERT_EQ(cache.read(blk * 4096, &b, 1), 0);
    EXPECT_EQ(cache.cached_blocks(), 4u);
    ASSERT_EQ(cache.read(0, &b, 1), 0);        // block 0 becomes the most recent
    ASSERT_EQ(cache.read(4 * 4096, &b, 1), 0); // evicts block 1
    EXPECT_EQ(cache.cached_blocks(), 4u);
    uint64_t reads = d.reads;
    ASSERT_EQ(cache.read(0, &b, 1), 0);
    ASSERT_EQ(cache.read(2 * 4096, &b, 1), 0);
    EXPECT_EQ(d.reads, reads) << "blocks 0 and 2 should still be cached";
    ASSERT_EQ(cache.read(1 * 4096, &b, 1), 0);
    EXPECT_EQ(d.reads, reads + 1) << "block 1 should have been evicted";
    // Many distinct blocks never grow the cache past its bound.
    for (uint64_t blk = 0; blk < 200; ++blk) ASSERT_EQ(cache.read(blk * 4096 + 7, &b, 1), 0);
    EXPECT_EQ(cache.cached_blocks(), 4u);
    // A bound below one block still keeps one.
    BufferCache tiny(d, 1);
    ASSERT_EQ(tiny.read(10, &b, 1), 0);
    EXPECT_EQ(tiny.max_blocks(), 1u);
    EXPECT_EQ(b, *d.at(10));
}

TEST(BufferCache, BigReadsGoDirectAndAreNotCached) {
    FakeDisk d(4 << 20);
    BufferCache cache(d, 64 * 1024, 64 * 1024);
    std::vector<uint8_t> out(1 << 20);
    uint64_t offset = 4096 * 3 + 100;  // unaligned: the edges come through the cache
    ASSERT_EQ(cache.read(offset, out.data(), out.size()), 0);
    EXPECT_EQ(memcmp(out.data(), d.at(offset), out.size()), 0);
    EXPECT_EQ(cache.direct_reads(), 1u);
    EXPECT_LE(cache.cached_blocks(), 2u) << "only the partial edge blocks are cached";
    // Up to the very end of the device, whose capacity is not a multiple of the block size.
    FakeDisk odd((1 << 20) + 1536);
    BufferCache c2(odd, 16 * 1024, 8192);
    std::vector<uint8_t> tail(200000);
    uint64_t start = odd.capacity() - tail.size();
    ASSERT_EQ(c2.read(start, tail.data(), tail.size()), 0);
    EXPECT_EQ(memcmp(tail.data(), odd.at(start), tail.size()), 0);
    uint8_t last;
    ASSERT_EQ(c2.read(odd.capacity() - 1, &last, 1), 0);  // a short last block, cached
    EXPECT_EQ(last, *odd.at(odd.capacity() - 1));
}

TEST(BufferCache, ErrorsAndRangesAreReportedAndNothingBadIsCached) {
    FakeDisk d(1 << 20);
    BufferCache cache(d, 64 * 1024);
    uint8_t out[4096];
    EXPECT_EQ(cache.read((1 << 20) - 10, out, 11), -22);
    EXPECT_EQ(cache.read(UINT64_MAX, out, 2), -22);
    EXPECT_EQ(cache.read((1 << 20) - 10, out, 10), 0);
    d.bad_sectors.insert(20);  // in block 2
    EXPECT_EQ(cache.read(2 * 4096 + 5, out, 10), -5);
    std::vector<uint8_t> big(256 * 1024);
    EXPECT_EQ(cache.read(0, big.data(), big.size()), -5);  // direct path
    d.bad_sectors.clear();
    ASSERT_EQ(cache.read(2 * 4096 + 5, out, 10), 0);  // read again, now good
    EXPECT_EQ(memcmp(out, d.at(2 * 4096 + 5), 10), 0);
}

TEST(BufferCache, LargeSectorsMakeLargeBlocks) {
    FakeDisk d(1 << 20, 16384);
    BufferCache cache(d, 64 * 1024);
    EXPECT_EQ(cache.block_size(), 16384u);
    uint8_t out[100];
    ASSERT_EQ(cache.read(16384 + 3, out, sizeof out), 0);
    EXPECT_EQ(memcmp(out, d.at(16384 + 3), sizeof out), 0);
}

TEST(BufferCache, ThreadsReadingAtOnceSeeTheRightBytes) {
    FakeDisk d(2 << 20);
    BufferCache cache(d, 32 * 1024);
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::vector<uint8_t> out(100000);
            for (int i = 0; i < 200; ++i) {
                uint64_t offset = (static_cast<uint64_t>(t) * 7919 + i * 104729) % ((2 << 20) - 100000);
                size_t length = (i % 3 == 0) ? 100000 : 1 + (i * 37) % 5000;
                if (cache.read(offset, out.data(), length) != 0 || memcmp(out.data(), d.at(offset), length) != 0) {
                    ++mismatches;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches, 0);
    EXPECT_LE(cache.cached_blocks(), 8u);
}

}  // namespace
