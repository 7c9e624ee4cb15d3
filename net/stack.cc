// Starting the stack and configuring it from the boot options; the interface and nameserver
// queries the socket layer uses; the idle check tests use.
#include <mica/clock.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/format.h>
#include <mica/net/net.h>
#include <mica/net/options.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "stack_internal.h"

namespace mica::net {
namespace {

static_assert(DNS_MAX_SERVERS == max_nameservers, "options.h's max_nameservers must be lwIP's DNS_MAX_SERVERS");

constexpr uint64_t ns_per_ms = 1000000;
constexpr uint64_t poll_interval_ns = 10 * ns_per_ms;

// The boot options: written by the command-line parser (boot thread), read by init().
Options options;
// Set by init() once lwIP runs; never cleared (read through initialized()).
bool running = false;

const cmdline::Option option_table[] = {
    {"ip", "IFACE,ADDR,NETMASK", "static IPv4 address of an Ethernet interface (repeatable; others use DHCP)",
     nullptr, [](const char* v) { return add_ip_option(options, v); }},
    {"defaultgw", "ADDR", "default gateway (on an --ip subnet, or a DHCP lease's that names none)", nullptr,
     [](const char* v) { return add_gateway_option(options, v); }},
    {"nameserver", "ADDR", "DNS server for /etc/resolv.conf (repeatable, up to 3)", nullptr,
     [](const char* v) { return add_nameserver_option(options, v); }},
};

uint32_t host_order(const ip4_addr_t* a) { return lwip_ntohl(ip4_addr_get_u32(a)); }

// The interface's settings, each with where it came from ("--verbose").
void describe(const char* name, const struct netif* n, bool dhcp) {
    const auto* s = static_cast<const DeviceState*>(n->state);
    char address[16], gateway[40], mac[18], servers[3 * 16 + 24] = "";
    format_ipv4(host_order(netif_ip4_addr(n)), address, sizeof(address));
    if (ip4_addr_isany(netif_ip4_gw(n))) {
        fmt::snprintf(gateway, sizeof gateway, "none");
    } else {
        char g[16];
        format_ipv4(host_order(netif_ip4_gw(n)), g, sizeof g);
        fmt::snprintf(gateway, sizeof gateway, "%s (%s)", g, dhcp && !s->gateway_from_option ? "DHCP" : "--defaultgw");
    }
    size_t used = 0;
    for (u8_t i = 0; i < DNS_MAX_SERVERS; ++i) {
        const ip_addr_t* server = dns_getserver(i);
        if (ip_addr_isany(server)) continue;
        char text[16];
        format_ipv4(lwip_ntohl(ip_addr_get_ip4_u32(server)), text, sizeof text);
        used += fmt::snprintf(servers + used, sizeof servers - used, "%s%s", used ? ", " : "", text);
    }
    if (used) fmt::snprintf(servers + used, sizeof servers - used, " (%s)", options.nameserver_count ? "--nameserver" : "DHCP");
    else fmt::snprintf(servers, sizeof servers, "none");
    const uint8_t* m = n->hwaddr;
    fmt::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    kprintf("mica: %s: %s/%u (%s), gateway %s, name server %s, MAC %s, MTU %u\n", name, address,
            netmask_prefix_length(host_order(netif_ip4_netmask(n))), dhcp ? "DHCP" : "--ip", gateway, servers, mac,
            n->mtu);
}

// Told of every IPv4 settings change (core lock held): a DHCP lease that names no router
// (QEMU's restricted user network names none) gets the --defaultgw on its subnet, after the
// first lease and after every renewal (which sets the gateway again).
netif_ext_callback_t settings_callback;  // registered once by init()
void gateway_for_lease(struct netif* n, netif_nsc_reason_t reason, const netif_ext_callback_args_t*) {
    constexpr netif_nsc_reason_t ipv4_changes =
        LWIP_NSC_IPV4_SETTINGS_CHANGED | LWIP_NSC_IPV4_ADDRESS_CHANGED | LWIP_NSC_IPV4_GATEWAY_CHANGED;
    auto* s = static_cast<DeviceState*>(n->state);
    if (!(reason & ipv4_changes) || !s || !options.have_gateway || !netif_dhcp_data(n)) return;
    if (!ip4_addr_isany(netif_ip4_gw(n))) {
        s->gateway_from_option = s->gateway_from_option && host_order(netif_ip4_gw(n)) == options.gateway;
        return;
    }
    uint32_t address = host_order(netif_ip4_addr(n)), mask = host_order(netif_ip4_netmask(n));
    if (address == 0 || (options.gateway & mask) != (address & mask)) return;
    ip4_addr_t gw;
    ip4_addr_set_u32(&gw, lwip_htonl(options.gateway));
    s->gateway_from_option = true;
    netif_set_gw(n, &gw);  // calls back with the gateway set: nothing more to do then
}

void fill_info(const struct netif* n, InterfaceInfo& info) {
    info = {};
    fmt::snprintf(info.name, sizeof(info.name), "%s", interface_name(n));
    info.index = netif_get_index(n);
    memcpy(info.mac, n->hwaddr, sizeof(info.mac) < n->hwaddr_len ? sizeof(info.mac) : n->hwaddr_len);
    info.mtu = n->mtu;
    info.address = ip4_addr_get_u32(netif_ip4_addr(n));
    info.netmask = ip4_addr_get_u32(netif_ip4_netmask(n));
    info.gateway = ip4_addr_get_u32(netif_ip4_gw(n));
    info.up = netif_is_up(n);
    info.link_up = netif_is_link_up(n);
    info.loopback = n->state == nullptr;
    info.dhcp = netif_dhcp_data(n) != nullptr;
    info.dhcp_bound = info.dhcp && dhcp_supplied_address(n);
}

}  // namespace

// Written by the DHCP hook, read for the resolver files; both with the core lock held.
DhcpNameservers dhcp_nameservers;

Options& boot_options() { return options; }

cmdline::OptionTable command_line_options() {
    return {option_table, sizeof(option_table) / sizeof(option_table[0])};
}

bool initialized() { return __atomic_load_n(&running, __ATOMIC_ACQUIRE); }

const char* init(bool verbose) {
    if (initialized()) return nullptr;
    const char* names[max_devices];
    char storage[max_devices][8];
    size_t count = registered_names(names, storage, max_devices);
    if (const char* problem = check_options(options, names, count)) return problem;

    // lwip_init() runs here; the tcpip thread is created but not waited for (it takes the
    // core lock when it first runs, and the configuration below holds it meanwhile).
    tcpip_init(nullptr, nullptr);

    CoreLock lock;
    netif_add_ext_callback(&settings_callback, gateway_for_lease);
    // Linux's loopback has a broadcast address (127.255.255.255: its local routing table's
    // "broadcast" entry), which SO_BROADCAST datagrams reach; lwIP's has none unless told.
    if (struct netif* lo = find_netif("lo")) netif_set_flags(lo, NETIF_FLAG_BROADCAST);
    add_registered_devices(options);
    struct netif* default_netif = nullptr;
    for (size_t i = 0; i < max_devices; ++i) {
        DeviceState* s = registered_device(i);
        if (!s || !s->added) continue;
        const StaticAddress* address = options.address_for(s->device->name());
        if (address) {
            if (options.have_gateway &&
                (options.gateway & address->netmask) == (address->address & address->netmask)) {
                ip4_addr_t gw;
                ip4_addr_set_u32(&gw, lwip_htonl(options.gateway));
                netif_set_gw(&s->netif, &gw);
                default_netif = &s->netif;
            }
            if (verbose) describe(s->device->name(), &s->netif, false);
        } else if (dhcp_start(&s->netif) != ERR_OK) {
            kprintf("mica: %s: cannot start DHCP (out of memory)\n", s->device->name());
        }
        if (!default_netif) default_netif = &s->netif;
    }
    if (default_netif) netif_set_default(default_netif);
    for (size_t i = 0; i < options.nameserver_count; ++i) {
        ip_addr_t server;
        ip_addr_set_ip4_u32_val(server, lwip_htonl(options.nameservers[i]));
        dns_setserver(static_cast<u8_t>(i), &server);
    }
    __atomic_store_n(&running, true, __ATOMIC_RELEASE);
    return nullptr;
}

size_t wait_for_addresses(bool verbose) {
    if (!initialized()) return 0;
    uint64_t wait_ns = uint64_t{CONFIG_NET_DHCP_WAIT_MS} * ns_per_ms;
    uint64_t deadline = clock::monotonic_ns() + wait_ns;
    for (;;) {
        size_t waiting = 0;
        {
            CoreLock lock;
            for (size_t i = 0; i < max_devices; ++i) {
                DeviceState* s = registered_device(i);
                if (s && s->added && netif_dhcp_data(&s->netif) && !dhcp_supplied_address(&s->netif)) ++waiting;
            }
        }
        if (waiting == 0 || clock::monotonic_ns() >= deadline) break;
        sched::sleep_ns(poll_interval_ns);
    }
    CoreLock lock;
    size_t without = 0;
    for (size_t i = 0; i < max_devices; ++i) {
        DeviceState* s = registered_device(i);
        if (!s || !s->added || !netif_dhcp_data(&s->netif)) continue;
        if (dhcp_supplied_address(&s->netif)) {
            if (verbose) describe(s->device->name(), &s->netif, true);
        } else {
            ++without;
            kprintf("mica: %s: no DHCP lease within %u ms%s; the application starts without an address on it "
                    "(DHCP goes on trying)\n",
                    s->device->name(), static_cast<unsigned>(CONFIG_NET_DHCP_WAIT_MS),
                    netif_is_link_up(&s->netif) ? "" : " (the link is down)");
        }
    }
    return without;
}

size_t interfaces(InterfaceInfo* out, size_t max) {
    if (!initialized()) return 0;
    CoreLock lock;
    size_t count = 0;
    // In index order: lo (index 1), then the Ethernet interfaces as they were added.
    for (unsigned index = 1; index <= 255; ++index) {
        struct netif* n = netif_get_by_index(static_cast<u8_t>(index));
        if (!n) continue;
        if (count < max) fill_info(n, out[count]);
        ++count;
    }
    return count;
}

bool interface_by_name(const char* name, InterfaceInfo& out) {
    if (!initialized()) return false;
    CoreLock lock;
    struct netif* n = find_netif(name);
    if (!n) return false;
    fill_info(n, out);
    return true;
}

struct netif* find_netif(const char* name) {
    struct netif* n;
    NETIF_FOREACH(n) {
        if (strcmp(interface_name(n), name) == 0) return n;
    }
    return nullptr;
}

const char* interface_name(const struct netif* n) {
    if (auto* s = static_cast<const DeviceState*>(n->state)) return s->device->name();
    return n->name[0] == 'l' && n->name[1] == 'o' ? "lo" : "";
}

size_t nameservers(uint32_t* out, size_t max) {
    if (!initialized()) return 0;
    CoreLock lock;
    size_t count = 0;
    for (u8_t i = 0; i < DNS_MAX_SERVERS; ++i) {
        const ip_addr_t* server = dns_getserver(i);
        if (ip_addr_isany(server)) continue;
        if (count < max) out[count] = ip_addr_get_ip4_u32(server);
        ++count;
    }
    return count;
}

bool wait_until_idle(uint64_t timeout_ns, char* why, size_t why_size) {
    if (!initialized()) return true;
    uint64_t deadline = clock::monotonic_ns() + timeout_ns;
    for (;;) {
        const char* busy = nullptr;
        {
            CoreLock lock;
            while (tcp_tw_pcbs) tcp_abort(tcp_tw_pcbs);
            struct netif* n;
            if (tcp_active_pcbs) busy = "TCP connections are open";
            else if (tcp_timer_running()) busy = "the TCP timer still runs";
            else if (lwip_stats.memp[MEMP_TCPIP_MSG_API]->used) {
                busy = "messages wait for tcpip_thread";
            } else if (lwip_stats.memp[MEMP_REASSDATA]->used) busy = "IP fragments wait for reassembly";
            NETIF_FOREACH(n) {
                if (!busy && n->loop_first) busy = "loopback packets are queued";
            }
        }
        if (!busy) return true;
        if (clock::monotonic_ns() >= deadline) {
            fmt::snprintf(why, why_size, "%s", busy);
            return false;
        }
        sched::sleep_ns(poll_interval_ns);
    }
}

}  // namespace mica::net
