// The virtio-net driver against a model device (net_virtio_model.h): traffic through the
// whole path (mergeable receive buffers, checksum-offload headers, the transmit backlog when
// the device is slow), link changes, and devices that break the protocol, which the driver
// must stop with the interface left down, the kernel carrying on, and every thread, buffer
// and allocation gone once the device is detached (the runner checks the last two).
#include <mica/driver-config.h>
#if CONF_drivers_virtio_net
#include <mica/ktest.h>
#include <mica/net/net.h>
#include <mica/net/offload.h>
#include <mica/sched/sched.h>
#include <mica/virtio/net.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/netif.h"
#include "net_endpoints.h"
#include "net_virtio_model.h"

using namespace mica;
using namespace mica::virtio;
using namespace nettest;
namespace spec = mica::virtio::net_spec;

namespace {

constexpr uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x4d, 0x02};
constexpr uint8_t local_ip[4] = {10, 9, 0, 1}, peer_ip[4] = {10, 9, 0, 2};
constexpr uint16_t jumbo_mtu = 9000;
constexpr size_t frame_space = 9100;
constexpr uint64_t wait_step_ns = 1'000'000;
constexpr uint64_t wait_limit_ns = 10'000'000'000ull;
constexpr uint16_t local_udp_port = 5555, peer_udp_port = 4444;

const uint64_t full_features = feature(spec::feature_mac) | feature(spec::feature_status) |
                               feature(spec::feature_mrg_rxbuf) | feature(spec::feature_mtu) |
                               feature(spec::feature_csum) | feature(spec::feature_guest_csum) |
                               feature(feature_indirect_desc);

// Waits (bounded) until cond() holds.
template <typename F>
bool eventually(F cond) {
    for (uint64_t waited = 0; waited < wait_limit_ns; waited += wait_step_ns) {
        if (cond()) return true;
        sched::sleep_ns(wait_step_ns);
    }
    return cond();
}

// The counters of the model's interface (the driver's last device).
NetStats stats() {
    NetStats s{};
    net_stats(net_device_count() - 1, s);
    return s;
}

bool configure(const char* name) {
    net::CoreLock lock;
    struct netif* n = net::find_netif(name);
    if (!n) return false;
    ip4_addr_t address, mask, gateway;
    IP4_ADDR(&address, local_ip[0], local_ip[1], local_ip[2], local_ip[3]);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    ip4_addr_set_zero(&gateway);
    netif_set_addr(n, &address, &mask, &gateway);
    return true;
}

bool link_up(const char* name) {
    net::InterfaceInfo info;
    return net::interface_by_name(name, info) && info.link_up;
}

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

size_t ethernet(uint8_t* f, const uint8_t* to, uint16_t type) {
    memcpy(f, to, 6);
    memcpy(f + 6, peer_mac, 6);
    put16(f + 12, type);
    return net::ethernet_header_length;
}

// The peer asks who has local_ip.
size_t arp_request(uint8_t* f) {
    size_t at = ethernet(f, model_mac, 0x0806);
    const uint8_t arp[] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(f + at, arp, sizeof arp);
    memcpy(f + at + 8, peer_mac, 6);
    memcpy(f + at + 14, peer_ip, 4);
    memset(f + at + 18, 0, 6);
    memcpy(f + at + 24, local_ip, 4);
    return at + 28;
}

uint16_t ip_checksum(const uint8_t* header) { return static_cast<uint16_t>(~net::checksum_fold(net::checksum_add(0, header, 20))); }

// Sum of the pseudo header and the transport segment (a correct segment folds to 0xffff).
uint16_t transport_sum(const uint8_t* ip, uint8_t protocol, const uint8_t* segment, size_t length) {
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = protocol;
    put16(pseudo + 10, static_cast<uint16_t>(length));
    return net::checksum_fold(net::checksum_add(net::checksum_add(0, pseudo, sizeof pseudo), segment, length));
}

// A UDP datagram from the peer to local_ip:local_udp_port, checksums filled in.
size_t udp_datagram(uint8_t* f, const uint8_t* payload, size_t n) {
    size_t at = ethernet(f, model_mac, 0x0800);
    uint8_t* ip = f + at;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(20 + 8 + n));
    ip[8] = 64;
    ip[9] = net::ip_protocol_udp;
    memcpy(ip + 12, peer_ip, 4);
    memcpy(ip + 16, local_ip, 4);
    put16(ip + 10, ip_checksum(ip));
    uint8_t* udp = ip + 20;
    put16(udp, peer_udp_port);
    put16(udp + 2, local_udp_port);
    put16(udp + 4, static_cast<uint16_t>(8 + n));
    put16(udp + 6, 0);
    memcpy(udp + 8, payload, n);
    uint16_t sum = static_cast<uint16_t>(~transport_sum(ip, net::ip_protocol_udp, udp, 8 + n));
    put16(udp + 6, sum ? sum : 0xffff);
    return at + 20 + 8 + n;
}

