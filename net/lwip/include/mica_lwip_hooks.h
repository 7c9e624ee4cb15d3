/* The functions behind the lwIP hooks Mica installs (lwipopts.h defines the LWIP_HOOK_*
 * macros, which lwIP's headers test, and names this file as LWIP_HOOK_FILENAME, which lwIP's
 * .c files include after their own headers). They are in net/stack_hooks.cc. */
#ifndef MICA_LWIP_HOOKS_H
#define MICA_LWIP_HOOKS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pbuf;
struct netif;
struct ip4_addr;
struct tcp_pcb;
struct tcp_hdr;

/* Initial sequence numbers from the kernel's random generator: a peer cannot guess the next
 * connection's (lwIP's own counter is predictable). */
uint32_t mica_lwip_tcp_isn(const struct ip4_addr* local_ip, uint16_t local_port,
                           const struct ip4_addr* remote_ip, uint16_t remote_port);

/* Every IPv4 packet on its way in: chooses which checksums the interface verifies for it
 * (a device may have verified them already; a packet looped back locally never had them
 * computed when the interface offloads them). Returns 0: lwIP goes on with the packet. */
int mica_lwip_ip4_input(struct pbuf* p, struct netif* inp);

/* Source-address routing: a packet from an address of interface X leaves through X when X
 * can reach the destination (its subnet or its gateway), whatever route the destination
 * alone would pick. With one interface nothing changes; with two on one subnet (the
 * back-to-back test pair) each keeps its own traffic. */
struct netif* mica_lwip_route_source(const struct ip4_addr* src, const struct ip4_addr* dest);

/* DHCP options lwIP does not decode itself: the DNS servers of an acknowledgement (used
 * unless --nameserver gave some). */
void mica_lwip_dhcp_option(struct netif* netif, uint8_t message_type, uint8_t option, uint8_t length,
                           struct pbuf* p, uint16_t offset);

/* Every TCP segment lwIP has matched to a pcb, before lwIP processes it: returns 0 to let
 * lwIP go on, anything else to drop the segment. Used for one thing: a SYN that reuses the
 * addresses and ports of a connection this side holds in TIME_WAIT. lwIP answers it with a
 * reset (or an ACK); Linux starts the new connection when the SYN's sequence number is past
 * the old connection's (RFC 6191's rule without timestamps), and peers count on that: QEMU's
 * user network keeps the host client's port, and a host that reuses a port soon after a
 * connection the guest closed first would be refused. So the TIME_WAIT connection is dropped
 * and the SYN goes through the stack again, where the listener takes it. */
int mica_lwip_tcp_inpacket(struct tcp_pcb* pcb, struct tcp_hdr* hdr, uint16_t optlen, uint16_t opt1len,
                           uint8_t* opt2, struct pbuf* p);

#ifdef __cplusplus
}
#endif

#endif /* MICA_LWIP_HOOKS_H */
