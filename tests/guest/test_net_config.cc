// The network stack's configuration in the guest: the interfaces after boot and as devices
// come and go, the resolver files, the bounded DHCP wait, the core lock's checks.
#include <mica/clock.h>
#include <mica/fs/abi.h>
#include <mica/fs/file.h>
#include <mica/fs/vfs.h>
#include <mica/ktest.h>
#include <mica/linux/files.h>
#include <mica/net/net.h>
#include <mica/net/test_pair.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "net_endpoints.h"

using namespace mica;

namespace {

bool is_address(uint32_t network_order, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&network_order);
    return bytes[0] == a && bytes[1] == b && bytes[2] == c && bytes[3] == d;
}

// The file layer for one test, as in test_files.cc: set up when the boot did not, torn down
// again at the end.
class Files {
public:
    Files() {
        if (abi::files_ready()) return;
        char error[128] = "";
        owned_ = true;
        ok_ = abi::files_init(nullptr, 0, error, sizeof(error)) == 0;
    }
    ~Files() {
        if (owned_) abi::files_shutdown();
    }
    bool ok() const { return ok_; }

private:
    bool owned_ = false;
    bool ok_ = true;
};

// The whole of `path` as a NUL-terminated string in `out`; false if it cannot be read.
bool read_text(const char* path, char* out, size_t size) {
    void* data;
    size_t length;
    if (abi::files_read_whole(path, &data, &length) != 0) return false;
    bool fits = length < size;
    if (fits) {
        memcpy(out, data, length);
        out[length] = '\0';
    }
    free(data);
    return fits;
}

bool write_text(const char* path, const char* text) {
    sched::LockGuard<sched::Mutex> guard(abi::vfs_mutex());
    fs::Vfs& vfs = abi::vfs();
    vfs.mkdir(vfs.root(), "/etc", 0755);
    fs::OpenFile* file;
    if (vfs.open(vfs.root(), path, fs::o_wronly | fs::o_creat | fs::o_trunc, 0644, &file) != 0) return false;
    bool ok = file->write(text, strlen(text)) == static_cast<int64_t>(strlen(text));
    file->unref();
    return ok;
}

}  // namespace

KTEST(net_config, loopback_interface_is_up) {
    KASSERT(net::initialized());
    net::InterfaceInfo info;
    KASSERT(net::interface_by_name("lo", info));
    KEXPECT(info.up && info.link_up && info.loopback);
    KEXPECT_EQ(info.index, 1u);
    KEXPECT(is_address(info.address, 127, 0, 0, 1));
    KEXPECT(is_address(info.netmask, 255, 0, 0, 0));
    KEXPECT(!net::interface_by_name("eth7", info));
}

KTEST(net_config, devices_appear_as_interfaces) {
    net::InterfaceInfo before[4];
    size_t count = net::interfaces(before, 4);
    KEXPECT(count >= 1);
    KEXPECT(strcmp(before[0].name, "lo") == 0);
    net::testing::DevicePair* pair = net::testing::DevicePair::create({});
    KASSERT(pair);
    const char* name = pair->first().name();
    KEXPECT(strncmp(name, "eth", 3) == 0);
    KEXPECT(strcmp(name, pair->second().name()) != 0);
    net::InterfaceInfo info;
    KEXPECT(net::interface_by_name(name, info));
    KEXPECT(!info.loopback && info.up && info.link_up);
    KEXPECT_EQ(info.mtu, net::ethernet_mtu);
    KEXPECT(memcmp(info.mac, pair->first().mac, sizeof info.mac) == 0);
    KEXPECT_EQ(info.address, 0u);  // registered after boot: no address until configured
    net::InterfaceInfo after[8];
    KEXPECT_EQ(net::interfaces(after, 8), count + 2);
    KEXPECT(pair->destroy());
    KEXPECT_EQ(net::interfaces(after, 8), count);
    KEXPECT(!net::interface_by_name(name, info));
    KEXPECT_NET_IDLE();
}

