// AF_INET: TCP and UDP sockets on lwIP's raw API (net/inet/, CONFIG_NET), registered in the
// family table (socket.cc), and the interface queries every socket answers (SIOCGIFCONF,
// SIOCGIFADDR...), as Linux answers them on any socket. See docs/networking.md, "AF_INET".
#pragma once

#include <mica/net/socket.h>
#include <stdint.h>

namespace mica::net {

// socket(AF_INET, type, protocol): SOCK_STREAM (0 or IPPROTO_TCP), SOCK_DGRAM (0 or
// IPPROTO_UDP); -EPROTONOSUPPORT for another protocol, -ESOCKTNOSUPPORT for another type.
int inet_create(int type, int protocol, Socket** out);

// The interface ioctls (SIOCGIFCONF, SIOCGIFNAME, SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFMTU,
// SIOCGIFHWADDR, SIOCGIFTXQLEN, SIOCGIFMETRIC on any socket; SIOCGIFADDR, SIOCGIFNETMASK,
// SIOCGIFBRDADDR, SIOCGIFDSTADDR on AF_INET sockets only, as Linux's devinet_ioctl), `arg`
// an application address, `family` the asking socket's: the result, or -ENOTTY.
int64_t interface_ioctl(unsigned long request, uint64_t arg, int family);

}  // namespace mica::net
