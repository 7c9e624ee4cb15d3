// TSO's host-testable core (drivers/virtio/net_tso.cc): which TCP segments may merge into one
// frame, and that frame's headers. The check that matters: a device that segments the merged
// frame as Linux's GSO does (the head's headers for each piece, its own sequence number,
// length, IP id and checksums, PSH only on the last) gives back the original segments byte
// for byte, and completing the merged frame's partial checksum gives a valid TCP checksum.
#include <gtest/gtest.h>
#include <mica/virtio/net_tso.h>

#include <cstring>
#include <random>
#include <vector>

namespace {
using namespace mica::virtio::net_tso;
using Bytes = std::vector<uint8_t>;

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t sum_words(uint32_t sum, const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
    if (n & 1) sum += uint32_t{p[n - 1]} << 8;
    return sum;
}
uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The TCP checksum of a whole IPv4 TCP frame (Ethernet header first), as a sender computes it.
uint16_t tcp_checksum(const Bytes& f) {
    const uint8_t* iph = f.data() + 14;
    size_t tcp_len = get16(iph + 2) - 20;
    uint32_t sum = sum_words(0, iph + 12, 8) + 6 + static_cast<uint32_t>(tcp_len);
    Bytes tcp(f.begin() + 34, f.end());
    put16(tcp.data() + 16, 0);
    return static_cast<uint16_t>(~fold(sum_words(sum, tcp.data(), tcp.size())));
}
uint16_t ip_checksum(const uint8_t* iph) {
    uint8_t copy[20];
    memcpy(copy, iph, 20);
    put16(copy + 10, 0);
    return static_cast<uint16_t>(~fold(sum_words(0, copy, 20)));
}

struct Flow {
    uint16_t ip_id = 0x1234;
    uint32_t seq = 1000, ack = 777;
    uint16_t window = 8000;
    uint16_t sport = 80, dport = 40000;
};

// A segment as lwIP sends it: Ethernet, IPv4 (DF, no options), TCP (no options), payload.
Bytes segment(const Flow& f, const Bytes& payload, uint8_t flags = tcp_ack) {
    Bytes b(header_length + payload.size());
    uint8_t* p = b.data();
    const uint8_t dst[6] = {2, 0, 0, 0, 0, 2}, src[6] = {2, 0, 0, 0, 0, 1};
    memcpy(p, dst, 6);
    memcpy(p + 6, src, 6);
    put16(p + 12, 0x0800);
    uint8_t* ip = p + 14;
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(40 + payload.size()));
    put16(ip + 4, f.ip_id);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    const uint8_t sa[4] = {192, 0, 2, 15}, da[4] = {192, 0, 2, 2};
    memcpy(ip + 12, sa, 4);
    memcpy(ip + 16, da, 4);
    put16(ip + 10, ip_checksum(ip));
    uint8_t* th = p + 34;
    put16(th, f.sport);
    put16(th + 2, f.dport);
    put32(th + 4, f.seq);
    put32(th + 8, f.ack);
    th[12] = 5 << 4;
    th[13] = flags;
    put16(th + 14, f.window);
    if (!payload.empty()) memcpy(p + header_length, payload.data(), payload.size());
    put16(th + 16, tcp_checksum(b));
    return b;
}

Segment parsed(const Bytes& b) {
    Segment s;
    EXPECT_TRUE(candidate(b.data(), b.size(), b.size(), s));
    return s;
}

// What a device does with the merged frame: Linux's GSO.
std::vector<Bytes> device_segments(const uint8_t* headers, const Bytes& payload, const mica::virtio::net_spec::Header& h) {
    std::vector<Bytes> out;
    uint16_t id = get16(headers + 18);
    uint32_t seq = static_cast<uint32_t>(headers[38]) << 24 | headers[39] << 16 | headers[40] << 8 | headers[41];
    for (size_t at = 0, i = 0; at < payload.size(); at += h.gso_size, ++i) {
        size_t n = std::min<size_t>(h.gso_size, payload.size() - at);
        bool last = at + n == payload.size();
        Bytes b(headers, headers + h.header_length);
        b.insert(b.end(), payload.begin() + static_cast<long>(at), payload.begin() + static_cast<long>(at + n));
        uint8_t* ip = b.data() + 14;
        put16(ip + 2, static_cast<uint16_t>(40 + n));
        put16(ip + 4, static_cast<uint16_t>(id + i));
        put16(ip + 10, ip_checksum(ip));
        uint8_t* th = b.data() + 34;
        put32(th + 4, seq + static_cast<uint32_t>(at));
        if (!last) th[13] &= static_cast<uint8_t>(~(tcp_psh | tcp_fin));
        put16(th + 16, tcp_checksum(b));
        out.push_back(b);
    }
    return out;
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
}