KTEST(net_config, resolver_files) {
    Files files;
    KASSERT(files.ok());
    {
        sched::LockGuard<sched::Mutex> guard(abi::vfs_mutex());
        abi::vfs().unlink(abi::vfs().root(), "/etc/resolv.conf");
        abi::vfs().unlink(abi::vfs().root(), "/etc/hosts");
    }
    KEXPECT_EQ(net::write_resolver_files(), 0);
    char text[512];
    KEXPECT(read_text("/etc/hosts", text, sizeof text));
    KEXPECT(strcmp(text, "127.0.0.1\tlocalhost mica\n") == 0);
    KEXPECT(read_text("/etc/resolv.conf", text, sizeof text));
    KEXPECT(strncmp(text, "# Written by the Mica kernel", 28) == 0);
    // One "nameserver" line per server the stack uses.
    uint32_t servers[4];
    size_t count = net::nameservers(servers, 4);
    size_t lines = 0;
    for (const char* p = text; *p; ++p) lines += strncmp(p, "\nnameserver ", 12) == 0;
    KEXPECT_EQ(lines, count);
    // The image's own files win.
    KEXPECT(write_text("/etc/hosts", "10.1.2.3 custom\n"));
    KEXPECT_EQ(net::write_resolver_files(), 0);
    KEXPECT(read_text("/etc/hosts", text, sizeof text));
    KEXPECT(strcmp(text, "10.1.2.3 custom\n") == 0);
    sched::LockGuard<sched::Mutex> guard(abi::vfs_mutex());
    abi::vfs().unlink(abi::vfs().root(), "/etc/resolv.conf");
    abi::vfs().unlink(abi::vfs().root(), "/etc/hosts");
    abi::vfs().rmdir(abi::vfs().root(), "/etc");
}

// An interface whose DHCP finds no server: the boot's wait gives up after
// CONFIG_NET_DHCP_WAIT_MS and says so, and the interface stays without an address.
KTEST(net_config, dhcp_wait_is_bounded) {
    net::testing::DevicePair* pair = net::testing::DevicePair::create({});
    KASSERT(pair);
    {
        net::CoreLock lock;
        KEXPECT_EQ(dhcp_start(net::find_netif(pair->first().name())), ERR_OK);
    }
    uint64_t start = clock::monotonic_ns();
    size_t without = net::wait_for_addresses(false);
    uint64_t waited_ms = (clock::monotonic_ns() - start) / 1000000;
    KEXPECT_EQ(without, 1u);
    KEXPECT(waited_ms >= CONFIG_NET_DHCP_WAIT_MS);
    net::InterfaceInfo info;
    KEXPECT(net::interface_by_name(pair->first().name(), info));
    KEXPECT(info.dhcp && !info.dhcp_bound && info.address == 0);
    KEXPECT(pair->destroy());  // stops DHCP and frees its state
    KEXPECT_NET_IDLE();
}

KTEST(net_config, core_lock_is_held_where_expected) {
    KEXPECT(!net::core_locked());
    {
        net::CoreLock lock;
        KEXPECT(net::core_locked());
        // The lock is released while waiting and held again afterwards.
        sched::CondVar never;
        KEXPECT(!lock.wait(never, 1000000));
        KEXPECT(net::core_locked());
    }
    KEXPECT(!net::core_locked());
    // defer() runs the function in the tcpip thread, under the lock.
    struct Call {
        sched::Semaphore done{0};
        bool locked = false;
    } call;
    KEXPECT_EQ(net::defer(
                   [](void* arg) {
                       auto* c = static_cast<Call*>(arg);
                       c->locked = net::core_locked();
                       c->done.post();
                   },
                   &call),
               0);
    KEXPECT(call.done.wait(nettest::wait_timeout_ns));
    KEXPECT(call.locked);
    KEXPECT_NET_IDLE();  // tcpip_thread frees the message after the call
}
