// AF_INET addresses (net/inet/inet_address.cc): sockaddr_in parsing with Linux's checks for
// each use (bind, connect, sendto), the sockaddr_in written back, and the address classes.
#include <gtest/gtest.h>
#include <mica/net/inet_address.h>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

using namespace mica::net;

namespace {

SocketAddress from(const sockaddr_in& in, uint32_t length = sizeof(sockaddr_in)) {
    SocketAddress a;
    std::memcpy(a.bytes, &in, sizeof in);
    a.length = length;
    return a;
}

sockaddr_in inet(const char* address, uint16_t port, sa_family_t family = AF_INET) {
    sockaddr_in in{};
    in.sin_family = family;
    in.sin_port = htons(port);
    inet_pton(AF_INET, address, &in.sin_addr);
    return in;
}

TEST(InetAddress, ParsesWhatTheHostsHeadersLayOut) {
    static_assert(sockaddr_in_size == sizeof(sockaddr_in));
    Ipv4Endpoint e;
    ASSERT_EQ(parse_sockaddr_in(from(inet("192.0.2.7", 8080)), AddressUse::connect, &e), 0);
    EXPECT_EQ(e.port, 8080);
    EXPECT_EQ(e.address, inet_addr("192.0.2.7"));  // network byte order, as in_addr
    // Longer is fine (sockaddr_storage), shorter is not.
    EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 1), 128), AddressUse::bind, &e), 0);
    for (uint32_t length : {0u, 2u, 8u, 15u}) {
        EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 1), length), AddressUse::bind, &e), -errno_inval) << length;
    }
}

TEST(InetAddress, FamiliesPerUse) {
    Ipv4Endpoint e;
    // Another family: EAFNOSUPPORT for every use.
    for (AddressUse use : {AddressUse::bind, AddressUse::connect, AddressUse::send}) {
        EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 9, AF_UNIX)), use, &e), -errno_afnosupport);
        EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 9, AF_INET6)), use, &e), -errno_afnosupport);
    }
    // AF_UNSPEC: bind takes it with INADDR_ANY only; sendto as AF_INET; connect never.
    EXPECT_EQ(parse_sockaddr_in(from(inet("0.0.0.0", 9, AF_UNSPEC)), AddressUse::bind, &e), 0);
    EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 9, AF_UNSPEC)), AddressUse::bind, &e), -errno_afnosupport);
    EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 9, AF_UNSPEC)), AddressUse::send, &e), 0);
    EXPECT_EQ(e.port, 9);
    EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 9, AF_UNSPEC)), AddressUse::connect, &e), -errno_afnosupport);
    // Port 0: a port of the kernel's choice for bind, an error for sendto.
    EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 0)), AddressUse::bind, &e), 0);
    EXPECT_EQ(parse_sockaddr_in(from(inet("127.0.0.1", 0)), AddressUse::send, &e), -errno_inval);
}

TEST(InetAddress, WritesBackWhatParses) {
    for (const char* address : {"0.0.0.0", "127.0.0.1", "10.0.2.15", "255.255.255.255"}) {
        for (uint16_t port : {0, 1, 80, 65535}) {
            SocketAddress a;
            std::memset(a.bytes, 0xee, sizeof a.bytes);
            make_sockaddr_in(Ipv4Endpoint{inet_addr(address), port}, &a);
            ASSERT_EQ(a.length, sizeof(sockaddr_in));
            sockaddr_in in;
            std::memcpy(&in, a.bytes, sizeof in);
            EXPECT_EQ(in.sin_family, AF_INET);
            EXPECT_EQ(ntohs(in.sin_port), port);
            EXPECT_EQ(in.sin_addr.s_addr, inet_addr(address));
            EXPECT_EQ(std::memcmp(in.sin_zero, "\0\0\0\0\0\0\0\0", 8), 0);  // padding cleared
            Ipv4Endpoint back;
            ASSERT_EQ(parse_sockaddr_in(a, AddressUse::bind, &back), 0);
            EXPECT_EQ(back.port, port);
            EXPECT_EQ(back.address, inet_addr(address));
        }
    }
}

TEST(InetAddress, Classes) {
    EXPECT_EQ(ipv4_host_order(inet_addr("1.2.3.4")), 0x01020304u);
    EXPECT_EQ(ipv4_network_order(0x01020304u), inet_addr("1.2.3.4"));
    EXPECT_TRUE(is_any(inet_addr("0.0.0.0")));
    EXPECT_TRUE(is_loopback(inet_addr("127.0.0.1")));
    EXPECT_TRUE(is_loopback(inet_addr("127.255.0.9")));
    EXPECT_FALSE(is_loopback(inet_addr("128.0.0.1")));
    EXPECT_TRUE(is_multicast(inet_addr("224.0.0.1")));
    EXPECT_TRUE(is_multicast(inet_addr("239.255.255.255")));
    EXPECT_FALSE(is_multicast(inet_addr("240.0.0.1")));
    EXPECT_TRUE(is_limited_broadcast(inet_addr("255.255.255.255")));
    uint32_t lo = inet_addr("127.0.0.1"), lo_mask = inet_addr("255.0.0.0");
    EXPECT_TRUE(is_subnet_broadcast(inet_addr("127.255.255.255"), lo, lo_mask));
    EXPECT_FALSE(is_subnet_broadcast(inet_addr("127.255.255.254"), lo, lo_mask));
    uint32_t eth = inet_addr("10.0.0.1"), slash24 = inet_addr("255.255.255.0");
    EXPECT_TRUE(is_subnet_broadcast(inet_addr("10.0.0.255"), eth, slash24));
    EXPECT_FALSE(is_subnet_broadcast(inet_addr("10.0.1.255"), eth, slash24));  // another subnet
    // /31 and /32 have no broadcast address; neither has an interface without a mask.
    EXPECT_FALSE(is_subnet_broadcast(inet_addr("10.0.0.1"), eth, inet_addr("255.255.255.254")));
    EXPECT_FALSE(is_subnet_broadcast(inet_addr("10.0.0.1"), eth, inet_addr("255.255.255.255")));
    EXPECT_FALSE(is_subnet_broadcast(inet_addr("255.255.255.255"), eth, 0));
}

}  // namespace
