// The virtio-blk request logic (drivers/virtio/blk_spec.cc) against a model virtio-blk device
// written from the spec (virtio 1.2, 5.2): the driver's requests go through a real Virtqueue
// (with and without indirect descriptors); the device walks each chain, checks its shape
// (16-byte readable header, data segments within seg_max and size_max, a 1-byte writable
// status last, data a whole number of sectors), serves it from a backing store and completes
// requests out of order. Also the configuration checks and the transfer checks.
#include <gtest/gtest.h>
#include <mica/virtio/blk_spec.h>
#include <mica/virtio/virtqueue.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <vector>

namespace {
namespace blk = mica::virtio::blk;
using mica::virtio::Descriptor;
using mica::virtio::UsedElement;
using mica::virtio::Virtqueue;

uint64_t identity(const void* p) { return reinterpret_cast<uint64_t>(p); }
template <typename T>
T* host(uint64_t a) {
    return reinterpret_cast<T*>(a);
}
uint64_t bit(unsigned b) { return uint64_t{1} << b; }

struct Tables {
    static void* allocate(size_t size, uint64_t* address, void*) {
        void* p = aligned_alloc(16, (size + 15) & ~size_t{15});
        *address = identity(p);
        return p;
    }
    static void release(void* table, void*) { free(table); }
};

// The device: a disk of `sectors` 512-byte sectors, limits it advertises, and faults to inject.
class ModelDisk {
public:
    ModelDisk(const Virtqueue& q, uint64_t bytes, uint32_t seg_max, uint32_t size_max)
        : size_(q.size()), data_(bytes), seg_max_(seg_max), size_max_(size_max) {
        desc_ = host<Descriptor>(q.desc_address());
        avail_ = host<volatile uint16_t>(q.avail_address());
        used_base_ = host<uint8_t>(q.used_address());
        std::mt19937 rng(7);
        for (auto& b : data_) b = static_cast<uint8_t>(rng());
    }
    std::vector<uint8_t>& data() { return data_; }
    std::set<uint64_t> bad_sectors;  // IOERR for a request touching one
    bool read_only = false;          // IOERR for writes (as QEMU answers)
    unsigned flushes = 0;
    unsigned max_data_segments_seen = 0;

