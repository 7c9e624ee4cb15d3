#include <mica/format.h>
#include <mica/net/options.h>
#include <string.h>

namespace mica::net {
namespace {

constexpr uint32_t loopback_net = 0x7f000000, loopback_mask = 0xff000000;    // 127.0.0.0/8
constexpr uint32_t multicast_net = 0xe0000000, class_d_e_mask = 0xe0000000;  // 224/4 and 240/4
constexpr uint32_t broadcast = 0xffffffff;
constexpr unsigned max_point_to_point_prefix = 31;  // /31 and /32 have no network/broadcast address

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

// Why `address` cannot be a host's (or a gateway's, a nameserver's) address; nullptr if it can.
const char* unusable_reason(uint32_t address, bool allow_loopback) {
    if (address == 0) return "0.0.0.0 is not a host address";
    if (address == broadcast) return "255.255.255.255 is the broadcast address";
    if ((address & class_d_e_mask) == multicast_net) return "multicast and reserved addresses (224.0.0.0/3) cannot be used";
    if (!allow_loopback && (address & loopback_mask) == loopback_net) {
        return "127.0.0.0/8 belongs to the loopback interface";
    }
    return nullptr;
}

const char* fail(Options& options, const char* format, const char* a = "", const char* b = "") {
    fmt::snprintf(options.error, sizeof(options.error), format, a, b);
    return options.error;
}

// Parses `text` as an address for `what`; on failure writes the message into options.error.
const char* parse_address(Options& options, const char* text, const char* what, uint32_t& out) {
    if (const char* problem = parse_ipv4(text, out)) {
        char quoted[40];
        fmt::snprintf(quoted, sizeof(quoted), "%s", text);
        fmt::snprintf(options.error, sizeof(options.error), "%s '%s' is not an IPv4 address: %s", what, quoted,
                      problem);
        return options.error;
    }
    return nullptr;
}

}  // namespace

const StaticAddress* Options::address_for(const char* interface) const {
    for (size_t i = 0; i < address_count; ++i) {
        if (strcmp(addresses[i].interface, interface) == 0) return &addresses[i];
    }
    return nullptr;
}

const char* parse_ipv4(const char* text, uint32_t& out) {
    uint32_t value = 0;
    const char* p = text;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (*p != '.') return *p ? "expected a '.' between the four numbers" : "expected four numbers a.b.c.d";
            ++p;
        }
        if (*p < '0' || *p > '9') return "expected four decimal numbers a.b.c.d";
        if (*p == '0' && p[1] >= '0' && p[1] <= '9') return "a number with a leading zero (octal?)";
        unsigned n = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            n = n * 10 + static_cast<unsigned>(*p++ - '0');
            if (++digits > 3 || n > 255) return "each number must be 0-255";
        }
        value = (value << 8) | n;
    }
    if (*p) return "unexpected characters after the address";
    out = value;
    return nullptr;
}

bool netmask_is_contiguous(uint32_t mask) {
    uint32_t host_bits = ~mask;
    return (host_bits & (host_bits + 1)) == 0;  // ~mask is 2^k - 1
}

unsigned netmask_prefix_length(uint32_t mask) {
    unsigned n = 0;
    while (n < 32 && (mask & (0x80000000u >> n))) ++n;
    return n;
}

