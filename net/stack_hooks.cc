// The lwIP hooks declared in net/lwip/include/mica_lwip_hooks.h. All run with the core lock
// held, inside lwIP.
#include <mica/random.h>
#include <mica/net/options.h>

#include <mica/net/net.h>
#include <string.h>

#include "lwip/dns.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/dhcp.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "mica_lwip_hooks.h"
#include "stack_internal.h"

using namespace mica::net;

namespace {

// tcpip_thread (core lock held): a SYN taken from a TIME_WAIT connection goes through the
// stack again, as the device handed it up: its checksums were verified the first time.
void reinject_syn(void* arg) {
    auto* copy = static_cast<struct pbuf*>(arg);
    struct netif* netif = netif_get_by_index(copy->if_idx);
    if (!netif) {
        pbuf_free(copy);
        return;
    }
    ReceiveContext saved = receive_context;
    receive_context = ReceiveContext{netif, true};
    ip4_input(copy, netif);  // takes the pbuf
    receive_context = saved;
}

}  // namespace

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

int mica_lwip_tcp_inpacket(struct tcp_pcb* pcb, struct tcp_hdr* hdr, uint16_t optlen, uint16_t opt1len, uint8_t* opt2,
                           struct pbuf* p) {
    if (pcb->state != TIME_WAIT) return ERR_OK;
    if ((TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN) return ERR_OK;
    // tcp_input has turned the header's ports, numbers and window to host order in place.
    if (!TCP_SEQ_GT(hdr->seqno, pcb->rcv_nxt)) return ERR_OK;  // an old duplicate
    // The whole packet again (lwIP has moved the pbuf past the headers): the IPv4 header, the
    // TCP header and options (the options may straddle two pbufs), the payload.
    const struct ip_hdr* iph = ip4_current_header();
    struct netif* netif = ip_current_input_netif();
    uint16_t ip_length = IPH_HL_BYTES(iph);
    uint16_t tcp_length = TCP_HLEN + optlen;
    uint32_t total = uint32_t{ip_length} + tcp_length + p->tot_len;
    if (!netif || total > 0xffff) return ERR_OK;
    struct pbuf* copy = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(total), PBUF_RAM);
    if (!copy) return ERR_OK;  // no memory: lwIP's own answer, as before
    auto* out = static_cast<uint8_t*>(copy->payload);
    memcpy(out, iph, ip_length);
    memcpy(out + ip_length, hdr, TCP_HLEN + opt1len);
    auto* tcp = reinterpret_cast<struct tcp_hdr*>(out + ip_length);  // back to network order
    tcp->src = lwip_htons(hdr->src);
    tcp->dest = lwip_htons(hdr->dest);
    tcp->seqno = lwip_htonl(hdr->seqno);
    tcp->ackno = lwip_htonl(hdr->ackno);
    tcp->wnd = lwip_htons(hdr->wnd);
    if (optlen > opt1len) memcpy(out + ip_length + TCP_HLEN + opt1len, opt2, optlen - opt1len);
    pbuf_copy_partial(p, out + ip_length + tcp_length, p->tot_len, 0);
    copy->if_idx = netif_get_index(netif);
    if (defer(reinject_syn, copy) != 0) {
        pbuf_free(copy);
        return ERR_OK;
    }
    tcp_abort(pcb);  // a TIME_WAIT pcb goes without a reset; lwIP touches it no more
    return ERR_ABRT;
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
