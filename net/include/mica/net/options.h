// The network boot options, as OSv spells them:
//   --ip=IFACE,ADDR,NETMASK   a static IPv4 address for an Ethernet interface (repeatable,
//                             once per interface); interfaces without one run DHCP
//   --defaultgw=ADDR          the default gateway: on the subnet of an --ip interface, or of
//                             a DHCP lease that names no router (QEMU's restricted user
//                             network gives none)
//   --nameserver=ADDR         a DNS server (repeatable, up to max_nameservers)
// Parsing and the checks between options are host-testable (tests/unit/test_net_options.cc):
// no lwIP, no globals. Addresses are kept in host byte order here.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::net {

inline constexpr size_t max_static_addresses = 8;
inline constexpr size_t max_nameservers = 3;    // lwIP's DNS_MAX_SERVERS (checked in stack.cc)
inline constexpr size_t max_interface_name = 15; // Linux's IFNAMSIZ - 1

struct StaticAddress {
    char interface[max_interface_name + 1];
    uint32_t address;
    uint32_t netmask;
};

struct Options {
    StaticAddress addresses[max_static_addresses] = {};
    size_t address_count = 0;
    bool have_gateway = false;
    uint32_t gateway = 0;
    uint32_t nameservers[max_nameservers] = {};
    size_t nameserver_count = 0;
    // The last problem found (the apply functions return a pointer into it).
    char error[160] = {};

    const StaticAddress* address_for(const char* interface) const;
};

// A dotted quad "a.b.c.d", each part a decimal 0-255 without sign, spaces or leading zeros
// (inet_aton would read "010" as octal: refused rather than guessed). nullptr, or the problem.
const char* parse_ipv4(const char* text, uint32_t& out);
// Whether `mask` is a contiguous run of ones from the top (0.0.0.0 counts: /0).
bool netmask_is_contiguous(uint32_t mask);
unsigned netmask_prefix_length(uint32_t mask);

// The option handlers: nullptr, or a message (in options.error) naming what is wrong.
const char* add_ip_option(Options& options, const char* value);
const char* add_gateway_option(Options& options, const char* value);
const char* add_nameserver_option(Options& options, const char* value);

// Checks between options once all are parsed and the interfaces are known (`names`: the
// Ethernet interfaces the machine has): an --ip naming an interface that does not exist, a
// --defaultgw outside every --ip subnet when no interface is left to DHCP. nullptr, or
// "option '--ip': ..." (in options.error).
const char* check_options(Options& options, const char* const* names, size_t name_count);

// "a.b.c.d" of a host-order address into `out` (at least 16 bytes).
void format_ipv4(uint32_t address, char* out, size_t size);

}  // namespace mica::net