uint8_t payload_byte(size_t i, uint32_t seed) { return static_cast<uint8_t>(i * 13 + seed + i / 251); }

// Attaches a model, names its interface and gives it local_ip; false (and the model
// detached) when any of that fails.
bool start(ModelNet& model, ktest::Context& ktest_context, char (&name)[8]) {
    int e = model.attach();
    if (e) {
        ktest_context.fail(__FILE__, __LINE__, "the driver refused the model (%d)", e);
        return false;
    }
    NetStats s = stats();
    memcpy(name, s.name, sizeof name);
    if (!configure(name)) {
        ktest_context.fail(__FILE__, __LINE__, "no interface %s", name);
        model.detach();
        return false;
    }
    return true;
}

// The next transmitted frame that is not an ARP request (the stack announces its address
// with one when it is set): its length, or -1.
long next_frame(ModelNet& model, uint8_t* frame, spec::Header* h) {
    for (;;) {
        long n = model.wait_transmitted(frame, frame_space, h);
        if (n < 42 || get16(frame + 12) != 0x0806 || get16(frame + 20) != 1) return n;
    }
}

// The peer's ARP request and the stack's answer (after which it knows the peer's MAC).
bool exchange_arp(ModelNet& model, uint8_t* frame) {
    size_t n = arp_request(frame);
    if (!model.deliver(frame, n)) return false;
    spec::Header h;
    long got = next_frame(model, frame, &h);
    return got >= 42 && get16(frame + 12) == 0x0806 && get16(frame + 20) == 2 && memcmp(frame + 22, model_mac, 6) == 0 &&
           memcmp(frame + 28, local_ip, 4) == 0 && memcmp(frame, peer_mac, 6) == 0 && h.flags == 0;
}

}  // namespace

