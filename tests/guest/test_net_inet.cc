// AF_INET sockets (net/inet/) through the kernel's socket interface, for what the apps tests
// cannot compare with the host: families the kernel lacks, a destination without a route,
// TCP and UDP across the back-to-back test devices (received data held in the drivers' lent
// buffers while it waits on a socket, checksum offload, the interface ioctls of Ethernet
// devices), lwIP's listen backlog while connections wait for accept, the checked copy from
// application memory (a buffer unmapped under a send), two lwIP ends with closed windows
// staying quiet, and every socket state released without a leak (the runner's check after
// each test, once lwIP is idle). The tests that wait for lwIP's timers (a SYN sent again,
// keepalive probes) are a suite of their own, net_inet_timers, so each boot stays short.
#include <mica/ktest.h>
#include <mica/linux/files.h>
#include <mica/mm/vm.h>
#include <mica/net/inet.h>
#include <mica/net/inet_address.h>
#include <mica/net/net.h>
#include <mica/net/socket.h>
#include <mica/net/test_pair.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

#include "../../net/lwip/app_copy.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "net_endpoints.h"

using namespace mica;
using namespace mica::net;
using nettest::Worker;

namespace {

constexpr int64_t io_timeout_s = 30;  // SO_RCVTIMEO/SO_SNDTIMEO: a broken test fails, never hangs
constexpr size_t pair_transfer = 1 << 20;
constexpr size_t chunk = 16 * 1024;
constexpr uint64_t ns_per_ms = 1000000;
constexpr uint32_t siocgifconf = 0x8912, siocgifflags = 0x8913, siocgifbrdaddr = 0x8919, siocgifmtu = 0x8921,
                   siocgifhwaddr = 0x8927;
constexpr uint16_t iff_up = 0x1, iff_broadcast = 0x2, iff_running = 0x40, iff_multicast = 0x1000;

// A socket made through the family table, released under the VFS lock like any vnode.
struct Sock {
    Socket* s = nullptr;
    explicit Sock(int type) {
        const Family* f = find_family(af_inet);
        if (f && f->create(type, 0, &s) == 0) {
            Timeval tv{io_timeout_s, 0};
            s->set_option(sol_socket, so_rcvtimeo_new, &tv, sizeof tv);
            s->set_option(sol_socket, so_sndtimeo_new, &tv, sizeof tv);
        }
    }
    explicit Sock(Socket* adopted) : s(adopted) {}
    ~Sock() { close(); }
    Sock(const Sock&) = delete;
    Sock& operator=(const Sock&) = delete;
    void close() {
        if (!s) return;
        sched::LockGuard<sched::Mutex> guard(abi::vfs_mutex());
        s->unref();
        s = nullptr;
    }
    Socket* operator->() const { return s; }
};

SocketAddress endpoint(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    SocketAddress out;
    uint32_t host = uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
    make_sockaddr_in(Ipv4Endpoint{ipv4_network_order(host), port}, &out);
    return out;
}

uint16_t port_of(Socket* s) {
    SocketAddress a;
    if (s->local_name(&a) < 0) return 0;
    return static_cast<uint16_t>(a.bytes[2] << 8 | a.bytes[3]);
}

int64_t send_all(Socket* s, const void* data, size_t length) {
    fs::IoVector v(const_cast<void*>(data), length, false);
    Message m(v);
    return s->send(m, false);
}

int64_t receive(Socket* s, void* buffer, size_t length, int flags = 0) {
    fs::IoVector v(buffer, length, false);
    Message m(v);
    m.flags = flags;
    return s->receive(m, false);
}

// A listener on `address` and a connection to it from `from`; the accepted end in *server.
bool connect_pair(const SocketAddress& listen_at, const SocketAddress* from, Sock& listener, Sock& client,
                  Sock& server) {
    SocketAddress a = listen_at;
    if (!listener.s || !client.s || listener->bind(a) < 0 || listener->listen(8) < 0) return false;
    uint16_t port = port_of(listener.s);
    a.bytes[2] = static_cast<uint8_t>(port >> 8);
    a.bytes[3] = static_cast<uint8_t>(port);
    if (from && client->bind(*from) < 0) return false;
    if (client->connect(a, false) < 0) return false;
    Socket* accepted = nullptr;
    SocketAddress peer;
    if (listener->accept(&accepted, &peer, false) < 0) return false;
    server.s = accepted;
    return true;
}

// Sends `bytes` of the pattern, then half-closes.
struct Sender {
    Socket* s;
    size_t bytes;
    uint32_t seed;
    bool ok = false;
};
void send_pattern(void* arg) {
    auto* p = static_cast<Sender*>(arg);
    auto* buffer = static_cast<uint8_t*>(malloc(chunk));
    size_t sent = 0;
    while (sent < p->bytes) {
        size_t n = p->bytes - sent < chunk ? p->bytes - sent : chunk;
        for (size_t i = 0; i < n; ++i) buffer[i] = nettest::pattern_byte(sent + i, p->seed);
        if (send_all(p->s, buffer, n) != static_cast<int64_t>(n)) break;
        sent += n;
    }
    free(buffer);
    p->ok = sent == p->bytes && p->s->shutdown(shut_wr) == 0;
}

// Reads to the end of the stream, checking the pattern.
size_t receive_pattern(Socket* s, uint32_t seed, bool* intact) {
    auto* buffer = static_cast<uint8_t*>(malloc(chunk));
    size_t got = 0;
    *intact = true;
    for (;;) {
        int64_t n = receive(s, buffer, chunk);
        if (n <= 0) {
            *intact &= n == 0;
            break;
        }
        for (int64_t i = 0; i < n; ++i) *intact &= buffer[i] == nettest::pattern_byte(got + i, seed);
        got += static_cast<size_t>(n);
    }
    free(buffer);
    return got;
}

bool configure(EthernetDevice& device, uint8_t last) {
    CoreLock lock;
    struct netif* n = find_netif(device.name());
    if (!n) return false;
    ip4_addr_t address, mask, gateway;
    IP4_ADDR(&address, 10, 0, 0, last);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    ip4_addr_set_zero(&gateway);
    netif_set_addr(n, &address, &mask, &gateway);
    return true;
}

}  // namespace

