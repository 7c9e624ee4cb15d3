// AF_INET socket addresses (struct sockaddr_in) and the IPv4 address classes the socket
// layer needs, with Linux's checks for each use. Host-compilable (tests/unit).
//
// Addresses are kept as Linux and lwIP keep them: the IPv4 address in network byte order
// (as in struct in_addr), the port in host byte order once parsed.
#pragma once

#include <mica/net/socket_abi.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::net {

// Protocol numbers (netinet/in.h), which are also the option levels SOL_IP, SOL_TCP, SOL_UDP.
inline constexpr int ipproto_ip = 0, ipproto_tcp = 6, ipproto_udp = 17;
inline constexpr uint32_t sockaddr_in_size = 16;  // sizeof(struct sockaddr_in)

struct Ipv4Endpoint {
    uint32_t address = 0;  // network byte order; 0 is INADDR_ANY
    uint16_t port = 0;     // host byte order
};

// What an address is for: Linux checks each use a little differently.
enum class AddressUse {
    bind,     // inet_bind: AF_UNSPEC is accepted with INADDR_ANY only
    connect,  // tcp_v4_connect / ip4_datagram_connect (AF_UNSPEC is handled before)
    send,     // udp_sendmsg: AF_UNSPEC is taken as AF_INET, port 0 is EINVAL
};

// A sockaddr_in from the application: 0, -EINVAL (too short; port 0 for send) or
// -EAFNOSUPPORT (another family).
int parse_sockaddr_in(const SocketAddress& address, AddressUse use, Ipv4Endpoint* out);
// The sockaddr_in for an endpoint (16 bytes, zero padding).
void make_sockaddr_in(const Ipv4Endpoint& endpoint, SocketAddress* out);

// Address classes (network byte order).
uint32_t ipv4_host_order(uint32_t network);
uint32_t ipv4_network_order(uint32_t host);
inline bool is_any(uint32_t a) { return a == 0; }
bool is_loopback(uint32_t a);            // 127.0.0.0/8
bool is_multicast(uint32_t a);           // 224.0.0.0/4
bool is_limited_broadcast(uint32_t a);   // 255.255.255.255
// The directed broadcast address of the subnet `interface/netmask` (not /31 or /32).
bool is_subnet_broadcast(uint32_t a, uint32_t interface, uint32_t netmask);

}  // namespace mica::net
