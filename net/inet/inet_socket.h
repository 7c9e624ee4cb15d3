// AF_INET sockets (private to net/inet/): what TCP (tcp_socket.h) and UDP (udp_socket.h)
// share on top of net::Socket: the IPPROTO_IP options, the route and address checks, and
// lwIP's error codes as Linux's.
//
// Every call into lwIP holds the core lock (CoreLock). lwIP's callbacks run with it held too
// (in the tcpip thread or a driver's receive thread), change the socket's state and call
// refresh(), which recomputes the socket's readiness into one atomic word and notifies the
// PollHead of what changed; socket_poll() reads that word without the lock, so epoll's scans
// and poll never take the core lock.
//
// Lock order: VFS lock -> core lock -> PollHead spinlocks. Sockets are destroyed under the
// VFS lock; a destructor takes the core lock, never the other way round.
#pragma once

#include <mica/net/inet.h>
#include <mica/net/inet_address.h>
#include <mica/net/socket.h>

#include "lwip/err.h"
#include "lwip/ip_addr.h"

struct netif;

namespace mica::net {

// IPPROTO_IP options (linux/in.h).
inline constexpr int ip_tos = 1, ip_ttl = 2, ip_pktinfo = 8, ip_mtu_discover = 10, ip_recverr = 11,
                     ip_recvttl = 12, ip_recvtos = 13, ip_mtu = 14, ip_freebind = 15;
inline constexpr int default_ttl = 64;            // net.ipv4.ip_default_ttl (lwIP's IP_DEFAULT_TTL)
inline constexpr uint8_t ecn_mask = 0x3;          // INET_ECN_MASK: TCP keeps its own ECN bits
inline constexpr unsigned long siocinq = 0x541b, siocoutq = 0x5411, siocoutqnsd = 0x894b;
inline constexpr int errno_nomem = 12;

class InetSocket : public Socket {
protected:
    InetSocket(int type, int protocol, uint32_t receive_buffer, uint32_t send_buffer);

    // IPPROTO_IP options: IP_TTL, IP_TOS (applied with apply_ip_options), IP_RECVERR (kept,
    // no error queue); -ENOPROTOOPT for the others.
    int set_ip_option(int name, const void* value, uint32_t length);
    int get_ip_option(int name, void* value, uint32_t* length);
    // Copies TTL and TOS into the pcb's IP fields (core lock held).
    virtual void apply_ip_options() = 0;

    // An accepted connection takes its listener's IP options.
    void copy_ip_options(const InetSocket& from) {
        ttl_ = from.ttl_;
        tos_ = from.tos_;
        receive_errors_ = from.receive_errors_;
    }
    uint8_t ttl() const { return ttl_ < 0 ? default_ttl : static_cast<uint8_t>(ttl_); }
    uint8_t tos() const { return tos_; }
    bool receive_errors() const { return receive_errors_; }

private:
    int ttl_ = -1;  // -1: the default
    uint8_t tos_ = 0;
    bool receive_errors_ = false;
};

// ---- helpers for both protocols (core lock held) ---------------------------------------------

ip_addr_t lwip_address(uint32_t network_order);
uint32_t plain_address(const ip_addr_t& address);
// Whether a socket may bind to `address`: INADDR_ANY, 127.0.0.0/8 (Linux's loopback is the
// whole /8; lwIP's loopback interface answers 127.0.0.1 only), an interface's own address,
// a broadcast or a multicast address (as Linux's inet_bind allows).
bool bindable_address(uint32_t address);
// The interface a packet to `address` leaves through, or nullptr (no route).
struct netif* route_to(uint32_t address);
// 255.255.255.255 or the subnet broadcast of an interface that has one.
bool broadcast_address(uint32_t address);
// The source address a connection to `address` gets (the route's interface address).
uint32_t source_address_for(uint32_t address);
// lwIP's error as Linux's errno, negative.
int errno_from(err_t error);

}  // namespace mica::net
