// TCP and UDP across two Ethernet devices wired back to back (net/test_pair.h): the whole
// driver interface (registration, scatter-list transmit, flush per batch, zero-copy and
// copied receive, link state) and lwIP's Ethernet path (ARP, fragmentation and reassembly),
// with and without checksum offload. 10.0.0.1 sits on the first device, 10.0.0.2 on the
// second; source-address routing keeps their traffic on the wire.
#include <mica/ktest.h>
#include <mica/net/net.h>
#include <mica/net/test_pair.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/netif.h"
#include "lwip/stats.h"
#include "net_endpoints.h"

using namespace mica;
using namespace nettest;

namespace {

constexpr size_t transfer_bytes = 768 * 1024;
constexpr size_t udp_rounds = 40;
constexpr size_t max_datagram = 6000;  // four fragments at MTU 1500
constexpr uint8_t prefix_24[] = {255, 255, 255, 0};

ip_addr_t first_address() { return ipv4(10, 0, 0, 1); }
ip_addr_t second_address() { return ipv4(10, 0, 0, 2); }

bool configure(net::EthernetDevice& device, const ip_addr_t& address) {
    net::CoreLock lock;
    struct netif* n = net::find_netif(device.name());
    if (!n) return false;
    ip4_addr_t mask, gateway;
    IP4_ADDR(&mask, prefix_24[0], prefix_24[1], prefix_24[2], prefix_24[3]);
    ip4_addr_set_zero(&gateway);
    netif_set_addr(n, ip_2_ip4(&address), &mask, &gateway);
    return true;
}

net::testing::DevicePair* make_pair(const net::testing::PairOptions& options) {
    net::testing::DevicePair* pair = net::testing::DevicePair::create(options);
    if (!pair) return nullptr;
    if (!configure(pair->first(), first_address()) || !configure(pair->second(), second_address())) {
        pair->destroy();
        return nullptr;
    }
    return pair;
}

struct UdpEcho {
    UdpEndpoint* endpoint;
    size_t rounds;
    bool ok = true;
};

// Sends every datagram back where it came from.
void udp_echo_server(void* arg) {
    auto* e = static_cast<UdpEcho*>(arg);
    auto* buffer = static_cast<uint8_t*>(malloc(max_datagram));
    for (size_t i = 0; i < e->rounds && e->ok; ++i) {
        ip_addr_t from;
        uint16_t port;
        long n = e->endpoint->receive(buffer, max_datagram, &from, &port);
        e->ok = n > 0 && e->endpoint->send_to(buffer, static_cast<size_t>(n), from, port);
    }
    free(buffer);
}

// A TCP stream from the first device to the second, checked byte by byte, then UDP datagrams
// up to several fragments long echoed back. Returns through `ktest_context`.
void exchange_traffic(ktest::Context& ktest_context, uint16_t port_base) {
    TcpListener* listener = TcpListener::listen(second_address(), port_base);
    KASSERT(listener);
    SinkServer sink{listener, port_base};
    Worker server;
    server.start("pair-sink", sink_server, &sink);
    KASSERT(server.thread);
    err_t err;
    ip_addr_t local = first_address();
    TcpConnection* c = TcpConnection::connect(second_address(), port_base, &err, &local);
    KEXPECT_EQ(err, ERR_OK);
    uint64_t count = 0;
    if (c) {
        KEXPECT(send_pattern(c, transfer_bytes, port_base, &count));
        c->close();
    }
    server.join();
    listener->close();
    KEXPECT(sink.ok);
    KEXPECT_EQ(sink.received, transfer_bytes);
    KEXPECT_EQ(count, transfer_bytes);
    KEXPECT_EQ(sink.first_bad, ~size_t{0});

    UdpEndpoint* client = UdpEndpoint::bind(first_address(), static_cast<uint16_t>(port_base + 1));
    UdpEndpoint* echo = UdpEndpoint::bind(second_address(), static_cast<uint16_t>(port_base + 2));
    KASSERT(client && echo);
    UdpEcho e{echo, udp_rounds};
    Worker responder;
    responder.start("pair-udp-echo", udp_echo_server, &e);
    KASSERT(responder.thread);
    auto* out = static_cast<uint8_t*>(malloc(max_datagram));
    auto* in = static_cast<uint8_t*>(malloc(max_datagram));
    size_t echoed = 0;
    for (size_t i = 0; i < udp_rounds; ++i) {
        size_t size = 1 + i * 997 % max_datagram;  // from one byte to several fragments
        for (size_t k = 0; k < size; ++k) out[k] = pattern_byte(k, static_cast<uint32_t>(i));
        KEXPECT(client->send_to(out, size, second_address(), static_cast<uint16_t>(port_base + 2)));
        long n = client->receive(in, max_datagram);
        KEXPECT_EQ(n, static_cast<long>(size));
        if (n == static_cast<long>(size) && memcmp(in, out, size) == 0) ++echoed;
    }
    KEXPECT_EQ(echoed, udp_rounds);
    responder.join();
    KEXPECT(e.ok);
    free(out);
    free(in);
    client->close();
    echo->close();
}

void run_pair(ktest::Context& ktest_context, const net::testing::PairOptions& options, uint16_t port_base) {
    u32_t tcp_checksum_errors = lwip_stats.tcp.chkerr;
    net::testing::DevicePair* pair = make_pair(options);
    KASSERT(pair);
    exchange_traffic(ktest_context, port_base);
    net::DeviceStats a = pair->first().stats(), b = pair->second().stats();
    // Frames really crossed the wire, in batches, and came up the way the options say.
    KEXPECT(pair->frames_carried() > transfer_bytes / 1460);
    KEXPECT(a.tx_frames > 0 && b.tx_frames > 0 && a.rx_frames > 0 && b.rx_frames > 0);
    KEXPECT(b.tx_flushes > 0 && b.rx_batches > 0 && b.rx_batches <= b.rx_frames);
    if (options.zero_copy) {
        KEXPECT(b.rx_copied < b.rx_frames);  // full-sized segments were lent, not copied
    } else {
        KEXPECT_EQ(b.rx_copied, b.rx_frames);
    }
    if (options.tx_checksum) {
        KEXPECT(a.tx_checksum_partial > transfer_bytes / 1460);
    } else {
        KEXPECT_EQ(a.tx_checksum_partial, 0u);
    }
    KEXPECT_EQ(lwip_stats.tcp.chkerr, tcp_checksum_errors);
    KEXPECT(pair->destroy());
    KEXPECT_NET_IDLE();
}

}  // namespace