    // Takes every available request, then completes them in a shuffled order.
    unsigned process(std::mt19937& rng) {
        std::vector<std::pair<uint16_t, uint32_t>> finished;  // head, written
        while (avail_[1] != last_avail_) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            uint16_t head = avail_[2 + (last_avail_ & (size_ - 1))];
            ++last_avail_;
            finished.emplace_back(head, serve(head));
            if (::testing::Test::HasFatalFailure()) return 0;
        }
        std::shuffle(finished.begin(), finished.end(), rng);
        auto* used_ring = reinterpret_cast<volatile UsedElement*>(used_base_ + 4);
        for (auto& [head, written] : finished) {
            used_ring[used_ & (size_ - 1)].id = head;
            used_ring[used_ & (size_ - 1)].length = written;
            ++used_;
        }
        __atomic_thread_fence(__ATOMIC_RELEASE);
        reinterpret_cast<volatile uint16_t*>(used_base_)[1] = used_;
        return static_cast<unsigned>(finished.size());
    }

private:
    uint32_t serve(uint16_t head) {
        std::vector<Descriptor> chain;
        const Descriptor* table = desc_;
        uint32_t table_size = size_;
        uint16_t i = head;
        if (desc_[head].flags & mica::virtio::desc_f_indirect) {
            table = host<Descriptor>(desc_[head].address);
            table_size = desc_[head].length / sizeof(Descriptor);
            i = 0;
        }
        for (uint32_t steps = 0;; ++steps) {
            EXPECT_LT(steps, table_size) << "chain loops";
            if (steps >= table_size) return 0;
            chain.push_back(table[i]);
            if (!(table[i].flags & mica::virtio::desc_f_next)) break;
            i = table[i].next;
        }
        // Header: readable, 16 bytes; status: writable, 1 byte, last.
        EXPECT_GE(chain.size(), 2u);
        EXPECT_EQ(chain.front().length, sizeof(blk::RequestHeader));
        EXPECT_FALSE(chain.front().flags & mica::virtio::desc_f_write);
        EXPECT_EQ(chain.back().length, 1u);
        EXPECT_TRUE(chain.back().flags & mica::virtio::desc_f_write);
        blk::RequestHeader h;
        memcpy(&h, host<void>(chain.front().address), sizeof h);
        uint8_t* status = host<uint8_t>(chain.back().address);
        std::vector<Descriptor> segs(chain.begin() + 1, chain.end() - 1);
        max_data_segments_seen = std::max<unsigned>(max_data_segments_seen, static_cast<unsigned>(segs.size()));
        EXPECT_LE(segs.size(), seg_max_) << "more data segments than seg_max";
        uint64_t bytes = 0;
        for (auto& s : segs) {
            EXPECT_LE(s.length, size_max_) << "a segment beyond size_max";
            EXPECT_GT(s.length, 0u);
            bool writable = s.flags & mica::virtio::desc_f_write;
            EXPECT_EQ(writable, h.type == blk::type_in) << "data direction does not match the request type";
            bytes += s.length;
        }
        if (h.type == blk::type_flush) {
            EXPECT_TRUE(segs.empty());
            ++flushes;
            *status = blk::status_ok;
            return 1;
        }
        if (h.type != blk::type_in && h.type != blk::type_out) {
            *status = blk::status_unsupp;
            return 1;
        }
        EXPECT_EQ(bytes % 512, 0u) << "data not a whole number of sectors";
        EXPECT_GT(bytes, 0u);
        uint64_t offset = h.sector * 512;
        if (offset + bytes > data_.size()) {
            *status = blk::status_ioerr;
            return 1;
        }
        for (uint64_t s = h.sector; s < h.sector + bytes / 512; ++s) {
            if (bad_sectors.count(s)) {
                *status = blk::status_ioerr;
                return 1;
            }
        }
        if (h.type == blk::type_out && read_only) {
            *status = blk::status_ioerr;
            return 1;
        }
        uint32_t written = 1;
        for (auto& s : segs) {
            if (h.type == blk::type_in) {
                memcpy(host<void>(s.address), &data_[offset], s.length);
                written += s.length;
            } else {
                memcpy(&data_[offset], host<void>(s.address), s.length);
            }
            offset += s.length;
        }
        *status = blk::status_ok;
        return written;
    }

    uint16_t size_;
    std::vector<uint8_t> data_;
    uint32_t seg_max_, size_max_;
    Descriptor* desc_;
    volatile uint16_t* avail_;
    uint8_t* used_base_;
    uint16_t last_avail_ = 0, used_ = 0;
};

