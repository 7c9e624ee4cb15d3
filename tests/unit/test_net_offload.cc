// Checksum offload's arithmetic (net/offload.cc): the metadata and pseudo-header sum the
// stack hands a "checksum partial" device, checked against an independent checksum of the
// same segments, and what the device does with them.
#include <gtest/gtest.h>
#include <mica/net/offload.h>

#include <cstring>
#include <random>
#include <vector>

using namespace mica::net;

namespace {

constexpr uint8_t tcp = 6, udp = 17, icmp = 1;

void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
    f[at] = static_cast<uint8_t>(v >> 8);
    f[at + 1] = static_cast<uint8_t>(v);
}

// An Ethernet frame with an IPv4 header (`ip_options` extra bytes of options) and a transport
// header of `transport_header` bytes followed by `payload` pattern bytes.
std::vector<uint8_t> frame(uint8_t protocol, size_t payload, size_t ip_options = 0, uint16_t fragment = 0x4000,
                           size_t transport_header = 20) {
    size_t ip_header = 20 + ip_options;
    size_t ip_length = ip_header + transport_header + payload;
    std::vector<uint8_t> f(14 + ip_length);
    for (size_t i = 0; i < 12; ++i) f[i] = static_cast<uint8_t>(0x10 + i);
    put16(f, 12, 0x0800);
    uint8_t* ip = f.data() + 14;
    ip[0] = static_cast<uint8_t>(0x40 | ip_header / 4);
    put16(f, 16, static_cast<uint16_t>(ip_length));
    put16(f, 20, fragment);
    ip[8] = 64;
    ip[9] = protocol;
    const uint8_t addresses[] = {192, 0, 2, 15, 198, 51, 100, 7};
    memcpy(ip + 12, addresses, sizeof addresses);
    for (size_t i = 20; i < ip_header; ++i) ip[i] = 1;  // NOP options
    uint8_t* l4 = ip + ip_header;
    put16(f, 14 + ip_header, 40000);      // source port
    put16(f, 14 + ip_header + 2, 80);     // destination port
    if (protocol == tcp) l4[12] = static_cast<uint8_t>(transport_header / 4 << 4);
    for (size_t i = 0; i < payload; ++i) l4[transport_header + i] = static_cast<uint8_t>(i * 7 + 3);
    return f;
}