KTEST(net_inet, families_and_types) {
    KEXPECT(find_family(af_inet) != nullptr);
    KEXPECT(find_family(af_inet6) == nullptr);    // socket(): EAFNOSUPPORT
    KEXPECT(find_family(af_netlink) == nullptr);  // `ip` needs it; out of scope
    KEXPECT(find_family(af_packet) == nullptr);
    Socket* s = nullptr;
    KEXPECT_EQ(inet_create(sock_seqpacket, 0, &s), -errno_socktnosupport);
    KEXPECT_EQ(inet_create(sock_raw, 0, &s), -errno_protonosupport);
    KEXPECT_EQ(inet_create(sock_stream, ipproto_udp, &s), -errno_protonosupport);
    KEXPECT_EQ(inet_create(sock_dgram, ipproto_tcp, &s), -errno_protonosupport);
    KEXPECT_NET_IDLE();
}

KTEST(net_inet, no_route) {
    // Only lo exists: 10.1.2.3 is nowhere (Linux: ENETUNREACH without a default route).
    SocketAddress far = endpoint(10, 1, 2, 3, 80);
    Sock tcp(sock_stream), udp(sock_dgram);
    KASSERT(tcp.s && udp.s);
    KEXPECT_EQ(tcp->connect(far, false), -errno_netunreach);
    KEXPECT_EQ(tcp->connect(far, true), -errno_netunreach);
    KEXPECT_EQ(udp->connect(far, false), -errno_netunreach);
    char byte = 'x';
    fs::IoVector v(&byte, 1, false);
    Message m(v);
    m.address = &far;
    KEXPECT_EQ(udp->send(m, false), -errno_netunreach);
    tcp.close();
    udp.close();
    KEXPECT_NET_IDLE();
}