// The driver side: a ring, the geometry, and transfers run the way drivers/virtio/blk.cc runs
// them (requests built, submitted together, completed by the device in any order).
class BlkTest : public ::testing::TestWithParam<bool> {
protected:
    static constexpr uint16_t queue_size = 64;
    void SetUp() override { setup(bit(blk::feature_seg_max) | bit(blk::feature_size_max) | bit(blk::feature_flush), 8, 8192); }
    void setup(uint64_t features, uint32_t seg_max, uint32_t size_max, uint64_t bytes = 1 << 20) {
        auto layout = Virtqueue::layout(queue_size);
        memory_.assign(layout.total + 4096, 0);
        uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(memory_.data()) + 4095) & ~uintptr_t{4095});
        state_.assign(Virtqueue::state_size(queue_size), 0);
        ASSERT_EQ(ring_.init(queue_size, base, identity(base), state_.data(), false, GetParam(),
                             {Tables::allocate, Tables::release, nullptr}),
                  0);
        blk::RawConfig raw{bytes / 512, size_max, seg_max, 512};
        char error[128];
        ASSERT_EQ(blk::parse_geometry(features, raw, queue_size, &g_, error, sizeof error), 0) << error;
        disk_ = std::make_unique<ModelDisk>(ring_, bytes, g_.max_segments, g_.max_segment_bytes);
    }

    // The whole transfer, `batch` requests in flight at a time; 0 or the first error.
    int transfer(bool write, uint64_t offset, uint8_t* buffer, size_t length, unsigned batch = 4) {
        if (int e = blk::check_transfer(g_, offset, length, write)) return e;
        size_t done = 0;
        int result = 0;
        while (done < length) {
            std::vector<blk::Request> requests(batch);
            unsigned n = 0;
            while (n < batch && done < length) {
                size_t covered = blk::build_transfer(requests[n], g_, write, offset + done, buffer + done, length - done, identity);
                EXPECT_GT(covered, 0u);
                EXPECT_EQ(covered % g_.sector_size, 0u);
                if (covered == 0) return -1;
                EXPECT_EQ(ring_.add(requests[n].chain, requests[n].out, requests[n].in, &requests[n]), 0);
                done += covered;
                ++n;
            }
            ring_.publish();
            EXPECT_EQ(disk_->process(rng_), n);
            uint32_t written;
            unsigned finished = 0;
            while (void* token = ring_.take_used(&written)) {
                auto* r = static_cast<blk::Request*>(token);
                EXPECT_FALSE(r->done) << "a request completed twice";
                if (blk::finish(*r, written) && !result) result = r->result;
                ++finished;
            }
            EXPECT_EQ(finished, n);
            for (unsigned i = 0; i < n; ++i) EXPECT_TRUE(requests[i].done);
            requests_ += n;
        }
        return result;
    }

    std::vector<uint8_t> memory_;
    std::vector<uint8_t> state_;
    Virtqueue ring_;
    blk::Geometry g_;
    std::unique_ptr<ModelDisk> disk_;
    std::mt19937 rng_{42};
    unsigned requests_ = 0;
};

TEST_P(BlkTest, ReadsMatchTheDiskFromUnalignedBuffersAcrossManyRequests) {
    for (size_t misalign : {0, 1, 7, 511, 4095}) {
        std::vector<uint8_t> raw(300000 + 4096 * 2);
        uint8_t* buffer = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(raw.data()) + 4095) & ~uintptr_t{4095}) + misalign;
        size_t length = 300 * 512;
        uint64_t offset = 1024 * 3;
        requests_ = 0;
        ASSERT_EQ(transfer(false, offset, buffer, length), 0);
        EXPECT_EQ(memcmp(buffer, &disk_->data()[offset], length), 0) << "misalign " << misalign;
        // seg_max 8 of size_max 8 KiB: 64 KiB per request at most, so 150 KiB takes three.
        EXPECT_GE(requests_, 3u);
    }
    EXPECT_LE(disk_->max_data_segments_seen, 8u);
}

TEST_P(BlkTest, BigTransfersAreSeveralRequestsEvenWhenTheMemoryIsContiguous) {
    setup(bit(blk::feature_seg_max), 126, 0, 4 << 20);
    std::vector<uint8_t> buffer(3 << 20);
    requests_ = 0;
    ASSERT_EQ(transfer(false, 512, buffer.data(), buffer.size(), 8), 0);
    EXPECT_EQ(memcmp(buffer.data(), &disk_->data()[512], buffer.size()), 0);
    EXPECT_EQ(requests_, (3u << 20) / blk::max_request_bytes);
}

TEST_P(BlkTest, WritesReachTheDiskAndFlushIsARequestOfItsOwn) {
    std::vector<uint8_t> raw(70000);
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 13 + 5);
    uint8_t* buffer = raw.data() + 3;
    size_t length = 128 * 512;
    ASSERT_EQ(transfer(true, 512 * 10, buffer, length), 0);
    EXPECT_EQ(memcmp(&disk_->data()[512 * 10], buffer, length), 0);
    blk::Request r;
    blk::build_flush(r, identity);
    ASSERT_EQ(ring_.add(r.chain, r.out, r.in, &r), 0);
    ring_.publish();
    ASSERT_EQ(disk_->process(rng_), 1u);
    uint32_t written;
    ASSERT_EQ(ring_.take_used(&written), &r);
    EXPECT_EQ(blk::finish(r, written), 0);
    EXPECT_EQ(disk_->flushes, 1u);
}

