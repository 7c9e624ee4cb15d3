// sockaddr_in parsing and IPv4 address classes (inet_address.h), Linux's checks.
#include <mica/net/inet_address.h>
#include <string.h>

namespace mica::net {

uint32_t ipv4_host_order(uint32_t network) {
    const auto* b = reinterpret_cast<const uint8_t*>(&network);
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

uint32_t ipv4_network_order(uint32_t host) {
    uint32_t network;
    auto* b = reinterpret_cast<uint8_t*>(&network);
    b[0] = static_cast<uint8_t>(host >> 24);
    b[1] = static_cast<uint8_t>(host >> 16);
    b[2] = static_cast<uint8_t>(host >> 8);
    b[3] = static_cast<uint8_t>(host);
    return network;
}

bool is_loopback(uint32_t a) { return ipv4_host_order(a) >> 24 == 127; }
bool is_multicast(uint32_t a) { return ipv4_host_order(a) >> 28 == 0xe; }
bool is_limited_broadcast(uint32_t a) { return a == 0xffffffffu; }

bool is_subnet_broadcast(uint32_t a, uint32_t interface, uint32_t netmask) {
    uint32_t mask = ipv4_host_order(netmask), host = ipv4_host_order(a);
    if (mask == 0 || ~mask <= 1) return false;  // no subnet, /31 and /32 have no broadcast
    return (host & mask) == (ipv4_host_order(interface) & mask) && (host & ~mask) == ~mask;
}

int parse_sockaddr_in(const SocketAddress& address, AddressUse use, Ipv4Endpoint* out) {
    if (address.length < sockaddr_in_size) return -errno_inval;
    int family = address.family();
    uint32_t ip;
    memcpy(&ip, address.bytes + 4, sizeof(ip));
    if (family != af_inet) {
        bool compatible = family == af_unspec && (use == AddressUse::send || (use == AddressUse::bind && ip == 0));
        if (!compatible) return -errno_afnosupport;
    }
    out->address = ip;
    out->port = static_cast<uint16_t>(address.bytes[2] << 8 | address.bytes[3]);  // big-endian
    if (use == AddressUse::send && out->port == 0) return -errno_inval;
    return 0;
}

void make_sockaddr_in(const Ipv4Endpoint& endpoint, SocketAddress* out) {
    memset(out->bytes, 0, sockaddr_in_size);
    out->set_family(af_inet);
    out->bytes[2] = static_cast<uint8_t>(endpoint.port >> 8);
    out->bytes[3] = static_cast<uint8_t>(endpoint.port);
    memcpy(out->bytes + 4, &endpoint.address, sizeof(endpoint.address));
    out->length = sockaddr_in_size;
}

}  // namespace mica::net