KTEST(net_inet, tcp_and_udp_across_the_test_pair) {
    for (int variant = 0; variant < 2; ++variant) {
        testing::PairOptions options;
        options.tx_checksum = options.rx_checksum = variant == 1;
        options.zero_copy = true;  // received segments wait on the socket in lent buffers
        testing::DevicePair* pair = testing::DevicePair::create(options);
        KASSERT(pair);
        KASSERT(configure(pair->first(), 1) && configure(pair->second(), 2));
        {
            Sock listener(sock_stream), client(sock_stream), server(static_cast<Socket*>(nullptr));
            SocketAddress from = endpoint(10, 0, 0, 1, 0);
            KASSERT(connect_pair(endpoint(10, 0, 0, 2, 0), &from, listener, client, server));
            SocketAddress peer;
            KEXPECT_EQ(server->peer_name(&peer), 0);
            KEXPECT(memcmp(peer.bytes + 4, from.bytes + 4, 4) == 0);
            // Both ways at once, checked byte by byte.
            Sender out{client.s, pair_transfer, 7}, back{server.s, pair_transfer, 9};
            Worker a, b;
            a.start("inet-send-1", send_pattern, &out);
            b.start("inet-send-2", send_pattern, &back);
            bool intact_in = false, intact_back = false;
            size_t got = receive_pattern(server.s, 7, &intact_in);
            size_t got_back = receive_pattern(client.s, 9, &intact_back);
            a.join();
            b.join();
            KEXPECT(out.ok && back.ok);
            KEXPECT_EQ(got, pair_transfer);
            KEXPECT_EQ(got_back, pair_transfer);
            KEXPECT(intact_in && intact_back);
            // UDP across too.
            Sock u1(sock_dgram), u2(sock_dgram);
            SocketAddress at1 = endpoint(10, 0, 0, 1, 0), at2 = endpoint(10, 0, 0, 2, 0);
            KASSERT(u1->bind(at1) == 0 && u2->bind(at2) == 0);
            at2.bytes[2] = static_cast<uint8_t>(port_of(u2.s) >> 8);
            at2.bytes[3] = static_cast<uint8_t>(port_of(u2.s));
            static char datagram[3000];
            for (size_t i = 0; i < sizeof datagram; ++i) datagram[i] = static_cast<char>(i * 13);
            fs::IoVector v(datagram, sizeof datagram, false);
            Message m(v);
            m.address = &at2;
            KEXPECT_EQ(u1->send(m, false), static_cast<int64_t>(sizeof datagram));  // two fragments
            static char in[4000];
            SocketAddress source;
            fs::IoVector vin(in, sizeof in, false);
            Message min(vin);
            min.address = &source;
            KEXPECT_EQ(u2->receive(min, false), static_cast<int64_t>(sizeof datagram));
            KEXPECT(memcmp(in, datagram, sizeof datagram) == 0);
            KEXPECT_EQ(port_of(u1.s), static_cast<uint16_t>(source.bytes[2] << 8 | source.bytes[3]));
        }
        KEXPECT(pair->frames_carried() > 2 * pair_transfer / 1460);
        KEXPECT_NET_IDLE();
        KEXPECT(pair->destroy());
    }
    KEXPECT_NET_IDLE();
}