KTEST(net_pair, plain) { run_pair(ktest_context, {}, 7200); }

// The devices offload TCP checksums; the wire completes them as a NIC would and the receiver
// verifies them in software: a wrong checksum_start/offset or pseudo-header sum is dropped.
KTEST(net_pair, checksum_offload) {
    net::testing::PairOptions options;
    options.tx_checksum = true;
    run_pair(ktest_context, options, 7210);
}

// Offloaded both ways: frames arrive with only the pseudo-header sum, marked verified. If the
// stack checked them anyway, no TCP segment would get through.
KTEST(net_pair, checksum_offload_verified) {
    net::testing::PairOptions options;
    options.tx_checksum = true;
    options.rx_checksum = true;
    run_pair(ktest_context, options, 7220);
}

KTEST(net_pair, copied_receive) {
    net::testing::PairOptions options;
    options.zero_copy = false;
    run_pair(ktest_context, options, 7230);
}

// The device reads the frames after transmit() returned (net::keep / release_kept), from its
// own thread: lwIP must leave kept segments alone (no rewrite for a retransmission while the
// device still reads them) and let them go whenever the device is done.
KTEST(net_pair, zero_copy_transmit) {
    net::testing::PairOptions options;
    options.zero_copy_transmit = true;
    options.tx_checksum = true;
    run_pair(ktest_context, options, 7280);
}

// Receivers check what was not verified: a corrupted datagram is dropped and counted, a
// corrupted TCP segment is dropped and retransmitted.
KTEST(net_pair, corrupted_frames_are_dropped) {
    net::testing::PairOptions options;
    options.tx_checksum = true;
    net::testing::DevicePair* pair = make_pair(options);
    KASSERT(pair);
    UdpEndpoint* a = UdpEndpoint::bind(first_address(), 7240);
    UdpEndpoint* b = UdpEndpoint::bind(second_address(), 7241);
    KASSERT(a && b);
    char message[600], received[600];
    memset(message, 'm', sizeof message);
    // Resolve the address first, so the corrupted frame is the datagram, not ARP.
    KEXPECT(a->send_to(message, sizeof message, second_address(), 7241));
    KEXPECT_EQ(b->receive(received, sizeof received), static_cast<long>(sizeof message));
    u32_t udp_errors = lwip_stats.udp.chkerr;
    pair->corrupt_next(1, sizeof message);
    KEXPECT(a->send_to(message, sizeof message, second_address(), 7241));
    constexpr uint64_t absence_ns = 1'000'000'000;  // how long a datagram that is not coming is awaited
    KEXPECT_EQ(b->receive(received, sizeof received, nullptr, nullptr, absence_ns), -1);
    KEXPECT_EQ(lwip_stats.udp.chkerr, udp_errors + 1);
    KEXPECT(a->send_to(message, sizeof message, second_address(), 7241));
    KEXPECT_EQ(b->receive(received, sizeof received), static_cast<long>(sizeof message));
    a->close();
    b->close();

    u32_t tcp_errors = lwip_stats.tcp.chkerr;
    pair->corrupt_next(1, 1000);
    exchange_traffic(ktest_context, 7250);
    KEXPECT_EQ(lwip_stats.tcp.chkerr, tcp_errors + 1);
    KEXPECT(pair->destroy());
    KEXPECT_NET_IDLE();
}

// Link state from the driver: with both links down there is no route (with one, the other
// interface would deliver 10.0.0.2 locally); back up, traffic flows.
KTEST(net_pair, link_down_and_up) {
    net::testing::DevicePair* pair = make_pair({});
    KASSERT(pair);
    pair->first().set_link(false);
    pair->second().set_link(false);
    err_t err;
    ip_addr_t local = first_address();
    TcpConnection* c = TcpConnection::connect(second_address(), 7260, &err, &local);
    KEXPECT(c == nullptr);
    KEXPECT_EQ(err, ERR_RTE);
    net::InterfaceInfo info;
    KEXPECT(net::interface_by_name(pair->first().name(), info) && !info.link_up);
    pair->first().set_link(true);
    pair->second().set_link(true);
    KEXPECT(net::interface_by_name(pair->first().name(), info) && info.link_up);
    exchange_traffic(ktest_context, 7270);
    KEXPECT(pair->destroy());
    KEXPECT_NET_IDLE();
}