// The whole path with everything offered: buffers posted, ARP answered, a datagram spread
// over three mergeable buffers, a large datagram sent back (UDP sums stay in software), and a
// TCP SYN whose checksum the device is asked to finish.
KTEST(net_virtio, traffic_through_the_model) {
    ModelNet model(full_features, jumbo_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    auto* frame = static_cast<uint8_t*>(malloc(frame_space));
    auto* payload = static_cast<uint8_t*>(malloc(frame_space));
    KASSERT(frame && payload);
    KEXPECT(eventually([&] { return model.available(spec::receive_queue) == model_queue_size; }));
    KEXPECT(model.queue(spec::receive_queue).notifications >= 1);
    NetStats s = stats();
    KEXPECT(s.mergeable && s.csum && s.guest_csum);
    KEXPECT_EQ(s.mtu, jumbo_mtu);
    KEXPECT(link_up(name));
    KEXPECT(exchange_arp(model, frame));

    ip_addr_t any = ipv4(0, 0, 0, 0), peer = ipv4(peer_ip[0], peer_ip[1], peer_ip[2], peer_ip[3]);
    UdpEndpoint* endpoint = UdpEndpoint::bind(any, local_udp_port);
    KASSERT(endpoint);
    constexpr size_t inbound = 5000;  // three 2046-byte buffers
    for (size_t i = 0; i < inbound; ++i) payload[i] = payload_byte(i, 1);
    size_t n = udp_datagram(frame, payload, inbound);
    KEXPECT(model.deliver(frame, n));
    auto* got = static_cast<uint8_t*>(malloc(inbound + 1));
    KASSERT(got);
    long received = endpoint->receive(got, inbound + 1);
    KEXPECT_EQ(received, static_cast<long>(inbound));
    KEXPECT(received > 0 && memcmp(got, payload, inbound) == 0);
    KEXPECT(stats().rx_merged_frames >= 1);

    constexpr size_t outbound = 3000;
    for (size_t i = 0; i < outbound; ++i) payload[i] = payload_byte(i, 2);
    KEXPECT(endpoint->send_to(payload, outbound, peer, peer_udp_port));
    spec::Header h;
    long sent = next_frame(model, frame, &h);
    KEXPECT_EQ(sent, static_cast<long>(14 + 20 + 8 + outbound));
    if (sent > 0) {
        KEXPECT_EQ(h.flags, 0);  // UDP is summed by the stack
        KEXPECT_EQ(h.gso_type, spec::gso_none);
        KEXPECT(memcmp(frame, peer_mac, 6) == 0);
        KEXPECT(memcmp(frame + 14 + 20 + 8, payload, outbound) == 0);
        KEXPECT_EQ(transport_sum(frame + 14, net::ip_protocol_udp, frame + 34, 8 + outbound), 0xffff);
    }
    endpoint->close();

    // TCP: the device finishes the checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM).
    err_t result = ERR_OK;
    struct Attempt {
        ip_addr_t to;
        err_t* result;
        TcpConnection* c = nullptr;
    } attempt{peer, &result};
    Worker connector;
    connector.start("connector", [](void* arg) {
        auto* a = static_cast<Attempt*>(arg);
        a->c = TcpConnection::connect(a->to, 80, a->result);
    }, &attempt);
    sent = next_frame(model, frame, &h);
    KEXPECT(sent >= 14 + 20 + 20);  // a SYN (with options)
    if (sent >= 14 + 20 + 20) {
        KEXPECT_EQ(get16(frame + 12), 0x0800);
        KEXPECT_EQ(frame[14 + 9], net::ip_protocol_tcp);
        KEXPECT_EQ(h.flags, spec::header_needs_csum);
        KEXPECT_EQ(h.csum_start, 34);
        KEXPECT_EQ(h.csum_offset, net::tcp_checksum_offset);
        net::TxOffload offload{true, h.csum_start, h.csum_offset};
        net::complete_checksum(frame, static_cast<size_t>(sent), offload);  // what the device does
        KEXPECT_EQ(transport_sum(frame + 14, net::ip_protocol_tcp, frame + 34, static_cast<size_t>(sent) - 34), 0xffff);
        // Refuse the connection: a RST from the peer.
        uint8_t* ip = frame + 14;
        uint8_t* tcp = ip + 20;
        uint8_t syn[20];
        memcpy(syn, tcp, sizeof syn);
        size_t at = ethernet(frame, model_mac, 0x0800);
        memset(ip, 0, 40);
        ip[0] = 0x45;
        put16(ip + 2, 40);
        ip[8] = 64;
        ip[9] = net::ip_protocol_tcp;
        memcpy(ip + 12, peer_ip, 4);
        memcpy(ip + 16, local_ip, 4);
        put16(ip + 10, ip_checksum(ip));
        memcpy(tcp, syn + 2, 2);  // source port: the SYN's destination
        memcpy(tcp + 2, syn, 2);
        uint32_t ack = (uint32_t{syn[4]} << 24 | uint32_t{syn[5]} << 16 | uint32_t{syn[6]} << 8 | syn[7]) + 1;
        tcp[8] = static_cast<uint8_t>(ack >> 24);
        tcp[9] = static_cast<uint8_t>(ack >> 16);
        tcp[10] = static_cast<uint8_t>(ack >> 8);
        tcp[11] = static_cast<uint8_t>(ack);
        tcp[12] = 5 << 4;
        tcp[13] = 0x14;  // RST, ACK
        uint16_t sum = static_cast<uint16_t>(~transport_sum(ip, net::ip_protocol_tcp, tcp, 20));
        put16(tcp + 16, sum);
        KEXPECT(model.deliver(frame, at + 40));
    }
    connector.join();
    KEXPECT(attempt.c == nullptr);
    KEXPECT_EQ(result, ERR_RST);  // refused
    free(got);
    free(payload);
    free(frame);
    KEXPECT(model.detach());
    KEXPECT_NET_IDLE();
}

// A device that takes its time: the ring fills, later frames wait in the backlog (none lost),
// the rest are refused; when the device catches up the backlog goes out in order.
KTEST(net_virtio, transmit_backlog_keeps_order) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    auto* frame = static_cast<uint8_t*>(malloc(frame_space));
    KASSERT(frame);
    KEXPECT(exchange_arp(model, frame));
    ip_addr_t any = ipv4(0, 0, 0, 0), peer = ipv4(peer_ip[0], peer_ip[1], peer_ip[2], peer_ip[3]);
    UdpEndpoint* endpoint = UdpEndpoint::bind(any, local_udp_port);
    KASSERT(endpoint);
    constexpr uint32_t attempts = 3 * model_queue_size;
    uint32_t accepted = 0;
    for (uint32_t i = 0; i < attempts; ++i) accepted += endpoint->send_to(&i, sizeof i, peer, peer_udp_port);
    // The ring's worth in the ring, as many more in the backlog, the rest refused.
    KEXPECT_EQ(accepted, 2u * model_queue_size);
    NetStats s = stats();
    KEXPECT_EQ(s.tx_backlogged, uint64_t{model_queue_size});
    KEXPECT_EQ(s.tx_dropped, uint64_t{attempts - 2 * model_queue_size});
    uint32_t next = 0;
    bool in_order = true;
    for (uint32_t k = 0; k < 2 * model_queue_size; ++k) {
        spec::Header h;
        long n = model.wait_transmitted(frame, frame_space, &h);  // each take interrupts when asked
        if (n != 14 + 20 + 8 + 4) {
            ktest_context.fail(__FILE__, __LINE__, "frame %u: %ld bytes", k, n);
            break;
        }
        uint32_t value;
        memcpy(&value, frame + 42, sizeof value);
        in_order &= value == next++;
    }
    KEXPECT(in_order);
    KEXPECT_EQ(next, 2u * model_queue_size);
    endpoint->close();
    free(frame);
    KEXPECT(model.detach());
    KEXPECT_NET_IDLE();
}