KTEST(net_inet, interface_ioctls_of_ethernet_devices) {
    testing::DevicePair* pair = testing::DevicePair::create(testing::PairOptions{});
    KASSERT(pair);
    KASSERT(configure(pair->first(), 1));
    struct IfReq {
        char name[16];
        union {
            uint8_t address[16];
            int16_t flags;
            int32_t value;
        };
        uint8_t rest[8];
    } r{};
    static_assert(sizeof(IfReq) == 40);
    memcpy(r.name, pair->first().name(), strlen(pair->first().name()) + 1);
    auto ask = [&](uint32_t request) { return interface_ioctl(request, reinterpret_cast<uint64_t>(&r), af_inet); };
    KEXPECT_EQ(ask(siocgifflags), 0);
    KEXPECT_EQ(static_cast<uint16_t>(r.flags), iff_up | iff_broadcast | iff_running | iff_multicast);
    KEXPECT_EQ(ask(siocgifmtu), 0);
    KEXPECT_EQ(r.value, static_cast<int32_t>(pair->first().mtu));
    KEXPECT_EQ(ask(siocgifbrdaddr), 0);
    KEXPECT(r.address[4] == 10 && r.address[5] == 0 && r.address[6] == 0 && r.address[7] == 255);
    KEXPECT_EQ(ask(siocgifhwaddr), 0);
    KEXPECT(r.address[0] == 1 && r.address[1] == 0);  // ARPHRD_ETHER
    KEXPECT(memcmp(r.address + 2, pair->first().mac, mac_length) == 0);
    // The second device has no address: it is not listed, and has none to give.
    memcpy(r.name, pair->second().name(), strlen(pair->second().name()) + 1);
    KEXPECT_EQ(interface_ioctl(0x8915 /* SIOCGIFADDR */, reinterpret_cast<uint64_t>(&r), af_inet),
               -errno_addrnotavail);
    IfReq list[8];
    struct {
        int32_t length;
        uint32_t pad;
        uint64_t buffer;
    } conf{static_cast<int32_t>(sizeof list), 0, reinterpret_cast<uint64_t>(list)};
    KEXPECT_EQ(interface_ioctl(siocgifconf, reinterpret_cast<uint64_t>(&conf), af_unix), 0);
    KEXPECT_EQ(conf.length, static_cast<int32_t>(2 * sizeof(IfReq)));  // lo and the first device
    KEXPECT(strcmp(list[0].name, "lo") == 0);
    KEXPECT(strcmp(list[1].name, pair->first().name()) == 0);
    KEXPECT(pair->destroy());
    KEXPECT_NET_IDLE();
}

KTEST(net_inet_timers, backlog_counts_connections_waiting_for_accept) {
    Sock listener(sock_stream);
    KASSERT(listener.s);
    KASSERT(listener->bind(endpoint(127, 0, 0, 1, 0)) == 0 && listener->listen(1) == 0);
    SocketAddress to = endpoint(127, 0, 0, 1, port_of(listener.s));
    constexpr int clients = 4;
    Sock* c[clients];
    for (auto& s : c) {
        s = new Sock(sock_stream);
        KEXPECT_EQ((*s)->connect(to, true), -errno_inprogress);
    }
    // lwIP holds backlog + 1 = 2 connections (half-open or waiting for accept), no more.
    uint16_t port = port_of(listener.s);
    auto pending = [&] {
        CoreLock lock;
        for (struct tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
            if (l->local_port == port) return static_cast<int>(l->accepts_pending);
        }
        return -1;
    };
    auto connected = [&] {
        int n = 0;
        for (auto& s : c) n += ((*s)->poll_events() & fs::poll_out) ? 1 : 0;
        return n;
    };
    for (int i = 0; i < 1000 && connected() < 2; ++i) sched::sleep_ns(10 * ns_per_ms);
    KEXPECT_EQ(connected(), 2);
    KEXPECT_EQ(pending(), 2);
    // A client whose SYN was dropped is still connecting (lwIP resends it after 3 s).
    for (auto& s : c) {
        if (!((*s)->poll_events() & fs::poll_out)) {
            KEXPECT_EQ((*s)->connect(to, true), -errno_already);
            break;
        }
    }
    // Accepting makes room; the others' SYNs come again (lwIP retries after 3 s, 6 s...).
    for (int i = 0; i < clients; ++i) {
        Socket* accepted = nullptr;
        SocketAddress peer;
        KEXPECT_EQ(listener->accept(&accepted, &peer, false), 0);
        Sock done(accepted);
        KEXPECT(pending() <= 2);
    }
    KEXPECT_EQ(pending(), 0);
    for (auto& s : c) delete s;
    listener.close();
    KEXPECT_NET_IDLE();
}