void format_ipv4(uint32_t a, char* out, size_t size) {
    fmt::snprintf(out, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

const char* add_ip_option(Options& options, const char* value) {
    static constexpr const char* usage = "expected IFACE,ADDR,NETMASK (e.g. eth0,192.0.2.15,255.255.255.0)";
    const char* comma1 = strchr(value, ',');
    const char* comma2 = comma1 ? strchr(comma1 + 1, ',') : nullptr;
    if (!comma1 || !comma2 || strchr(comma2 + 1, ',')) return fail(options, "%s", usage);
    size_t name_length = static_cast<size_t>(comma1 - value);
    if (name_length == 0) return fail(options, "the interface name is empty; %s", usage);
    if (name_length > max_interface_name) return fail(options, "the interface name is longer than 15 characters");
    StaticAddress entry{};
    memcpy(entry.interface, value, name_length);
    for (size_t i = 0; i < name_length; ++i) {
        if (!is_name_char(entry.interface[i])) {
            return fail(options, "'%s' is not an interface name (letters, digits, '_', '-', '.')", entry.interface);
        }
    }
    if (strcmp(entry.interface, "lo") == 0) {
        return fail(options, "lo is the loopback interface: it always has 127.0.0.1/8");
    }
    char address_text[32] = {}, mask_text[32] = {};
    size_t address_length = static_cast<size_t>(comma2 - comma1 - 1);
    fmt::snprintf(address_text, sizeof(address_text), "%.*s", static_cast<int>(address_length), comma1 + 1);
    fmt::snprintf(mask_text, sizeof(mask_text), "%s", comma2 + 1);
    if (address_length >= sizeof(address_text)) return fail(options, "the address is too long; %s", usage);
    if (parse_address(options, address_text, "address", entry.address)) return options.error;
    if (parse_address(options, mask_text, "netmask", entry.netmask)) return options.error;
    if (const char* why = unusable_reason(entry.address, false)) return fail(options, "address %s: %s", address_text, why);
    if (!netmask_is_contiguous(entry.netmask)) {
        return fail(options, "netmask %s is not contiguous (ones, then zeros: 255.255.255.0 is /24)", mask_text);
    }
    if (entry.netmask == 0) return fail(options, "netmask 0.0.0.0 would put every address on this link");
    if (netmask_prefix_length(entry.netmask) < max_point_to_point_prefix) {
        uint32_t host = entry.address & ~entry.netmask;
        if (host == 0) return fail(options, "%s is the network address of its subnet, not a host address", address_text);
        if (host == ~entry.netmask) {
            return fail(options, "%s is the broadcast address of its subnet, not a host address", address_text);
        }
    }
    if (options.address_for(entry.interface)) {
        return fail(options, "%s is given an address twice", entry.interface);
    }
    if (options.address_count == max_static_addresses) {
        return fail(options, "too many --ip options (at most 8)");
    }
    options.addresses[options.address_count++] = entry;
    return nullptr;
}

const char* add_gateway_option(Options& options, const char* value) {
    uint32_t gateway;
    if (parse_address(options, value, "gateway", gateway)) return options.error;
    if (const char* why = unusable_reason(gateway, false)) return fail(options, "gateway %s: %s", value, why);
    if (options.have_gateway) return fail(options, "given more than once");
    options.have_gateway = true;
    options.gateway = gateway;
    return nullptr;
}

const char* add_nameserver_option(Options& options, const char* value) {
    uint32_t server;
    if (parse_address(options, value, "nameserver", server)) return options.error;
    if (const char* why = unusable_reason(server, true)) return fail(options, "nameserver %s: %s", value, why);
    if (options.nameserver_count == max_nameservers) {
        return fail(options, "at most 3 nameservers (lwIP's DNS_MAX_SERVERS)");
    }
    options.nameservers[options.nameserver_count++] = server;
    return nullptr;
}

const char* check_options(Options& options, const char* const* names, size_t name_count) {
    for (size_t i = 0; i < options.address_count; ++i) {
        const char* wanted = options.addresses[i].interface;
        bool found = false;
        for (size_t n = 0; n < name_count; ++n) found |= strcmp(names[n], wanted) == 0;
        if (found) continue;
        if (name_count == 0) {
            return fail(options, "option '--ip': no interface %s: this machine has no Ethernet interface", wanted);
        }
        char list[96] = {};
        size_t used = 0;
        for (size_t n = 0; n < name_count && used < sizeof(list); ++n) {
            int w = fmt::snprintf(list + used, sizeof(list) - used, "%s%s", n ? ", " : "", names[n]);
            used += w > 0 ? static_cast<size_t>(w) : 0;
        }
        return fail(options, "option '--ip': no interface %s (this machine has %s)", wanted, list);
    }
    if (options.have_gateway) {
        bool reachable = false;
        for (size_t i = 0; i < options.address_count; ++i) {
            const StaticAddress& a = options.addresses[i];
            reachable |= (options.gateway & a.netmask) == (a.address & a.netmask);
        }
        // An interface without --ip runs DHCP: the gateway may be on its lease's subnet (it is
        // used when the lease names no router), which only the lease will tell.
        bool dhcp_interface = false;
        for (size_t n = 0; n < name_count; ++n) dhcp_interface |= options.address_for(names[n]) == nullptr;
        if (!reachable && !dhcp_interface) {
            char gateway[16];
            format_ipv4(options.gateway, gateway, sizeof(gateway));
            return fail(options, "option '--defaultgw': %s is not on the subnet of any --ip address (and no interface "
                                 "uses DHCP)", gateway);
        }
    }
    return nullptr;
}

}  // namespace mica::net
