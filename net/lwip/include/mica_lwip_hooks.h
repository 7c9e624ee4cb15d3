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

#ifdef __cplusplus
}
#endif

#endif /* MICA_LWIP_HOOKS_H */