// RFC 793's checksum of the TCP segment in `f`, computed from scratch: the pseudo header and
// the whole segment with the checksum field taken as zero.
uint16_t reference_tcp_checksum(const std::vector<uint8_t>& f) {
    size_t ip_header = (f[14] & 0x0f) * 4;
    size_t ip_length = f[16] << 8 | f[17];
    size_t tcp_length = ip_length - ip_header;
    uint64_t sum = 0;
    for (size_t i = 0; i < 8; i += 2) sum += f[14 + 12 + i] << 8 | f[14 + 12 + i + 1];
    sum += tcp;
    sum += tcp_length;
    const uint8_t* segment = f.data() + 14 + ip_header;
    for (size_t i = 0; i < tcp_length; i += 2) {
        if (i == 16) continue;  // the checksum field
        uint16_t word = segment[i] << 8 | (i + 1 < tcp_length ? segment[i + 1] : 0);
        sum += word;
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// What the stack does before transmit(): the metadata, and the pseudo-header sum in the field.
bool prepare(std::vector<uint8_t>& f, TxOffload& offload, size_t available = ~size_t{0}) {
    uint16_t pseudo = 0;
    if (!checksum_partial_for(f.data(), std::min(available, f.size()), f.size(), offload, pseudo)) return false;
    put16(f, offload.checksum_start + offload.checksum_offset, pseudo);
    return true;
}

TEST(NetOffload, TcpSegmentsGetChecksumPartial) {
    for (size_t payload : {0, 1, 2, 3, 100, 1459, 1460}) {
        auto f = frame(tcp, payload);
        TxOffload offload;
        ASSERT_TRUE(prepare(f, offload)) << payload;
        EXPECT_TRUE(offload.checksum_partial);
        EXPECT_EQ(offload.checksum_start, 34);
        EXPECT_EQ(offload.checksum_offset, tcp_checksum_offset);
        complete_checksum(f.data(), f.size(), offload);
        uint16_t field = f[50] << 8 | f[51];
        EXPECT_EQ(field, reference_tcp_checksum(f)) << payload;
        // The receiver's check: the segment with the pseudo header sums to all ones.
        uint32_t sum = checksum_add(0, f.data() + 26, 8) + tcp + (f.size() - 34);
        sum = checksum_add(sum, f.data() + 34, f.size() - 34);
        EXPECT_EQ(checksum_fold(sum), 0xffff);
    }
}

TEST(NetOffload, IpOptionsMoveTheStart) {
    auto f = frame(tcp, 333, 8);
    TxOffload offload;
    ASSERT_TRUE(prepare(f, offload));
    EXPECT_EQ(offload.checksum_start, 14 + 28);
    complete_checksum(f.data(), f.size(), offload);
    EXPECT_EQ(f[offload.checksum_start + 16] << 8 | f[offload.checksum_start + 17], reference_tcp_checksum(f));
}

TEST(NetOffload, OnlyTheIpHeaderNeedsToBeInTheHead) {
    auto f = frame(tcp, 500);
    TxOffload offload;
    EXPECT_TRUE(prepare(f, offload, 34));
    EXPECT_FALSE(prepare(f, offload, 33));
}

TEST(NetOffload, OtherFramesGoOutAsTheyAre) {
    TxOffload offload;
    uint16_t pseudo;
    auto u = frame(udp, 100, 0, 0x4000, 8);  // UDP stays in software (it may be fragmented)
    EXPECT_FALSE(checksum_partial_for(u.data(), u.size(), u.size(), offload, pseudo));
    auto i = frame(icmp, 56, 0, 0x4000, 8);
    EXPECT_FALSE(checksum_partial_for(i.data(), i.size(), i.size(), offload, pseudo));
    auto arp = frame(tcp, 10);
    put16(arp, 12, 0x0806);
    EXPECT_FALSE(checksum_partial_for(arp.data(), arp.size(), arp.size(), offload, pseudo));
    auto more_fragments = frame(tcp, 100, 0, 0x2000);
    EXPECT_FALSE(checksum_partial_for(more_fragments.data(), more_fragments.size(), more_fragments.size(), offload, pseudo));
    auto later_fragment = frame(tcp, 100, 0, 0x0010);
    EXPECT_FALSE(checksum_partial_for(later_fragment.data(), later_fragment.size(), later_fragment.size(), offload, pseudo));
    EXPECT_FALSE(offload.checksum_partial);
}

TEST(NetOffload, HeadersThatDoNotAddUpAreRefused) {
    TxOffload offload;
    uint16_t pseudo;
    auto ipv6 = frame(tcp, 10);
    ipv6[14] = 0x65;
    EXPECT_FALSE(checksum_partial_for(ipv6.data(), ipv6.size(), ipv6.size(), offload, pseudo));
    auto short_ihl = frame(tcp, 10);
    short_ihl[14] = 0x44;
    EXPECT_FALSE(checksum_partial_for(short_ihl.data(), short_ihl.size(), short_ihl.size(), offload, pseudo));
    auto too_long = frame(tcp, 10);
    put16(too_long, 16, static_cast<uint16_t>(too_long.size()));  // IP length past the frame
    EXPECT_FALSE(checksum_partial_for(too_long.data(), too_long.size(), too_long.size(), offload, pseudo));
    auto no_tcp_header = frame(tcp, 0);
    put16(no_tcp_header, 16, 30);  // 10 bytes of TCP header
    EXPECT_FALSE(checksum_partial_for(no_tcp_header.data(), no_tcp_header.size(), no_tcp_header.size(), offload, pseudo));
    EXPECT_FALSE(checksum_partial_for(no_tcp_header.data(), 20, no_tcp_header.size(), offload, pseudo));
}

TEST(NetOffload, ChecksumArithmetic) {
    // RFC 1071's example: the words 0001 f203 f4f5 f6f7 sum to 0x2ddf0, folded 0xddf2.
    const uint8_t words[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_fold(checksum_add(0, words, sizeof words)), 0xddf2);
    const uint8_t odd[] = {0x12, 0x34, 0x56};
    EXPECT_EQ(checksum_fold(checksum_add(0, odd, sizeof odd)), 0x1234 + 0x5600);
    EXPECT_EQ(checksum_fold(0x1ffff), 0x0001);  // 0xffff + 0x1 = 0x10000, folded again
    EXPECT_EQ(checksum_fold(0xffff), 0xffff);
}

TEST(NetOffload, RandomBytesNeverOverrun) {
    std::mt19937 rng(42);
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> f(rng() % 120);
        for (auto& b : f) b = static_cast<uint8_t>(rng());
        if (f.size() > 14 && rng() % 2) {
            put16(f, 12, 0x0800);
            f[14] = static_cast<uint8_t>(0x40 | (rng() % 16));
        }
        TxOffload offload;
        uint16_t pseudo;
        size_t available = f.empty() ? 0 : rng() % (f.size() + 1);
        if (checksum_partial_for(f.data(), available, f.size(), offload, pseudo)) {
            ASSERT_LE(offload.checksum_start + offload.checksum_offset + 2u, f.size());
            complete_checksum(f.data(), f.size(), offload);
        }
    }
}

}  // namespace
