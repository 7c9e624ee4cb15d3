// virtio-net's host-testable core (drivers/virtio/net_spec.cc): the header layout, the receive
// buffer plan, and the receive assembler against a model of what a device writes: whole
// frames, frames spread over mergeable buffers, and everything a broken or hostile device
// could write instead (short, long, overfilled, bad counts, GSO, bad checksum offsets). Every
// buffer must come back exactly once, in a frame or to be reposted.
#include <gtest/gtest.h>
#include <mica/virtio/net_spec.h>

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {
using namespace mica::virtio::net_spec;
using mica::net::RxBuffer;
using Result = RxAssembler::Result;

TEST(VirtioNetHeader, LittleEndianLayout) {
    Header h;
    h.flags = header_needs_csum;
    h.gso_type = 0x81;
    h.header_length = 0x1234;
    h.gso_size = 0x5678;
    h.csum_start = 0x9abc;
    h.csum_offset = 0xdef0;
    h.num_buffers = 0x0102;
    uint8_t b[header_size];
    encode_header(h, b);
    const uint8_t expected[header_size] = {0x01, 0x81, 0x34, 0x12, 0x78, 0x56, 0xbc, 0x9a, 0xf0, 0xde, 0x02, 0x01};
    EXPECT_EQ(0, memcmp(b, expected, header_size));
    Header back = decode_header(b);
    EXPECT_EQ(back.flags, h.flags);
    EXPECT_EQ(back.gso_type, h.gso_type);
    EXPECT_EQ(back.header_length, h.header_length);
    EXPECT_EQ(back.gso_size, h.gso_size);
    EXPECT_EQ(back.csum_start, h.csum_start);
    EXPECT_EQ(back.csum_offset, h.csum_offset);
    EXPECT_EQ(back.num_buffers, h.num_buffers);
}

TEST(VirtioNetHeader, TransmitHeaderFollowsTheOffload) {
    mica::net::TxOffload none;
    Header h = transmit_header(none);
    EXPECT_EQ(h.flags, 0);
    EXPECT_EQ(h.gso_type, gso_none);
    EXPECT_EQ(h.csum_start, 0);
    EXPECT_EQ(h.num_buffers, 0);
    mica::net::TxOffload tcp{true, 34, 16};
    h = transmit_header(tcp);
    EXPECT_EQ(h.flags, header_needs_csum);
    EXPECT_EQ(h.gso_type, gso_none);  // no TSO: the stack never builds segments beyond the MSS
    EXPECT_EQ(h.csum_start, 34);
    EXPECT_EQ(h.csum_offset, 16);
}

TEST(VirtioNetBuffers, Plan) {
    BufferPlan p = plan_buffers(true, 1500, 0);
    EXPECT_EQ(p.allocation, default_mergeable_buffer);
    EXPECT_EQ(p.capacity, default_mergeable_buffer - ip_align);
    p = plan_buffers(true, 9000, 512);
    EXPECT_EQ(p.allocation, 512u);
    EXPECT_EQ(p.capacity, 510u);
    p = plan_buffers(true, 1500, 100);  // out of range: the default
    EXPECT_EQ(p.allocation, default_mergeable_buffer);
    // Whole frames: the header, the Ethernet header, a VLAN tag and the MTU, rounded up.
    p = plan_buffers(false, 1500, 512);
    EXPECT_EQ(p.capacity, 12u + 14 + 4 + 1500);
    EXPECT_GE(p.allocation, p.capacity + ip_align);
    EXPECT_EQ(p.allocation % 64, 0u);
    p = plan_buffers(false, 9000, 0);
    EXPECT_EQ(p.capacity, 12u + 14 + 4 + 9000);
    EXPECT_EQ(check_mergeable_size(256), nullptr);
    EXPECT_EQ(check_mergeable_size(65536), nullptr);
    EXPECT_STREQ(check_mergeable_size(255),
                 "smaller than 256 bytes (the header and the Ethernet, IP and TCP headers must fit)");
    EXPECT_STREQ(check_mergeable_size(65537), "larger than 65536 bytes");
}

// Buffers as a driver holds them: memory the "device" writes into from `start`.
struct Pool {
    explicit Pool(size_t count, uint32_t capacity) : memory(count, std::vector<uint8_t>(capacity + 16)), buffers(count) {
        for (size_t i = 0; i < count; ++i) free.push_back(i);
    }
    size_t take() {
        EXPECT_FALSE(free.empty()) << "the model ran out of buffers";
        size_t i = free.front();
        free.erase(free.begin());
        return i;
    }
    uint8_t* start(size_t i) { return memory[i].data(); }
    size_t index(const RxBuffer* b) const { return static_cast<size_t>(b - buffers.data()); }
    // Every buffer of a chain back to the pool; each may come back only once.
    void give_back(RxBuffer* chain) {
        while (chain) {
            size_t i = index(chain);
            EXPECT_LT(i, buffers.size());
            EXPECT_EQ(std::count(free.begin(), free.end(), i), 0) << "buffer " << i << " returned twice";
            free.push_back(i);
            chain = chain->next;
        }
    }
    std::vector<std::vector<uint8_t>> memory;
    std::vector<RxBuffer> buffers;
    std::vector<size_t> free;
};

RxLayout layout(uint32_t capacity, bool mergeable, bool guest_csum = true, uint16_t max_parts = 64, uint16_t mtu = 1500) {
    RxLayout l;
    l.capacity = capacity;
    l.mergeable = mergeable;
    l.guest_csum = guest_csum;
    l.max_parts = max_parts;
    l.max_frame = max_frame_length(mtu);
    return l;
}

// What a device does with one frame: the header then the bytes, spread over as many
// buffers as needed (num_buffers in the first). Returns the buffers used and their lengths.
std::vector<std::pair<size_t, uint32_t>> deliver(Pool& pool, uint32_t capacity, const Header& base,
                                                 const std::vector<uint8_t>& frame, bool mergeable) {
    std::vector<std::pair<size_t, uint32_t>> used;
    size_t at = 0;
    bool first = true;
    while (first || at < frame.size()) {
        size_t i = pool.take();
        uint8_t* p = pool.start(i);
        uint32_t written = 0;
        if (first) {
            encode_header(base, p);
            written = header_size;
        }
        size_t n = std::min<size_t>(capacity - written, frame.size() - at);
        memcpy(p + written, frame.data() + at, n);
        written += static_cast<uint32_t>(n);
        at += n;
        used.emplace_back(i, written);
        first = false;
        if (!mergeable) break;
    }
    if (mergeable) {
        Header h = base;
        h.num_buffers = static_cast<uint16_t>(used.size());
        encode_header(h, pool.start(used[0].first));
    }
    return used;
}

std::vector<uint8_t> gather(const RxBuffer* frame) {
    std::vector<uint8_t> out;
    for (const RxBuffer* b = frame; b; b = b->next) out.insert(out.end(), b->data, b->data + b->length);
    return out;
}

std::vector<uint8_t> make_frame(size_t length, uint32_t seed) {
    std::vector<uint8_t> f(length);
    for (size_t i = 0; i < length; ++i) f[i] = static_cast<uint8_t>(seed * 131 + i * 7 + i / 251);
    return f;
}

TEST(VirtioNetAssembler, WholeFramesAndChecksumFlags) {
    const uint32_t capacity = 12 + 1518;
    Pool pool(8, capacity);
    RxAssembler a;
    a.configure(layout(capacity, false));
    Header h;
    h.flags = header_data_valid;
    auto frame = make_frame(1514, 1);
    auto used = deliver(pool, capacity, h, frame, false);
    ASSERT_EQ(used.size(), 1u);
    RxBuffer* b = &pool.buffers[used[0].first];
    ASSERT_EQ(a.add(b, pool.start(used[0].first), used[0].second), Result::frame);
    RxBuffer* f = a.take_frame();
    EXPECT_EQ(f, b);
    EXPECT_EQ(f->data, pool.start(used[0].first) + header_size);
    EXPECT_EQ(f->next, nullptr);
    EXPECT_TRUE(f->checksum_verified);
    EXPECT_EQ(gather(f), frame);
    pool.give_back(f);
    // NEEDS_CSUM with sane offsets: trusted as verified.
    h.flags = header_needs_csum;
    h.csum_start = 34;
    h.csum_offset = 16;
    used = deliver(pool, capacity, h, make_frame(100, 2), false);
    b = &pool.buffers[used[0].first];
    ASSERT_EQ(a.add(b, pool.start(used[0].first), used[0].second), Result::frame);
    EXPECT_TRUE(b->checksum_verified);
    pool.give_back(a.take_frame());
    // Nothing said: the stack checks.
    used = deliver(pool, capacity, Header{}, make_frame(60, 3), false);
    b = &pool.buffers[used[0].first];
    ASSERT_EQ(a.add(b, pool.start(used[0].first), used[0].second), Result::frame);
    EXPECT_FALSE(b->checksum_verified);
    pool.give_back(a.take_frame());
    EXPECT_EQ(a.counters().frames, 3u);
    EXPECT_EQ(a.counters().checksum_verified, 2u);
    EXPECT_EQ(a.counters().merged_frames, 0u);
}

TEST(VirtioNetAssembler, WithoutGuestCsumFlagsAreNotTrusted) {
    const uint32_t capacity = 1530;
    Pool pool(4, capacity);
    RxAssembler a;
    a.configure(layout(capacity, false, false));
    Header h;
    h.flags = header_data_valid;  // not negotiated: ignored, the stack checks
    auto used = deliver(pool, capacity, h, make_frame(200, 4), false);
    RxBuffer* b = &pool.buffers[used[0].first];
    ASSERT_EQ(a.add(b, pool.start(used[0].first), used[0].second), Result::frame);
    EXPECT_FALSE(b->checksum_verified);
    pool.give_back(a.take_frame());
    h.flags = header_needs_csum;  // a partial sum nobody asked for: the frame cannot be checked
    h.csum_start = 34;
    h.csum_offset = 16;
    used = deliver(pool, capacity, h, make_frame(200, 5), false);
    b = &pool.buffers[used[0].first];
    ASSERT_EQ(a.add(b, pool.start(used[0].first), used[0].second), Result::dropped);
    pool.give_back(a.take_dropped());
    EXPECT_EQ(a.counters().dropped_bad, 1u);
}

TEST(VirtioNetAssembler, MergeableFrameSpansBuffers) {
    const uint32_t capacity = 510;  // --virtio-net-rx-buffer=512
    Pool pool(16, capacity);
    RxAssembler a;
    a.configure(layout(capacity, true));
    auto frame = make_frame(1514, 9);
    auto used = deliver(pool, capacity, Header{}, frame, true);
    ASSERT_EQ(used.size(), 3u);  // 498 + 510 + 506
    for (size_t k = 0; k + 1 < used.size(); ++k) {
        EXPECT_EQ(a.add(&pool.buffers[used[k].first], pool.start(used[k].first), used[k].second), Result::need_more);
        EXPECT_TRUE(a.assembling());
    }
    ASSERT_EQ(a.add(&pool.buffers[used.back().first], pool.start(used.back().first), used.back().second), Result::frame);
    RxBuffer* f = a.take_frame();
    EXPECT_EQ(gather(f), frame);
    EXPECT_EQ(f->length, capacity - header_size);
    EXPECT_EQ(f->next->data, pool.start(used[1].first));  // continuations have no header
    EXPECT_EQ(a.counters().merged_frames, 1u);
    EXPECT_EQ(a.counters().buffers, 3u);
    pool.give_back(f);
    EXPECT_EQ(pool.free.size(), 16u);
    // A frame that fits one buffer still says num_buffers = 1.
    used = deliver(pool, capacity, Header{}, make_frame(300, 10), true);
    ASSERT_EQ(used.size(), 1u);
    ASSERT_EQ(a.add(&pool.buffers[used[0].first], pool.start(used[0].first), used[0].second), Result::frame);
    pool.give_back(a.take_frame());
}

TEST(VirtioNetAssembler, MalformedFramesAreDroppedWholly) {
    const uint32_t capacity = 510;
    Pool pool(32, capacity);
    RxAssembler a;
    a.configure(layout(capacity, true));
    auto feed = [&](const std::vector<std::pair<size_t, uint32_t>>& used) {
        Result r = Result::need_more;
        for (auto& [i, n] : used) {
            EXPECT_EQ(r, Result::need_more);
            r = a.add(&pool.buffers[i], pool.start(i), n);
        }
        return r;
    };
    // Shorter than the header.
    size_t i = pool.take();
    ASSERT_EQ(a.add(&pool.buffers[i], pool.start(i), header_size - 1), Result::dropped);
    pool.give_back(a.take_dropped());
    EXPECT_EQ(a.counters().dropped_short, 1u);
    // A header and fewer than 14 bytes of frame.
    auto used = deliver(pool, capacity, Header{}, make_frame(10, 1), true);
    ASSERT_EQ(feed(used), Result::dropped);
    pool.give_back(a.take_dropped());
    EXPECT_EQ(a.counters().dropped_short, 2u);
    // Longer than the MTU allows: consumed to its end, then dropped.
    used = deliver(pool, capacity, Header{}, make_frame(max_frame_length(1500) + 1, 2), true);
    ASSERT_EQ(feed(used), Result::dropped);
    RxBuffer* dropped = a.take_dropped();
    size_t count = 0;
    for (RxBuffer* b = dropped; b; b = b->next) ++count;
    EXPECT_EQ(count, used.size());
    pool.give_back(dropped);
    EXPECT_EQ(a.counters().dropped_long, 1u);
    // GSO that was never negotiated.
    Header gso;
    gso.gso_type = 1;  // TCPv4
    used = deliver(pool, capacity, gso, make_frame(1200, 3), true);
    ASSERT_EQ(feed(used), Result::dropped);
    pool.give_back(a.take_dropped());
    // A partial checksum whose field lies past the frame.
    Header partial;
    partial.flags = header_needs_csum;
    partial.csum_start = 100;
    partial.csum_offset = 16;
    used = deliver(pool, capacity, partial, make_frame(117, 4), true);
    ASSERT_EQ(feed(used), Result::dropped);
    pool.give_back(a.take_dropped());
    // num_buffers = 0: only this buffer, dropped.
    i = pool.take();
    Header zero;
    encode_header(zero, pool.start(i));
    ASSERT_EQ(a.add(&pool.buffers[i], pool.start(i), 100), Result::dropped);
    pool.give_back(a.take_dropped());
    // An empty continuation.
    used = deliver(pool, capacity, Header{}, make_frame(600, 5), true);
    ASSERT_EQ(used.size(), 2u);
    used[1].second = 0;
    ASSERT_EQ(feed(used), Result::dropped);
    pool.give_back(a.take_dropped());
    EXPECT_EQ(a.counters().dropped_bad, 4u);
    EXPECT_EQ(a.counters().frames, 0u);
    EXPECT_EQ(pool.free.size(), 32u);
    // And a good frame still comes through afterwards.
    auto frame = make_frame(1400, 6);
    used = deliver(pool, capacity, Header{}, frame, true);
    ASSERT_EQ(feed(used), Result::frame);
    RxBuffer* f = a.take_frame();
    EXPECT_EQ(gather(f), frame);
    pool.give_back(f);
}

TEST(VirtioNetAssembler, ImpossibleWritesBreakTheDevice) {
    const uint32_t capacity = 510;
    Pool pool(16, capacity);
    RxAssembler a;
    a.configure(layout(capacity, true, true, 8));
    // More than the buffer holds, in the first buffer.
    size_t i = pool.take();
    encode_header(Header{0, 0, 0, 0, 0, 0, 1}, pool.start(i));
    ASSERT_EQ(a.add(&pool.buffers[i], pool.start(i), capacity + 1), Result::broken);
    EXPECT_STREQ(a.problem(), "the device wrote 511 bytes into a receive buffer of 510");
    pool.give_back(a.take_dropped());
    // In a continuation: every buffer held so far comes back with it.
    a.configure(layout(capacity, true, true, 8));
    auto used = deliver(pool, capacity, Header{}, make_frame(1400, 1), true);
    ASSERT_EQ(used.size(), 3u);
    ASSERT_EQ(a.add(&pool.buffers[used[0].first], pool.start(used[0].first), used[0].second), Result::need_more);
    ASSERT_EQ(a.add(&pool.buffers[used[1].first], pool.start(used[1].first), 4096), Result::broken);
    RxBuffer* held = a.take_dropped();
    size_t count = 0;
    for (RxBuffer* b = held; b; b = b->next) ++count;
    EXPECT_EQ(count, 2u);
    pool.give_back(held);
    pool.give_back(&pool.buffers[used[2].first]);  // never handed to the assembler
    EXPECT_FALSE(a.assembling());
    // More buffers than were ever posted: the frame can never complete.
    a.configure(layout(capacity, true, true, 8));
    i = pool.take();
    encode_header(Header{0, 0, 0, 0, 0, 0, 9}, pool.start(i));
    ASSERT_EQ(a.add(&pool.buffers[i], pool.start(i), 100), Result::broken);
    EXPECT_STREQ(a.problem(), "the device announced a frame in 9 receive buffers; 8 were posted");
    pool.give_back(a.take_dropped());
    EXPECT_EQ(pool.free.size(), 16u);
}

// Random traffic, good and bad mixed, through both layouts: every good frame arrives intact
// and in order, every bad one is dropped, and every buffer comes back exactly once.
TEST(VirtioNetAssembler, RandomTraffic) {
    std::mt19937 rng(20261129);
    for (bool mergeable : {true, false}) {
        for (uint32_t capacity : {254u, 510u, 2046u, 12u + 1518u}) {
            if (!mergeable && capacity < 12 + 1518) continue;
            Pool pool(256, capacity);
            RxAssembler a;
            a.configure(layout(capacity, mergeable, true, 64));
            size_t good = 0, bad = 0, broken = 0;
            for (int round = 0; round < 3000; ++round) {
                int kind = static_cast<int>(rng() % 10);
                size_t length = 14 + rng() % (max_frame_length(1500) - 13);
                if (!mergeable) length = std::min<size_t>(length, capacity - header_size);
                auto frame = make_frame(length, static_cast<uint32_t>(round));
                Header h;
                bool expect_good = true;
                if (kind == 0) {
                    h.gso_type = 3;
                    expect_good = false;
                } else if (kind == 1 && mergeable) {
                    frame = make_frame(max_frame_length(1500) + 1 + rng() % 3000, round);
                    expect_good = false;
                } else if (kind == 2) {
                    h.flags = header_needs_csum;
                    h.csum_start = static_cast<uint16_t>(length);  // the field is past the end
                    h.csum_offset = 6;
                    expect_good = false;
                } else if (kind == 3) {
                    h.flags = header_data_valid;
                }
                auto used = deliver(pool, capacity, h, frame, mergeable);
                bool overfill = kind == 4 && rng() % 4 == 0;
                Result r = Result::need_more;
                for (size_t k = 0; k < used.size(); ++k) {
                    uint32_t written = used[k].second;
                    if (overfill && k + 1 == used.size()) written = capacity + 1 + rng() % 100;
                    r = a.add(&pool.buffers[used[k].first], pool.start(used[k].first), written);
                    if (k + 1 < used.size()) {
                        ASSERT_EQ(r, Result::need_more);
                    }
                }
                if (overfill) {
                    ASSERT_EQ(r, Result::broken);
                    ++broken;
                    pool.give_back(a.take_dropped());
                    a.configure(layout(capacity, mergeable, true, 64));  // the driver resets
                    continue;
                }
                if (expect_good) {
                    ASSERT_EQ(r, Result::frame) << "round " << round;
                    RxBuffer* f = a.take_frame();
                    ASSERT_EQ(gather(f), frame) << "round " << round;
                    EXPECT_EQ(f->checksum_verified, kind == 3);
                    pool.give_back(f);
                    ++good;
                } else {
                    ASSERT_EQ(r, Result::dropped) << "round " << round;
                    pool.give_back(a.take_dropped());
                    ++bad;
                }
                ASSERT_EQ(pool.free.size(), 256u);
            }
            EXPECT_GT(good, 1000u);
            EXPECT_GT(bad, 300u);
            EXPECT_GT(broken, 10u);
        }
    }
}

}  // namespace