TEST_P(BlkTest, DeviceErrorsBecomeEioAndTheOtherRequestsStillComplete) {
    disk_->bad_sectors.insert(100);
    std::vector<uint8_t> buffer(64 * 1024);
    EXPECT_EQ(transfer(false, 0, buffer.data(), buffer.size()), -5);  // EIO
    // A range that avoids the bad sector still reads.
    EXPECT_EQ(transfer(false, 101 * 512, buffer.data(), 4096), 0);
    // The device refuses writes (QEMU answers IOERR on a read-only drive).
    disk_->read_only = true;
    EXPECT_EQ(transfer(true, 0, buffer.data(), 512), -5);
}

TEST_P(BlkTest, UnsupportedAndMissingStatusAreEio) {
    blk::Request r;
    blk::build_flush(r, identity);
    r.header.type = 99;  // a type the device does not know
    ASSERT_EQ(ring_.add(r.chain, r.out, r.in, &r), 0);
    ring_.publish();
    disk_->process(rng_);
    uint32_t written;
    ASSERT_EQ(ring_.take_used(&written), &r);
    EXPECT_EQ(r.status, blk::status_unsupp);
    EXPECT_EQ(blk::finish(r, written), -5);
    // A device that returns the buffer without writing the status.
    blk::Request silent;
    blk::build_flush(silent, identity);
    EXPECT_EQ(blk::finish(silent, 0), -5);
    EXPECT_STREQ(blk::status_name(blk::status_ioerr), "I/O error (VIRTIO_BLK_S_IOERR)");
}

TEST_P(BlkTest, MisalignedOutOfRangeAndReadOnlyTransfersAreRefusedBeforeTheDevice) {
    std::vector<uint8_t> buffer(8192);
    EXPECT_EQ(transfer(false, 1, buffer.data(), 512), -22);
    EXPECT_EQ(transfer(false, 0, buffer.data(), 100), -22);
    EXPECT_EQ(transfer(false, (1 << 20) - 512, buffer.data(), 1024), -22);     // past the end
    EXPECT_EQ(transfer(false, UINT64_MAX - 511, buffer.data(), 1024), -22);    // wraps
    EXPECT_EQ(transfer(false, (1 << 20) - 512, buffer.data(), 512), 0);        // the last sector
    EXPECT_EQ(requests_, 1u);
    blk::Geometry ro = g_;
    ro.read_only = true;
    EXPECT_EQ(blk::check_transfer(ro, 0, 512, true), -30);  // EROFS
    EXPECT_EQ(blk::check_transfer(ro, 0, 512, false), 0);
}