KTEST(net_inet, unaccepted_connections_reset_when_the_listener_closes) {
    Sock listener(sock_stream), client(sock_stream);
    KASSERT(listener->bind(endpoint(127, 0, 0, 1, 0)) == 0 && listener->listen(4) == 0);
    KEXPECT_EQ(client->connect(endpoint(127, 0, 0, 1, port_of(listener.s)), false), 0);
    listener.close();  // the connection waiting for accept is reset
    char byte;
    KEXPECT_EQ(receive(client.s, &byte, 1), -errno_connreset);
    client.close();
    KEXPECT_NET_IDLE();
}

KTEST(net_inet, copies_from_application_memory_are_checked) {
    // An application range that is certainly unmapped: mapped, then unmapped again.
    intptr_t base = mm::vm::map_anonymous(0, 4096, 3 /* PROT_READ | PROT_WRITE */, false);
    KASSERT(base > 0);
    KASSERT(mm::vm::unmap(static_cast<uintptr_t>(base), 4096) == 0);
    auto* gone = reinterpret_cast<const void*>(base);
    uint8_t target[16];
    memset(target, 0xaa, sizeof target);
    {
        CoreLock lock;  // the window belongs to the core lock's holder
        AppCopyWindow window(gone, sizeof target);
        mica_lwip_memcpy(target, gone, sizeof target);  // lwIP's MEMCPY
        KEXPECT(window.faulted());
    }
    uint8_t zeros[16] = {};
    KEXPECT(memcmp(target, zeros, sizeof target) == 0);
    static const char kernel_bytes[] = "kernel memory is copied plainly";
    char copy[sizeof kernel_bytes];
    mica_lwip_memcpy(copy, kernel_bytes, sizeof copy);
    KEXPECT(memcmp(copy, kernel_bytes, sizeof copy) == 0);

    // A send from that range: -EFAULT (the probe finds it), and the connection goes on.
    Sock listener(sock_stream), client(sock_stream), server(static_cast<Socket*>(nullptr));
    KASSERT(connect_pair(endpoint(127, 0, 0, 1, 0), nullptr, listener, client, server));
    fs::IoVector v(const_cast<void*>(gone), 100, true);
    Message m(v);
    KEXPECT_EQ(client->send(m, false), -errno_fault);
    KEXPECT_EQ(send_all(client.s, "after", 5), 5);
    char back[8] = {};
    KEXPECT_EQ(receive(server.s, back, 5, msg_waitall), 5);
    KEXPECT(memcmp(back, "after", 5) == 0);
    listener.close();
    client.close();
    server.close();
    KEXPECT_NET_IDLE();
}

KTEST(net_inet, closed_windows_on_both_ends_stay_quiet) {
    // Both ends send until the other's window is closed and nobody reads. lwIP 2.1.3 would
    // acknowledge each acknowledgement at a zero window (net/inet/tcp_socket.cc): count the
    // segments that still go out meanwhile.
    Sock listener(sock_stream), client(sock_stream), server(static_cast<Socket*>(nullptr));
    KASSERT(connect_pair(endpoint(127, 0, 0, 1, 0), nullptr, listener, client, server));
    static uint8_t block[chunk];
    for (Socket* s : {client.s, server.s}) {
        for (int i = 0; i < 1000; ++i) {
            fs::IoVector v(block, sizeof block, false);
            Message m(v);
            m.flags = msg_dontwait;
            if (s->send(m, false) < 0) break;  // the peer's window and our buffer are full
        }
    }
    sched::sleep_ns(300 * ns_per_ms);  // whatever was in flight settles
    u32_t before = lwip_stats.tcp.xmit;
    sched::sleep_ns(300 * ns_per_ms);
    u32_t segments = lwip_stats.tcp.xmit - before;
    KEXPECT(segments < 20);  // a few window probes at most; a storm would be thousands
    listener.close();
    client.close();
    server.close();
    KEXPECT_NET_IDLE();
}