// Notifications lost (QEMU's TCG with one vCPU can lose them: net_driver.h): a received
// frame with no interrupt still reaches the socket, and frames still go out, found by the
// driver's watchdog. The model loses every notification, not only those of a handshake, so
// each round first sends a frame: a transmit in flight keeps the driver's thread on a timer
// (it must reclaim the buffer), and that wake-up finds the received frame. Receiving first
// would depend on when the driver's last quiet look happened: after it, an idle driver
// rightly sleeps untimed (a real device loses notifications only around a handshake).
KTEST(net_virtio, watchdog_finds_what_lost_notifications_hid) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    auto* frame = static_cast<uint8_t*>(malloc(frame_space));
    KASSERT(frame);
    KEXPECT(exchange_arp(model, frame));
    ip_addr_t any = ipv4(0, 0, 0, 0), peer = ipv4(peer_ip[0], peer_ip[1], peer_ip[2], peer_ip[3]);
    UdpEndpoint* endpoint = UdpEndpoint::bind(any, local_udp_port);
    KASSERT(endpoint);
    model.lose_notifications = true;
    for (uint32_t round = 0; round < 3; ++round) {
        uint8_t payload[64];
        for (size_t i = 0; i < sizeof payload; ++i) payload[i] = payload_byte(i, round);
        size_t n = udp_datagram(frame, payload, sizeof payload);
        KEXPECT(model.deliver(frame, n));
        // A frame goes out however the device's interrupts fare.
        KEXPECT(endpoint->send_to(payload, sizeof payload, peer, peer_udp_port));
        uint8_t got[sizeof payload + 1];
        long received = endpoint->receive(got, sizeof got);
        KEXPECT_EQ(received, static_cast<long>(sizeof payload));
        KEXPECT(received > 0 && memcmp(got, payload, sizeof payload) == 0);
        spec::Header h;
        KEXPECT_EQ(next_frame(model, frame, &h), static_cast<long>(14 + 20 + 8 + sizeof payload));
    }
    // (The driver's watchdog_rx counter is not checked: with other CPUs, a wake-up for
    // another reason may find the frames first; that they arrived at all is the test.)
    model.lose_notifications = false;
    endpoint->close();
    free(frame);
    KEXPECT(model.detach());
    KEXPECT_NET_IDLE();
}

KTEST(net_virtio, link_changes_reach_the_stack) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    KEXPECT(link_up(name));
    model.set_link(false);
    KEXPECT(eventually([&] { return !link_up(name); }));
    model.set_link(true);
    KEXPECT(eventually([&] { return link_up(name); }));
    NetStats s = stats();
    KEXPECT_EQ(s.link_changes, 2u);
    KEXPECT(s.config_interrupts >= 2);
    KEXPECT(model.detach());
}

