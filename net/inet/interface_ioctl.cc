// The interface ioctls (inet.h): what programs use to learn the machine's interfaces and
// addresses (ifconfig, if_nametoindex, getifaddrs in musl). Linux answers them on any socket
// (dev_ioctl, devinet_ioctl); so does Mica, from net::interfaces().
#include <mica/mm/vm.h>
#include <mica/net/inet.h>
#include <mica/net/inet_address.h>
#include <mica/net/net.h>
#include <stdlib.h>
#include <string.h>

namespace mica::net {
namespace {

constexpr unsigned long siocgifname = 0x8910, siocgifconf = 0x8912, siocgifflags = 0x8913, siocgifaddr = 0x8915,
                        siocgifdstaddr = 0x8917, siocgifbrdaddr = 0x8919, siocgifnetmask = 0x891b,
                        siocgifmetric = 0x891d, siocgifmtu = 0x8921, siocgifhwaddr = 0x8927,
                        siocgifindex = 0x8933, siocgiftxqlen = 0x8942;
// net/if.h's IFF_* flags.
constexpr uint16_t iff_up = 0x1, iff_broadcast = 0x2, iff_loopback = 0x8, iff_running = 0x40,
                   iff_multicast = 0x1000;
constexpr uint16_t arphrd_ether = 1, arphrd_loopback = 772;  // sa_family of SIOCGIFHWADDR
constexpr int loopback_mtu = 65536;  // Linux's lo; lwIP's loopback has no MTU at all
constexpr int default_txqlen = 1000, loopback_txqlen = 1000;
constexpr int errno_nodev = 19;
constexpr size_t max_interfaces = 16;

// struct ifreq and struct ifconf (net/if.h), 64-bit layouts.
struct IfReq {
    char name[interface_name_size];
    union {
        uint8_t address[16];  // struct sockaddr
        int16_t flags;
        int32_t value;  // ifindex, mtu, metric, txqlen
    };
    uint8_t rest[8];  // the union is 24 bytes (struct ifmap)
};
static_assert(sizeof(IfReq) == 40);
struct IfConf {
    int32_t length;
    uint32_t pad;
    uint64_t buffer;
};
static_assert(sizeof(IfConf) == 16);

void put_address(IfReq& r, uint32_t address) {
    SocketAddress a;
    make_sockaddr_in(Ipv4Endpoint{address, 0}, &a);
    memcpy(r.address, a.bytes, sizeof(r.address));
}

uint16_t flags_of(const InterfaceInfo& i) {
    uint16_t f = 0;
    if (i.up) f |= iff_up;
    if (i.loopback) f |= iff_loopback;
    else f |= iff_broadcast | iff_multicast;
    if (i.up && (i.link_up || i.loopback)) f |= iff_running;
    return f;
}

uint32_t broadcast_of(const InterfaceInfo& i) {
    if (i.loopback || i.netmask == 0) return 0;  // Linux's lo has no broadcast address
    return i.address | ~i.netmask;
}

int64_t interface_list(uint64_t arg) {
    IfConf conf;
    if (mm::vm::copy_from_app(&conf, reinterpret_cast<const void*>(arg), sizeof(conf)) < 0) return -errno_fault;
    InterfaceInfo infos[max_interfaces];
    size_t count = interfaces(infos, max_interfaces);
    if (count > max_interfaces) count = max_interfaces;
    int32_t written = 0;
    for (size_t k = 0; k < count; ++k) {
        const InterfaceInfo& i = infos[k];
        if (is_any(i.address)) continue;  // Linux lists interfaces with an IPv4 address
        if (conf.buffer) {
            if (conf.length - written < static_cast<int32_t>(sizeof(IfReq))) break;
            IfReq r{};
            memcpy(r.name, i.name, sizeof(r.name));
            put_address(r, i.address);
            if (mm::vm::copy_to_app(reinterpret_cast<void*>(conf.buffer + written), &r, sizeof(r)) < 0) {
                return -errno_fault;
            }
        }
        written += sizeof(IfReq);
    }
    conf.length = written;  // without a buffer: the length all of them need
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &conf, sizeof(conf)) < 0) return -errno_fault;
    return 0;
}

}  // namespace

int64_t interface_ioctl(unsigned long request, uint64_t arg, int family) {
    switch (request) {
    case siocgifconf: return interface_list(arg);
    case siocgifaddr:
    case siocgifdstaddr:
    case siocgifbrdaddr:
    case siocgifnetmask:
        if (family != af_inet) return -errno_notty;  // IPv4's own (devinet_ioctl)
        break;
    case siocgifname:
    case siocgifflags:
    case siocgifmetric:
    case siocgifmtu:
    case siocgifhwaddr:
    case siocgifindex:
    case siocgiftxqlen: break;
    default: return -errno_notty;
    }
    IfReq r;
    if (mm::vm::copy_from_app(&r, reinterpret_cast<const void*>(arg), sizeof(r)) < 0) return -errno_fault;
    r.name[interface_name_size - 1] = '\0';
    InterfaceInfo i;
    if (request == siocgifname) {
        InterfaceInfo infos[max_interfaces];
        size_t count = interfaces(infos, max_interfaces);
        const InterfaceInfo* found = nullptr;
        for (size_t k = 0; k < count && k < max_interfaces; ++k) {
            if (static_cast<int32_t>(infos[k].index) == r.value) found = &infos[k];
        }
        if (!found) return -errno_nodev;
        memcpy(r.name, found->name, sizeof(r.name));
    } else {
        if (!interface_by_name(r.name, i)) return -errno_nodev;
        switch (request) {
        case siocgifflags:
            r.flags = static_cast<int16_t>(flags_of(i));
            break;
        case siocgifaddr:
        case siocgifnetmask:
        case siocgifbrdaddr:
        case siocgifdstaddr:
            // Linux: no IPv4 address on the interface, nothing to say.
            if (is_any(i.address)) return -errno_addrnotavail;
            put_address(r, request == siocgifaddr      ? i.address
                           : request == siocgifnetmask ? i.netmask
                           : request == siocgifbrdaddr ? broadcast_of(i)
                                                       : i.address);  // Linux: the local address
            break;
        case siocgifmetric: r.value = 0; break;
        case siocgifmtu: r.value = i.loopback ? loopback_mtu : i.mtu; break;
        case siocgiftxqlen: r.value = i.loopback ? loopback_txqlen : default_txqlen; break;
        case siocgifindex: r.value = static_cast<int32_t>(i.index); break;
        case siocgifhwaddr: {
            uint16_t family = i.loopback ? arphrd_loopback : arphrd_ether;
            memset(r.address, 0, sizeof(r.address));
            memcpy(r.address, &family, sizeof(family));
            if (!i.loopback) memcpy(r.address + sizeof(family), i.mac, sizeof(i.mac));
            break;
        }
        }
    }
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &r, sizeof(r)) < 0) return -errno_fault;
    return 0;
}

}  // namespace mica::net
