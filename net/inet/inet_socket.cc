// What TCP and UDP sockets share (inet_socket.h), and the family's entry point.
#include "inet_socket.h"

#include <mica/net/net.h>
#include <string.h>

#include "lwip/ip4.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "tcp_socket.h"
#include "udp_socket.h"

namespace mica::net {
namespace {

int read_option_int(const void* value, uint32_t length, int* out) {
    // Linux's do_ip_setsockopt: an int, or a single byte for the small-valued options.
    if (length >= sizeof(int)) {
        memcpy(out, value, sizeof(int));
    } else if (length >= 1) {
        *out = *static_cast<const uint8_t*>(value);
    } else {
        *out = 0;
    }
    return 0;
}

// ip_getsockopt: a byte when the caller's buffer is shorter than an int (and the value fits).
int write_option_int(void* value, uint32_t* length, int v) {
    if (*length < sizeof(int) && *length > 0 && v >= 0 && v <= 255) {
        *static_cast<uint8_t*>(value) = static_cast<uint8_t>(v);
        *length = 1;
        return 0;
    }
    if (*length > sizeof(int)) *length = sizeof(int);
    memcpy(value, &v, *length);
    return 0;
}

}  // namespace

InetSocket::InetSocket(int type, int protocol, uint32_t receive_buffer, uint32_t send_buffer)
    : Socket(af_inet, type, protocol, receive_buffer, send_buffer) {}

int InetSocket::set_ip_option(int name, const void* value, uint32_t length) {
    int v;
    read_option_int(value, length, &v);
    switch (name) {
    case ip_ttl:
        if (length < 1) return -errno_inval;
        if (v != -1 && (v < 1 || v > 255)) return -errno_inval;
        {
            CoreLock lock;
            ttl_ = v;
            apply_ip_options();
        }
        return 0;
    case ip_tos: {
        CoreLock lock;
        uint8_t t = static_cast<uint8_t>(v);
        // TCP keeps the ECN bits of the header to itself (Linux's __ip_sock_set_tos).
        if (type() == sock_stream) t = static_cast<uint8_t>((t & ~ecn_mask) | (tos_ & ecn_mask));
        tos_ = t;
        apply_ip_options();
        return 0;
    }
    case ip_recverr:
        receive_errors_ = v != 0;
        return 0;
    default: return -errno_noprotoopt;
    }
}

int InetSocket::get_ip_option(int name, void* value, uint32_t* length) {
    switch (name) {
    case ip_ttl: return write_option_int(value, length, ttl());
    case ip_tos: return write_option_int(value, length, tos_);
    case ip_recverr: return write_option_int(value, length, receive_errors_);
    default: return -errno_noprotoopt;
    }
}

// ---- helpers -------------------------------------------------------------------------------

ip_addr_t lwip_address(uint32_t network_order) {
    ip_addr_t a;
    ip_addr_set_ip4_u32_val(a, network_order);
    return a;
}

uint32_t plain_address(const ip_addr_t& address) { return ip4_addr_get_u32(ip_2_ip4(&address)); }

bool bindable_address(uint32_t address) {
    if (is_any(address) || is_loopback(address) || is_multicast(address) || broadcast_address(address)) return true;
    struct netif* n;
    NETIF_FOREACH(n) {
        if (ip4_addr_get_u32(netif_ip4_addr(n)) == address) return true;
    }
    return false;
}

struct netif* route_to(uint32_t address) {
    ip4_addr_t a;
    ip4_addr_set_u32(&a, address);
    return ip4_route(&a);
}

bool broadcast_address(uint32_t address) {
    if (is_limited_broadcast(address)) return true;
    struct netif* n;
    NETIF_FOREACH(n) {
        if ((n->flags & NETIF_FLAG_BROADCAST) &&
            is_subnet_broadcast(address, ip4_addr_get_u32(netif_ip4_addr(n)), ip4_addr_get_u32(netif_ip4_netmask(n)))) {
            return true;
        }
    }
    return false;
}

uint32_t source_address_for(uint32_t address) {
    struct netif* n = route_to(address);
    return n ? ip4_addr_get_u32(netif_ip4_addr(n)) : 0;
}

int errno_from(err_t error) {
    switch (error) {
    case ERR_OK: return 0;
    case ERR_MEM: return -errno_nomem;
    case ERR_BUF: return -errno_nobufs;
    case ERR_RTE: return -errno_netunreach;
    case ERR_USE: return -errno_addrinuse;
    case ERR_ISCONN: return -errno_isconn;
    case ERR_ALREADY: return -errno_already;
    case ERR_CONN: return -errno_notconn;
    case ERR_RST: return -errno_connreset;
    case ERR_ABRT: return -errno_connaborted;
    case ERR_CLSD: return -errno_notconn;
    case ERR_TIMEOUT: return -errno_timedout;
    case ERR_VAL:
    case ERR_ARG: return -errno_inval;
    default: return -errno_inval;
    }
}

// ---- the family ------------------------------------------------------------------------------

int inet_create(int type, int protocol, Socket** out) {
    if (!initialized()) return -errno_afnosupport;
    switch (type) {
    case sock_stream:
        if (protocol != 0 && protocol != ipproto_tcp) return -errno_protonosupport;
        return TcpSocket::create(out);
    case sock_dgram:
        if (protocol != 0 && protocol != ipproto_udp) return -errno_protonosupport;
        return UdpSocket::create(out);
    case sock_raw: return -errno_protonosupport;  // (Linux's raw sockets need a protocol)
    default: return -errno_socktnosupport;
    }
}

}  // namespace mica::net