// Without VIRTIO_NET_F_MRG_RXBUF (nor indirect descriptors, nor anything else): whole-frame
// buffers, a made-up locally administered MAC, the link taken as up.
KTEST(net_virtio, plain_device) {
    ModelNet model(0, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    NetStats s = stats();
    KEXPECT(!s.mergeable && !s.csum && !s.guest_csum);
    KEXPECT_EQ(s.rx_buffer_capacity, spec::header_size + spec::max_frame_length(net::ethernet_mtu));
    net::InterfaceInfo info;
    KEXPECT(net::interface_by_name(name, info));
    KEXPECT((info.mac[0] & 0x03) == 0x02);  // locally administered, unicast
    KEXPECT(info.link_up);
    auto* frame = static_cast<uint8_t*>(malloc(frame_space));
    KASSERT(frame);
    size_t n = arp_request(frame);
    memcpy(frame, info.mac, 6);  // to the made-up address
    KEXPECT(model.deliver(frame, n));
    spec::Header h;
    long got = next_frame(model, frame, &h);
    KEXPECT(got >= 42 && get16(frame + 20) == 2 && memcmp(frame + 22, info.mac, 6) == 0);
    free(frame);
    KEXPECT(model.detach());
    KEXPECT_NET_IDLE();
}

// --- Devices that break the protocol -------------------------------------------------------

namespace {
// Waits for the driver to stop the device, then checks the aftermath: the interface is down,
// nothing more goes to the device, and detaching still works.
void expect_stopped(ModelNet& model, const char* name, ktest::Context& ktest_context) {
    KEXPECT(eventually([] { return stats().failed; }));
    KEXPECT(eventually([&] { return !link_up(name); }));  // set last, by the driver's thread
    KEXPECT(model.marked_failed());
    KEXPECT(model.detach());
    KEXPECT_NET_IDLE();
}
}  // namespace

KTEST(net_virtio, used_id_not_in_flight_stops_the_device) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    KEXPECT(eventually([&] { return model.available(spec::receive_queue) == model_queue_size; }));
    model.push_used(spec::receive_queue, 4 * model_queue_size, 100);
    model.interrupt(spec::receive_queue, true);
    expect_stopped(model, name, ktest_context);
}

KTEST(net_virtio, overfilled_buffer_stops_the_device) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    ModelNet::Chain c;
    KASSERT(eventually([&] { return model.pop(spec::receive_queue, c); }));
    spec::Header one;
    one.num_buffers = 1;
    spec::encode_header(one, c.address[0]);
    model.push_used(spec::receive_queue, c.head, c.length[0] + 100);
    model.interrupt(spec::receive_queue, true);
    expect_stopped(model, name, ktest_context);
}

KTEST(net_virtio, impossible_frame_count_stops_the_device) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    ModelNet::Chain c;
    KASSERT(eventually([&] { return model.pop(spec::receive_queue, c); }));
    spec::Header impossible;
    impossible.num_buffers = 4 * model_queue_size;  // more than were ever posted
    spec::encode_header(impossible, c.address[0]);
    model.push_used(spec::receive_queue, c.head, 200);
    model.interrupt(spec::receive_queue, true);
    expect_stopped(model, name, ktest_context);
}

KTEST(net_virtio, needs_reset_stops_the_device) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    model.set_needs_reset();
    expect_stopped(model, name, ktest_context);
}

// A bogus used id on the transmit ring, noticed when the driver next reclaims (lazily: no
// interrupt is involved).
KTEST(net_virtio, broken_transmit_ring_stops_the_device) {
    ModelNet model(full_features, net::ethernet_mtu);
    char name[8];
    if (!start(model, ktest_context, name)) return;
    auto* frame = static_cast<uint8_t*>(malloc(frame_space));
    KASSERT(frame);
    KEXPECT(exchange_arp(model, frame));
    free(frame);
    model.push_used(spec::transmit_queue, 4 * model_queue_size, 0);
    ip_addr_t any = ipv4(0, 0, 0, 0), peer = ipv4(peer_ip[0], peer_ip[1], peer_ip[2], peer_ip[3]);
    UdpEndpoint* endpoint = UdpEndpoint::bind(any, local_udp_port);
    KASSERT(endpoint);
    uint32_t value = 1;
    endpoint->send_to(&value, sizeof value, peer, peer_udp_port);  // transmit() reclaims first
    endpoint->close();
    expect_stopped(model, name, ktest_context);
}

// A model device the driver cannot use: an MTU below IPv4's minimum is refused at probe, and
// nothing is left behind.
KTEST(net_virtio, unusable_mtu_is_refused) {
    ModelNet model(full_features, 500);
    size_t before = net_device_count();
    KEXPECT(model.attach() != 0);
    KEXPECT_EQ(net_device_count(), before);
    KEXPECT(model.marked_failed());
}

#endif