TEST(VirtioNetTso, Candidates) {
    Flow f;
    Bytes data(1460, 7);
    EXPECT_TRUE([&] { Segment s; return candidate(segment(f, data).data(), 54, 54 + 1460, s); }());
    Segment s;
    Bytes plain = segment(f, data);
    ASSERT_TRUE(candidate(plain.data(), plain.size(), plain.size(), s));
    EXPECT_EQ(s.seq, f.seq);
    EXPECT_EQ(s.payload, 1460);
    EXPECT_TRUE(candidate(segment(f, data, tcp_ack | tcp_psh).data(), 54, 1514, s));
    // Not data segments, or not plain ones.
    for (uint8_t flags : {uint8_t{tcp_syn | tcp_ack}, uint8_t{tcp_fin | tcp_ack}, uint8_t{tcp_rst | tcp_ack},
                          uint8_t{tcp_psh}, uint8_t{tcp_urg | tcp_ack}, uint8_t{0}}) {
        Bytes b = segment(f, data, flags);
        EXPECT_FALSE(candidate(b.data(), b.size(), b.size(), s)) << int{flags};
    }
    Bytes empty = segment(f, {});
    EXPECT_FALSE(candidate(empty.data(), empty.size(), empty.size(), s));
    EXPECT_FALSE(candidate(plain.data(), 53, plain.size(), s)) << "headers not contiguous";
    EXPECT_FALSE(candidate(plain.data(), plain.size(), plain.size() + 2, s)) << "IP length disagrees";
    Bytes b = plain;
    b[14] = 0x46;  // IP options
    EXPECT_FALSE(candidate(b.data(), b.size(), b.size(), s));
    b = plain;
    b[34 + 12] = 6 << 4;  // TCP options
    EXPECT_FALSE(candidate(b.data(), b.size(), b.size(), s));
    b = plain;
    put16(b.data() + 20, 0x2000);  // more fragments
    EXPECT_FALSE(candidate(b.data(), b.size(), b.size(), s));
    b = plain;
    b[23] = 17;  // UDP
    EXPECT_FALSE(candidate(b.data(), b.size(), b.size(), s));
    b = plain;
    put16(b.data() + 12, 0x86dd);  // IPv6
    EXPECT_FALSE(candidate(b.data(), b.size(), b.size(), s));
}

TEST(VirtioNetTso, WhatMayFollow) {
    Flow f;
    Bytes full(1460, 1), half(700, 2);
    Segment head = parsed(segment(f, full));
    Flow g = f;
    g.seq += 1460;
    g.ip_id++;
    EXPECT_TRUE(continues(head, head, parsed(segment(g, full)), 1460));
    EXPECT_TRUE(continues(head, head, parsed(segment(g, half)), 1460));
    EXPECT_TRUE(continues(head, head, parsed(segment(g, half, tcp_ack | tcp_psh)), 1460));
    EXPECT_FALSE(continues(head, head, parsed(segment(g, Bytes(1461, 3))), 1460)) << "longer than gso_size";
    EXPECT_FALSE(continues(head, head, parsed(segment(g, full)), max_payload - 1000)) << "past one IPv4 packet";
    Flow gap = g;
    gap.seq += 1;
    EXPECT_FALSE(continues(head, head, parsed(segment(gap, full)), 1460));
    Flow other = g;
    other.ack++;
    EXPECT_FALSE(continues(head, head, parsed(segment(other, full)), 1460));
    other = g;
    other.window++;
    EXPECT_FALSE(continues(head, head, parsed(segment(other, full)), 1460));
    other = g;
    other.dport++;
    EXPECT_FALSE(continues(head, head, parsed(segment(other, full)), 1460));
    // A pushed segment ends the frame, and so does a short one after the head.
    Segment pushed = parsed(segment(f, full, tcp_ack | tcp_psh));
    EXPECT_FALSE(continues(pushed, pushed, parsed(segment(g, full)), 1460));
    Segment second_short = parsed(segment(g, half));
    Flow third = g;
    third.seq += 700;
    EXPECT_FALSE(continues(head, second_short, parsed(segment(third, half)), 2160));
}

// Random runs of segments: merged, then cut by the model device, they come back unchanged.
TEST(VirtioNetTso, DeviceSegmentationGivesTheOriginals) {
    std::mt19937 rng(5);
    for (int round = 0; round < 200; ++round) {
        Flow f;
        f.seq = static_cast<uint32_t>(rng());
        f.ip_id = static_cast<uint16_t>(rng());
        uint16_t mss = static_cast<uint16_t>(536 + rng() % 1000);
        size_t count = 2 + rng() % 40;
        bool push = rng() % 2;
        std::vector<Bytes> originals;
        Bytes all_payload;
        for (size_t i = 0; i < count; ++i) {
            bool last = i + 1 == count;
            size_t n = last ? 1 + rng() % mss : mss;
            Bytes payload = random_bytes(rng, n);
            originals.push_back(segment(f, payload, last && push ? tcp_ack | tcp_psh : tcp_ack));
            all_payload.insert(all_payload.end(), payload.begin(), payload.end());
            f.seq += static_cast<uint32_t>(n);
            f.ip_id++;
        }
        Segment head = parsed(originals[0]), last = head;
        size_t total = head.payload;
        for (size_t i = 1; i < count; ++i) {
            Segment next = parsed(originals[i]);
            ASSERT_TRUE(continues(head, last, next, total)) << "round " << round << " segment " << i;
            total += next.payload;
            last = next;
        }
        uint8_t headers[header_length];
        auto h = finish(head, last.tcp_flags, total, headers);
        EXPECT_EQ(h.gso_type, gso_tcpv4);
        EXPECT_EQ(h.gso_size, mss);
        EXPECT_EQ(h.header_length, header_length);
        EXPECT_EQ(h.flags, mica::virtio::net_spec::header_needs_csum);
        // NEEDS_CSUM on the merged frame: the sum from csum_start, the field holding the
        // pseudo-header sum, complemented into the field, gives the packet's true checksum.
        Bytes merged(headers, headers + header_length);
        merged.insert(merged.end(), all_payload.begin(), all_payload.end());
        uint16_t completed = static_cast<uint16_t>(~fold(sum_words(0, merged.data() + h.csum_start, merged.size() - h.csum_start)));
        EXPECT_EQ(completed, tcp_checksum(merged));
        EXPECT_EQ(ip_checksum(headers + 14), get16(headers + 24));
        auto pieces = device_segments(headers, all_payload, h);
        ASSERT_EQ(pieces.size(), originals.size());
        for (size_t i = 0; i < pieces.size(); ++i) EXPECT_EQ(pieces[i], originals[i]) << "round " << round << " piece " << i;
    }
}

}  // namespace
