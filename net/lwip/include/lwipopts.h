/* lwIP's configuration for Mica: every value lwIP's opt.h would otherwise default, where the
 * default does not fit a kernel whose sockets call the raw API under the core lock
 * (docs/networking.md). The user-tunable sizes come from Kconfig (net/Kconfig). */
#ifndef MICA_LWIPOPTS_H
#define MICA_LWIPOPTS_H

#include <mica/config.h>

/* --- Operating system and threading ------------------------------------------------------- */

/* lwIP runs with threads: tcpip_thread runs the timers and deferred calls. */
#define NO_SYS 0
/* sys_arch_protect(): pbuf reference counts and pool statistics are touched from any thread
 * (a driver's receive thread, a socket freeing a received pbuf). */
#define SYS_LIGHTWEIGHT_PROT 1
/* Callers take the core lock and call lwIP directly instead of sending a message to
 * tcpip_thread and waiting for it: two context switches fewer per socket call. */
#define LWIP_TCPIP_CORE_LOCKING 1
/* Received frames are processed in the driver's thread under the core lock, no queue hop. */
#define LWIP_TCPIP_CORE_LOCKING_INPUT 1
/* The lock functions also flush the devices' transmit batches (net/stack.cc), and check
 * that every raw API call holds the lock. */
#ifdef __cplusplus
extern "C" {
#endif
void mica_lwip_lock_core(void);
void mica_lwip_unlock_core(void);
void mica_lwip_assert_core_locked(void);
void mica_lwip_mark_tcpip_thread(void);
#ifdef __cplusplus
}
#endif
#define LOCK_TCPIP_CORE() mica_lwip_lock_core()
#define UNLOCK_TCPIP_CORE() mica_lwip_unlock_core()
#define LWIP_ASSERT_CORE_LOCKED() mica_lwip_assert_core_locked()
#define LWIP_MARK_TCPIP_THREAD() mica_lwip_mark_tcpip_thread()
#define TCPIP_THREAD_NAME "tcpip"
/* Stack sizes are the scheduler's (64 KiB); lwIP's value would be ignored. */
#define TCPIP_THREAD_STACKSIZE 0
#define DEFAULT_THREAD_STACKSIZE 0
/* Messages to tcpip_thread: loopback packets (one per packet sent to a local address) and
 * deferred calls. A full mailbox makes a loopback send fail with ERR_MEM, so leave room for
 * a burst of a few hundred segments. */
#define TCPIP_MBOX_SIZE 1024
#define DEFAULT_TCP_RECVMBOX_SIZE 0
#define DEFAULT_UDP_RECVMBOX_SIZE 0
#define DEFAULT_ACCEPTMBOX_SIZE 0
/* Mica's own timeout list (net/lwip/timeouts.cc): entries are recycled, not allocated anew
 * every time a cyclic timer fires. */
#define LWIP_TIMERS 1
#define LWIP_TIMERS_CUSTOM 1

/* Mica's socket layer uses the raw API: no netconn, no lwIP sockets. */
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_NETIF_API 0
/* lwip/errno.h provides Linux's errno values for err_to_errno() (the socket layer's
 * translation of lwIP's err_t). */
#define LWIP_PROVIDE_ERRNO 1

/* --- Memory ------------------------------------------------------------------------------- */

/* tcp_write copies a send straight from the application's buffer into lwIP's segments (the
 * one copy on the way out). lwIP copies with MEMCPY; Mica's version (net/lwip/app_copy.cc)
 * turns a fault on the application range being sent into an error the socket reports,
 * instead of a kernel panic, and is a plain memcpy for everything else. */
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void* mica_lwip_memcpy(void* dst, const void* src, size_t length);
#ifdef __cplusplus
}
#endif
#define MEMCPY(dst, src, len) mica_lwip_memcpy((dst), (src), (len))

/* Everything comes from the kernel heap: no fixed pools to size per workload, connections
 * bounded by memory, and the kernel's allocation accounting (leak checks, the soak test)
 * covers the stack. */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
/* Received frames in the drivers' own buffers (zero-copy receive, netdev.h). */
#define LWIP_SUPPORT_CUSTOM_PBUF 1
/* Pool statistics: net::wait_until_idle() reads them to see when lwIP has let go of every
 * connection. */
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define MEMP_STATS 1
#define MEM_STATS 1
#define SYS_STATS 0

/* --- Protocols ---------------------------------------------------------------------------- */

#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
/* Raw IP: the in-kernel ping of the network test services (net/test_services.cc). */
#define LWIP_RAW 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_IGMP 0
#define LWIP_AUTOIP 0
#define LWIP_ALTCP 0
/* Linux's default TTL (net.ipv4.ip_default_ttl). */
#define IP_DEFAULT_TTL 64
/* Datagrams larger than the MTU go out in fragments and come back together. */
#define IP_FRAG 1
#define IP_REASSEMBLY 1
#define IP_REASS_MAX_PBUFS 256
/* Servers talk to many peers on the local subnet, and the table costs 32 bytes an entry. */
#define ARP_TABLE_SIZE 64
/* Keep every packet sent while an address is being resolved, not only the last one. */
#define ARP_QUEUEING 1
#define ARP_QUEUE_LEN 16
#define LWIP_NETIF_HWADDRHINT 1

