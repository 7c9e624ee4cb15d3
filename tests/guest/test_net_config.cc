// The network stack's configuration in the guest: interfaces after boot.
#include <mica/ktest.h>
#include <mica/net/net.h>
#include <string.h>

using namespace mica;

KTEST(net_config, loopback_interface_is_up) {
    KASSERT(net::initialized());
    net::InterfaceInfo info;
    KASSERT(net::interface_by_name("lo", info));
    KEXPECT(info.up);
    KEXPECT(info.loopback);
    KEXPECT_EQ(info.index, 1u);
    const uint8_t* a = reinterpret_cast<const uint8_t*>(&info.address);
    KEXPECT(a[0] == 127 && a[1] == 0 && a[2] == 0 && a[3] == 1);
}