KTEST(net_inet, every_state_is_released) {
    // Sockets closed in each state: fresh, bound, listening with a connection queued,
    // connecting, connected with unread data both ways, half-closed, reset, UDP with
    // datagrams queued. The runner's leak check after the test (lwIP idle) is the proof.
    Sock fresh(sock_stream), bound(sock_stream), listener(sock_stream), queued(sock_stream);
    KASSERT(bound->bind(endpoint(127, 0, 0, 1, 0)) == 0);
    KASSERT(listener->bind(endpoint(127, 0, 0, 1, 0)) == 0 && listener->listen(4) == 0);
    KEXPECT_EQ(queued->connect(endpoint(127, 0, 0, 1, port_of(listener.s)), false), 0);
    Sock quiet(sock_stream);
    KASSERT(quiet->bind(endpoint(127, 0, 0, 1, 0)) == 0);
    Sock connecting(sock_stream);
    Sock l2(sock_stream), c1(sock_stream), s1(static_cast<Socket*>(nullptr));
    KASSERT(connect_pair(endpoint(127, 0, 0, 1, 0), nullptr, l2, c1, s1));
    KEXPECT_EQ(send_all(c1.s, "unread", 6), 6);
    KEXPECT_EQ(send_all(s1.s, "unread too", 10), 10);
    KEXPECT_EQ(c1->shutdown(shut_wr), 0);
    Sock u(sock_dgram), u2(sock_dgram);
    KASSERT(u->bind(endpoint(127, 0, 0, 1, 0)) == 0);
    SocketAddress to = endpoint(127, 0, 0, 1, port_of(u.s));
    for (int i = 0; i < 5; ++i) {
        char d[32] = {};
        fs::IoVector v(d, sizeof d, false);
        Message m(v);
        m.address = &to;
        KEXPECT_EQ(u2->send(m, false), 32);
    }
    // Closed right after its SYN went (SYN_SENT): the answer finds no connection.
    KEXPECT_EQ(connecting->connect(endpoint(127, 0, 0, 1, port_of(listener.s)), true), -errno_inprogress);
    fresh.close();
    bound.close();
    connecting.close();
    listener.close();
    queued.close();
    quiet.close();
    s1.close();
    c1.close();
    l2.close();
    u.close();
    u2.close();
    KEXPECT_NET_IDLE();
}

KTEST(net_inet_timers, keepalive_times_out_a_silent_peer) {
    // SO_KEEPALIVE with TCP_KEEPIDLE 1 s, TCP_KEEPINTVL 1 s, TCP_KEEPCNT 1 reaches the pcb: with
    // every frame dropped on the wire, the probes go unanswered and a read ends with
    // ETIMEDOUT, as Linux's does.
    testing::DevicePair* pair = testing::DevicePair::create(testing::PairOptions{});
    KASSERT(pair);
    KASSERT(configure(pair->first(), 1) && configure(pair->second(), 2));
    {
        Sock listener(sock_stream), client(sock_stream), server(static_cast<Socket*>(nullptr));
        SocketAddress from = endpoint(10, 0, 0, 1, 0);
        KASSERT(connect_pair(endpoint(10, 0, 0, 2, 0), &from, listener, client, server));
        int one = 1, idle = 1, interval = 1, count = 1;
        KEXPECT_EQ(client->set_option(sol_socket, so_keepalive, &one, sizeof one), 0);
        KEXPECT_EQ(client->set_option(ipproto_tcp, 4 /* TCP_KEEPIDLE */, &idle, sizeof idle), 0);
        KEXPECT_EQ(client->set_option(ipproto_tcp, 5 /* TCP_KEEPINTVL */, &interval, sizeof interval), 0);
        KEXPECT_EQ(client->set_option(ipproto_tcp, 6 /* TCP_KEEPCNT */, &count, sizeof count), 0);
        pair->corrupt_next(~size_t{0}, 0);
        char byte;
        KEXPECT_EQ(receive(client.s, &byte, 1), -errno_timedout);
        KEXPECT((client->poll_events() & (fs::poll_hup | fs::poll_in)) == (fs::poll_hup | fs::poll_in));
        pair->corrupt_next(0, 0);
    }
    KEXPECT_NET_IDLE();
    KEXPECT(pair->destroy());
    KEXPECT_NET_IDLE();
}