TEST_P(BlkTest, ManyConcurrentCallersInterleaveOnOneRing) {
    // Requests of several "callers" in flight together, completed in a shuffled order: each
    // gets its own data back.
    constexpr int callers = 6;
    std::vector<std::vector<uint8_t>> buffers(callers, std::vector<uint8_t>(8192));
    std::vector<blk::Request> requests(callers);
    for (int c = 0; c < callers; ++c) {
        size_t covered = blk::build_transfer(requests[c], g_, false, c * 8192, buffers[c].data(), 8192, identity);
        ASSERT_EQ(covered, 8192u);
        ASSERT_EQ(ring_.add(requests[c].chain, requests[c].out, requests[c].in, &requests[c]), 0);
    }
    ring_.publish();
    ASSERT_EQ(disk_->process(rng_), static_cast<unsigned>(callers));
    uint32_t written;
    while (void* token = ring_.take_used(&written)) blk::finish(*static_cast<blk::Request*>(token), written);
    for (int c = 0; c < callers; ++c) {
        EXPECT_TRUE(requests[c].done);
        EXPECT_EQ(requests[c].result, 0);
        EXPECT_EQ(memcmp(buffers[c].data(), &disk_->data()[c * 8192], 8192), 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Indirect, BlkTest, ::testing::Values(false, true));

TEST(BlkGeometry, ConfigurationIsCheckedAndLimitsApplied) {
    char error[128];
    blk::Geometry g;
    uint64_t all = bit(blk::feature_seg_max) | bit(blk::feature_size_max) | bit(blk::feature_blk_size) |
                   bit(blk::feature_ro) | bit(blk::feature_flush);
    ASSERT_EQ(blk::parse_geometry(all, {2048 + 3, 65536, 126, 4096}, 256, &g, error, sizeof error), 0) << error;
    EXPECT_EQ(g.sector_size, 4096u);
    EXPECT_EQ(g.capacity, 1u << 20);  // 2051 sectors: the partial 4 KiB block at the end is dropped
    EXPECT_EQ(g.max_segments, blk::max_request_segments);
    EXPECT_TRUE(g.read_only);
    EXPECT_TRUE(g.flush);
    // Without the features: 512-byte sectors, the ring bounds the segments, no flush.
    ASSERT_EQ(blk::parse_geometry(0, {100, 0, 0, 0}, 16, &g, error, sizeof error), 0);
    EXPECT_EQ(g.sector_size, 512u);
    EXPECT_EQ(g.max_segments, 14u);
    EXPECT_FALSE(g.flush);
    EXPECT_FALSE(g.read_only);
    EXPECT_EQ(blk::parse_geometry(all, {100, 65536, 126, 1000}, 256, &g, error, sizeof error), -22);
    EXPECT_NE(strstr(error, "block size 1000"), nullptr) << error;
    EXPECT_EQ(blk::parse_geometry(all, {100, 65536, 0, 512}, 256, &g, error, sizeof error), -22);
    EXPECT_NE(strstr(error, "seg_max is 0"), nullptr) << error;
    EXPECT_EQ(blk::parse_geometry(all, {100, 100, 126, 512}, 256, &g, error, sizeof error), -22);
    EXPECT_EQ(blk::parse_geometry(all, {UINT64_MAX / 256, 65536, 126, 512}, 256, &g, error, sizeof error), -22);
    // seg_max 1 cannot carry a sector from a buffer that crosses a page.
    EXPECT_EQ(blk::parse_geometry(all, {100, 65536, 1, 512}, 256, &g, error, sizeof error), -22);
    EXPECT_NE(strstr(error, "cannot carry"), nullptr) << error;
}

TEST(BlkRequests, SegmentsSplitAtPagesMergeWhenContiguousAndStopAtSizeMax) {
    blk::Geometry g;
    g.capacity = 1 << 30;
    g.max_request_bytes = blk::max_request_bytes;
    g.max_segments = 4;
    g.max_segment_bytes = 6000;
    static uint8_t buffer[8 * 4096] __attribute__((aligned(4096)));
    blk::Request r;
    // Host memory is contiguous: pages merge up to size_max; 4 segments of at most 6000
    // bytes give 24000 bytes, trimmed to whole sectors.
    size_t covered = blk::build_transfer(r, g, false, 0, buffer + 100, sizeof buffer - 100, identity);
    EXPECT_EQ(covered, 24000u / 512 * 512);
    EXPECT_EQ(r.out, 1u);
    EXPECT_EQ(r.in, 5u);  // 4 data segments + status
    uint32_t total = 0;
    for (unsigned i = 1; i <= 4; ++i) {
        EXPECT_LE(r.chain[i].length, 6000u);
        total += r.chain[i].length;
    }
    EXPECT_EQ(total, covered);
    // A device address per page that is not contiguous: one segment per page piece.
    auto scattered = [](const void* p) { return identity(p) * 2; };
    covered = blk::build_transfer(r, g, true, 512, buffer + 100, 3 * 4096, scattered);
    EXPECT_EQ(r.out, 1u + 4u);
    EXPECT_EQ(r.in, 1u);
    EXPECT_EQ(r.chain[1].length, 4096u - 100);
    EXPECT_EQ(covered, 3u * 4096);  // 3996 + 4096 + 4096 + 100: four segments, 24 sectors
    EXPECT_EQ(r.header.sector, 1u);
    EXPECT_EQ(r.header.type, blk::type_out);
}

}  // namespace
