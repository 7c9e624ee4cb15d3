// What the parts of net/ share among themselves (not for other subsystems): the device
// registry, the per-packet receive context and the transmit flush list. Everything here is
// guarded by the core lock unless it says otherwise.
#pragma once

#include <mica/net/netdev.h>
#include <mica/net/options.h>

#include "lwip/netif.h"

namespace mica::net {

// lwIP's per-interface flags for verifying received IPv4, UDP, TCP and ICMP checksums.
inline constexpr uint16_t checksum_check_all =
    NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_UDP | NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_ICMP;

// The stack's side of one EthernetDevice (EthernetDevice::stack_).
struct DeviceState {
    EthernetDevice* device = nullptr;
    struct netif netif = {};
    unsigned number = 0;          // N of ethN
    bool added = false;           // netif_add done, not removed
    bool flush_pending = false;   // transmitted since the last flush()
    bool gateway_from_option = false;  // a DHCP lease without a router got --defaultgw
    DeviceState* next_flush = nullptr;
    DeviceStats stats;
};

// The Ethernet interfaces registered (index N: ethN), guarded by registry_lock (netdev.cc);
// after init() they change only with the core lock held too, so holding it is enough to read.
DeviceState* registered_device(size_t number);
// Called once by init() with the core lock held: marks the stack running and adds a netif for
// every device registered so far (configured by `address` when it names the device).
void add_registered_devices(const Options& options);
// Names of the devices registered so far (for check_options). Returns how many.
size_t registered_names(const char** names, char storage[][8], size_t max);

// The frame being received (netdev.cc sets it around ethernet_input): lets the IPv4 input hook
// tell a frame from the device (and whether the device verified its checksums) from a packet
// looped back inside the stack.
struct ReceiveContext {
    struct netif* netif = nullptr;
    bool checksum_verified = false;
};
extern ReceiveContext receive_context;

// Whether TCP's timer is scheduled (net/lwip/timeouts.cc): while any connection needs it.
bool tcp_timer_running();

// Calls flush() on every device that transmitted since its last flush (core lock held).
void flush_transmits();
// Waits until tcpip_thread has handled every message queued before the call (not with the
// core lock held).
void tcpip_barrier();

// The boot options (stack.cc): written while the command line is parsed, read by init().
Options& boot_options();
// DNS servers DHCP offered (host byte order), kept by the DHCP hook.
struct DhcpNameservers {
    uint32_t servers[max_nameservers] = {};
    size_t count = 0;
};
extern DhcpNameservers dhcp_nameservers;

}  // namespace mica::net
