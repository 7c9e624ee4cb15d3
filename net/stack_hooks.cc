// The lwIP hooks declared in net/lwip/include/mica_lwip_hooks.h. All run with the core lock
// held, inside lwIP.
#include <mica/random.h>
#include <mica/net/options.h>

#include "lwip/dns.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"
#include "mica_lwip_hooks.h"
#include "stack_internal.h"

using namespace mica::net;

extern "C" {

uint32_t mica_lwip_tcp_isn(const struct ip4_addr*, uint16_t, const struct ip4_addr*, uint16_t) {
    uint32_t isn;
    mica::random::fill(&isn, sizeof isn);
    return isn;
}

int mica_lwip_ip4_input(struct pbuf*, struct netif* inp) {
    // Only Ethernet interfaces change; lo computes and checks no checksums at all.
    if (!inp->state) return 0;
    uint16_t flags = inp->chksum_flags & static_cast<uint16_t>(~checksum_check_all);
    if (receive_context.netif == inp) {
        // From the device: the IPv4 header and ICMP are always verified here; TCP and UDP
        // unless the device says it did (virtio's DATA_VALID covers the transport sum).
        flags |= NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_ICMP;
        if (!receive_context.checksum_verified) flags |= NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP;
    }
    // Otherwise the packet was sent to the interface's own address and looped back inside
    // the stack: it was built here, and with TCP checksum offload its checksum field holds
    // only the pseudo-header sum, so nothing is checked (as Linux does for loopback).
    NETIF_SET_CHECKSUM_CTRL(inp, flags);
    return 0;
}

struct netif* mica_lwip_route_source(const struct ip4_addr* src, const struct ip4_addr* dest) {
    if (!src || ip4_addr_isany(src) || ip4_addr_isloopback(src) || ip4_addr_isloopback(dest)) return nullptr;
    struct netif* n;
    NETIF_FOREACH(n) {
        if (!n->state || !netif_is_up(n) || !netif_is_link_up(n) || !ip4_addr_cmp(src, netif_ip4_addr(n))) continue;
        bool on_link = ip4_addr_netcmp(dest, netif_ip4_addr(n), netif_ip4_netmask(n)) || ip4_addr_isbroadcast(dest, n);
        if (on_link || !ip4_addr_isany_val(*netif_ip4_gw(n))) return n;
    }
    return nullptr;
}

void mica_lwip_dhcp_option(struct netif*, uint8_t message_type, uint8_t option, uint8_t length, struct pbuf* p,
                           uint16_t offset) {
    constexpr size_t address_length = 4;
    if (message_type != DHCP_ACK || option != DHCP_OPTION_DNS_SERVER) return;
    DhcpNameservers found;
    for (size_t i = 0; i < max_nameservers && (i + 1) * address_length <= length; ++i) {
        uint8_t bytes[address_length];
        if (pbuf_copy_partial(p, bytes, address_length, static_cast<u16_t>(offset + i * address_length)) !=
            address_length) {
            break;
        }
        uint32_t a = uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 | bytes[3];
        if (a != 0) found.servers[found.count++] = a;
    }
    dhcp_nameservers = found;
    // --nameserver wins over DHCP.
    if (boot_options().nameserver_count) return;
    for (size_t i = 0; i < max_nameservers; ++i) {
        ip_addr_t server = {};
        if (i < found.count) ip_addr_set_ip4_u32_val(server, lwip_htonl(found.servers[i]));
        dns_setserver(static_cast<u8_t>(i), &server);
    }
}

}  // extern "C"