#define LWIP_DHCP 1
/* No ARP probe of the offered address: it costs a second of boot, and the DHCP servers Mica
 * meets (QEMU's, a cloud's) hand out addresses nobody else has. */
#define DHCP_DOES_ARP_CHECK 0
/* DHCP's DNS servers are captured by a hook instead (mica_lwip_hooks.h), so that
 * --nameserver can win over them. */
#define LWIP_DHCP_MAX_DNS_SERVERS 0
#define LWIP_NETIF_HOSTNAME 1

#define LWIP_DNS 1
/* As many as glibc reads from resolv.conf (MAXNS); --nameserver accepts as many. */
#define DNS_MAX_SERVERS 3

/* --- TCP ---------------------------------------------------------------------------------- */

/* Ethernet's. The loopback interface has no MTU, so connections over 127.0.0.1 use it too. */
#define TCP_MSS 1460
/* Windows above 64 KiB (RFC 7323 window scaling): the receive window is a Kconfig value. */
#define LWIP_WND_SCALE 1
#define TCP_WND CONFIG_NET_TCP_WINDOW
#if TCP_WND <= 0xffff
#define TCP_RCV_SCALE 0
#elif TCP_WND <= (0xffff << 1)
#define TCP_RCV_SCALE 1
#elif TCP_WND <= (0xffff << 2)
#define TCP_RCV_SCALE 2
#elif TCP_WND <= (0xffff << 3)
#define TCP_RCV_SCALE 3
#elif TCP_WND <= (0xffff << 4)
#define TCP_RCV_SCALE 4
#elif TCP_WND <= (0xffff << 5)
#define TCP_RCV_SCALE 5
#elif TCP_WND <= (0xffff << 6)
#define TCP_RCV_SCALE 6
#else
#define TCP_RCV_SCALE 7
#endif
#define TCP_SND_BUF CONFIG_NET_TCP_SEND_BUFFER
/* Segments a connection may have queued: enough for a full send buffer of small writes. */
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
/* "Writable" (POLLOUT) once half the send buffer is free, capped where lwIP's 16-bit
 * arithmetic in tcp_sndbuf checks needs it. */
#define TCP_SNDLOWAT (TCP_SND_BUF / 2 < 0xffff - 4 * TCP_MSS - 1 ? TCP_SND_BUF / 2 : 0xffff - 4 * TCP_MSS - 1)
#define TCP_QUEUE_OOSEQ 1
/* accept() backlogs (listen(2)'s argument) are enforced. */
#define TCP_LISTEN_BACKLOG 1
/* SO_REUSEADDR (servers restarting on a port in TIME_WAIT) and SO_KEEPALIVE. */
#define SO_REUSE 1
#define LWIP_TCP_KEEPALIVE 1
/* One slot of per-connection data with a "destroyed" callback: the AF_INET socket layer hears
 * of every pcb lwIP frees (TIME_WAIT expiry and aborts call no other callback), so a socket
 * never keeps a pointer to a freed pcb. */
#define LWIP_TCP_PCB_NUM_EXT_ARGS 1
/* Unpredictable initial sequence numbers (mica_lwip_hooks.h). */
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1

/* --- Interfaces --------------------------------------------------------------------------- */

/* 127.0.0.1 on "lo", and packets to an interface's own address looped back inside. */
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 1
/* Bounded: a sender to a local address cannot queue unlimited memory ahead of tcpip_thread. */
#define LWIP_LOOPBACK_MAX_PBUFS 1024
/* Checksum generation and checking per interface: devices with checksum offload skip the
 * software sums, loopback computes none. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define LWIP_CHKSUM_ALGORITHM 3
/* Drivers take scatter lists (netdev.h), so pbuf chains go out as they are. */
#define LWIP_NETIF_TX_SINGLE_PBUF 0
#define LWIP_NETIF_STATUS_CALLBACK 0
/* Told of every change of an interface's IPv4 settings: a DHCP lease without a router gets the
   --defaultgw on its subnet (net/stack.cc), again after each renewal. */
#define LWIP_NETIF_EXT_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_SINGLE_NETIF 0

/* --- Hooks and diagnostics ---------------------------------------------------------------- */

#define LWIP_HOOK_FILENAME "mica_lwip_hooks.h"
/* What each does is said in mica_lwip_hooks.h: random initial sequence numbers, per-packet
 * checksum verification, a new connection over one in TIME_WAIT, source-address routing,
 * the DNS servers of a DHCP lease. */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
    mica_lwip_tcp_isn((local_ip), (local_port), (remote_ip), (remote_port))
#define LWIP_HOOK_IP4_INPUT(p, inp) mica_lwip_ip4_input((p), (inp))
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
    mica_lwip_tcp_inpacket((pcb), (hdr), (optlen), (opt1len), (opt2), (p))
#define LWIP_HOOK_IP4_ROUTE_SRC(src, dest) mica_lwip_route_source((src), (dest))
#define LWIP_HOOK_DHCP_PARSE_OPTION(netif, dhcp, state, msg, msg_type, option, len, pbuf, offset) \
    mica_lwip_dhcp_option((netif), (msg_type), (option), (len), (pbuf), (offset))
/* Asserts stay on (a broken invariant panics with lwIP's message); lwIP's debug printing is
 * off. */
#define LWIP_DBG_TYPES_ON LWIP_DBG_OFF

#endif /* MICA_LWIPOPTS_H */
