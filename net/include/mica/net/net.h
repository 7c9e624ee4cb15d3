// The network stack: lwIP 2.1.3 (Debian's source package, fetched at configure time) with
// Mica's port in net/lwip, the loopback interface, Ethernet devices (netdev.h), DHCP, DNS
// and the boot options. See docs/networking.md.
//
// The socket layer uses lwIP's raw API (tcp_*, udp_*, pbuf_*) directly, always holding the
// core lock (CoreLock). lwIP's callbacks (recv, sent, accept, err, udp recv) run with the
// lock held too: in the tcpip thread (timers, loopback traffic, deferred calls) or in a
// driver's receive thread. A callback must never block or take the lock again; it queues
// data on its socket and wakes its waiters (CoreLock::wait below, or a PollHead).
//
// Addresses in this header are IPv4 in network byte order (as in struct in_addr).
#pragma once

#include <mica/cmdline.h>
#include <stddef.h>
#include <stdint.h>

struct netif;  // lwIP's

namespace mica::sched {
class CondVar;
}

namespace mica::net {

// --- Boot (kernel/core/main.cc) ------------------------------------------------------------

// The command-line options net contributes: --ip, --defaultgw, --nameserver.
cmdline::OptionTable command_line_options();
// Starts lwIP's tcpip thread, brings up lo (127.0.0.1/8) and every registered Ethernet
// device: the --ip address, or DHCP (started, not waited for). nullptr, or a message about
// an option that names what the machine does not have (an unknown interface): the caller
// stops with the usage status (64).
const char* init(bool verbose);
bool initialized();
// Before the application: waits (at most CONFIG_NET_DHCP_WAIT_MS) for DHCP leases and
// reports interfaces that got none (the application starts either way); returns how many.
size_t wait_for_addresses(bool verbose);
// Creates /etc/resolv.conf (the nameservers) and /etc/hosts (localhost and the host name)
// in the root filesystem unless the image has them. After files_init(); 0 or -errno.
int write_resolver_files();

// --- The core lock ---------------------------------------------------------------------------

class CoreLock {
public:
    CoreLock();
    ~CoreLock();
    CoreLock(const CoreLock&) = delete;
    CoreLock& operator=(const CoreLock&) = delete;
    // Releases the lock, waits on `cv` (signalled by lwIP callbacks, which hold the lock)
    // and takes the lock again before returning; false on timeout (0: no timeout). Frames
    // queued for transmission under the lock are flushed first.
    bool wait(sched::CondVar& cv, uint64_t timeout_ns = 0);
};
// Whether the calling thread holds the core lock (assertions).
bool core_locked();
// Runs f() under the core lock on the calling thread.
template <typename F>
auto with_core_lock(F&& f) {
    CoreLock lock;
    return f();
}
// Queues fn(arg) to run under the core lock in the tcpip thread (for code that must not
// wait for the lock); 0, -ENOMEM (no memory, or the thread's mailbox is full) or -EAGAIN
// (before init()).
int defer(void (*fn)(void*), void* arg);

// --- Interfaces ------------------------------------------------------------------------------

inline constexpr size_t interface_name_size = 16;  // Linux's IFNAMSIZ

struct InterfaceInfo {
    char name[interface_name_size];  // "lo", "eth0", ...
    unsigned index;                  // lwIP's interface index (1 = lo), as SIOCGIFINDEX
    uint8_t mac[6];
    uint16_t mtu;                    // 0 for lo (no limit)
    uint32_t address, netmask, gateway;
    bool up, link_up, loopback, dhcp, dhcp_bound;
};
// The interfaces (lo, then eth0...) into out[0..max); returns how many there are.
size_t interfaces(InterfaceInfo* out, size_t max);
bool interface_by_name(const char* name, InterfaceInfo& out);
// Under the core lock: lwIP's netif for a Linux interface name (nullptr if none), and the
// Linux name of a netif ("" if unknown).
struct netif* find_netif(const char* name);
const char* interface_name(const struct netif* netif);

// The nameservers in use: --nameserver, else those DHCP supplied. Returns how many.
size_t nameservers(uint32_t* out, size_t max);

// --- Tests -----------------------------------------------------------------------------------

// Waits until lwIP holds no connection state: connections in TIME_WAIT are dropped (they
// would otherwise linger for 2 MSL), no TCP connection remains, the TCP timer has stopped and
// no loopback packet is queued. Then the heap holds only what it held before the traffic.
// false on timeout, with what is left in `why`.
bool wait_until_idle(uint64_t timeout_ns, char* why, size_t why_size);

}  // namespace mica::net
