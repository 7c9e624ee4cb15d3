// UDP sockets (udp_socket.h).
#include "udp_socket.h"

#include <mica/mm/vm.h>
#include <mica/net/net.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

namespace mica::net {

struct UdpCallbacks {
    static void received(void* arg, struct udp_pcb* pcb, struct pbuf* p, const ip_addr_t* address, u16_t port);
};

namespace {

constexpr uint32_t default_buffer = 212992;  // net.core.rmem_default / wmem_default
constexpr size_t max_payload = 65507;        // 65535 less the IPv4 and UDP headers
constexpr size_t datagram_overhead = 256;    // charged per queued datagram against SO_RCVBUF
constexpr size_t initial_capacity = 16;
// Above this a datagram's pbuf has no room in front for the headers: pbuf_alloc sizes its
// payload in a u16_t. Such datagrams get their headers in a pbuf of their own.
constexpr size_t max_single_pbuf = 0xffff - 64;

}  // namespace

UdpSocket::UdpSocket() : InetSocket(sock_dgram, ipproto_udp, default_buffer, default_buffer) {
    ready_ = fs::poll_out | fs::poll_wrnorm | fs::poll_wrband;
}

int UdpSocket::create(Socket** out) {
    auto* s = fs::make_object<UdpSocket>();
    if (!s) return -errno_nomem;
    *out = s;
    return 0;
}

UdpSocket::~UdpSocket() {
    CoreLock lock;
    if (pcb_) {
        udp_recv(pcb_, nullptr, nullptr);
        udp_remove(pcb_);
        pcb_ = nullptr;
    }
    while (count_) pbuf_free(dequeue().p);
    free(queue_);
}

int UdpSocket::ensure_pcb() {
    if (pcb_) return 0;
    pcb_ = udp_new();
    if (!pcb_) return -errno_nomem;
    udp_recv(pcb_, UdpCallbacks::received, this);
    apply_options();
    return 0;
}

void UdpSocket::apply_ip_options() {
    if (!pcb_) return;
    pcb_->ttl = ttl();
    pcb_->tos = tos();
}

void UdpSocket::option_changed(int) {
    CoreLock lock;
    apply_options();
}

void UdpSocket::apply_options() {
    if (!pcb_) return;
    apply_ip_options();
    if (reuse_address()) ip_set_option(pcb_, SOF_REUSEADDR);
    else ip_reset_option(pcb_, SOF_REUSEADDR);
    if (broadcast()) ip_set_option(pcb_, SOF_BROADCAST);
    else ip_reset_option(pcb_, SOF_BROADCAST);
}

// ---- readiness and the queue -------------------------------------------------------------------

uint32_t UdpSocket::compute_ready() const {
    using namespace fs;
    // Linux's datagram_poll: UDP is always writable.
    uint32_t m = poll_out | poll_wrnorm | poll_wrband;
    if (shut_read_) m |= poll_rdhup | poll_in | poll_rdnorm;
    if (shut_read_ && shut_write_) m |= poll_hup;
    if (count_) m |= poll_in | poll_rdnorm;
    return m;
}

void UdpSocket::refresh(uint32_t force) {
    uint32_t now = compute_ready();
    uint32_t before = __atomic_exchange_n(&ready_, now, __ATOMIC_ACQ_REL);
    uint32_t wake = (now & ~before) | (force & now);
    if (wake) notify(wake);
}

bool UdpSocket::enqueue(struct pbuf* p, const Ipv4Endpoint& from) {
    size_t cost = p->tot_len + datagram_overhead;
    if (queued_bytes_ + cost > receive_buffer() && count_ > 0) return false;  // full: dropped
    if (count_ == capacity_) {
        size_t grown = capacity_ ? capacity_ * 2 : initial_capacity;
        auto* q = static_cast<Datagram*>(malloc(grown * sizeof(Datagram)));
        if (!q) return false;
        for (size_t i = 0; i < count_; ++i) q[i] = queue_[(head_ + i) % capacity_];
        free(queue_);
        queue_ = q;
        capacity_ = grown;
        head_ = 0;
    }
    queue_[(head_ + count_) % capacity_] = Datagram{p, from};
    ++count_;
    queued_bytes_ += cost;
    return true;
}

UdpSocket::Datagram UdpSocket::dequeue() {
    Datagram d = queue_[head_];
    head_ = (head_ + 1) % capacity_;
    --count_;
    queued_bytes_ -= d.p->tot_len + datagram_overhead;
    return d;
}

void UdpCallbacks::received(void* arg, struct udp_pcb*, struct pbuf* p, const ip_addr_t* address, u16_t port) {
    auto* s = static_cast<UdpSocket*>(arg);
    if (!s || !s->enqueue(p, Ipv4Endpoint{plain_address(*address), port})) {
        pbuf_free(p);
        return;
    }
    s->refresh(fs::poll_in | fs::poll_rdnorm);
}

// ---- addresses -----------------------------------------------------------------------------------

int UdpSocket::bind_address(const SocketAddress& address) {
    Ipv4Endpoint e;
    if (int r = parse_sockaddr_in(address, AddressUse::bind, &e); r < 0) return r;
    CoreLock lock;
    if (!bindable_address(e.address)) return -errno_addrnotavail;  // Linux checks this first
    if (pcb_ && pcb_->local_port != 0) return -errno_inval;
    if (int r = ensure_pcb(); r < 0) return r;
    ip_addr_t ip = lwip_address(e.address);
    err_t err = udp_bind(pcb_, &ip, e.port);
    if (err == ERR_USE) return -errno_addrinuse;
    if (err != ERR_OK) return errno_from(err);
    explicitly_bound_ = true;
    return 0;
}

int UdpSocket::start_connect(const SocketAddress& address) {
    if (address.length < sockaddr_family_size) return -errno_inval;
    CoreLock lock;
    if (address.family() == af_unspec) {
        // No default destination any more; the socket keeps its port.
        if (pcb_) udp_disconnect(pcb_);
        connected_ = false;
        source_ = 0;
        remote_ = Ipv4Endpoint{};
        return 0;
    }
    Ipv4Endpoint e;
    if (int r = parse_sockaddr_in(address, AddressUse::connect, &e); r < 0) return r;
    if (is_any(e.address)) e.address = ipv4_network_order(0x7f000001);  // Linux: 0.0.0.0 is this host
    if (broadcast_address(e.address) && !broadcast()) return -errno_acces;
    if (!route_to(e.address)) return -errno_netunreach;
    if (int r = ensure_pcb(); r < 0) return r;
    ip_addr_t ip = lwip_address(e.address);
    err_t err = udp_connect(pcb_, &ip, e.port);
    if (err != ERR_OK) return err == ERR_USE ? -errno_addrnotavail : errno_from(err);  // no free port
    connected_ = true;
    remote_ = e;
    source_ = source_address_for(e.address);
    return 0;
}

int UdpSocket::name(SocketAddress* out, bool peer) {
    CoreLock lock;
    if (peer) {
        if (!connected_) return -errno_notconn;
        make_sockaddr_in(remote_, out);
        return 0;
    }
    Ipv4Endpoint local;
    if (pcb_) {
        local.address = plain_address(pcb_->local_ip);
        local.port = pcb_->local_port;
        if (is_any(local.address) && connected_) local.address = source_;
    }
    make_sockaddr_in(local, out);
    return 0;
}

int UdpSocket::shutdown_socket(int how) {
    CoreLock lock;
    shut_read_ |= how != shut_wr;
    shut_write_ |= how != shut_rd;
    refresh(fs::poll_in | fs::poll_rdhup);
    // Linux sets the bits either way, and says ENOTCONN when not connected.
    return connected_ ? 0 : -errno_notconn;
}

void UdpSocket::check_receiver(const Ipv4Endpoint& to) {
    bool local = to.address == ipv4_network_order(0x7f000001);
    struct netif* n;
    NETIF_FOREACH(n) {
        if (ip4_addr_get_u32(netif_ip4_addr(n)) == to.address) local = true;
    }
    if (!local) return;
    for (struct udp_pcb* p = udp_pcbs; p; p = p->next) {
        uint32_t bound = plain_address(p->local_ip);
        if (p->local_port == to.port && (is_any(bound) || bound == to.address)) return;
    }
    set_error(errno_connrefused);
}

// ---- data ----------------------------------------------------------------------------------------

int64_t UdpSocket::try_send(Message& message) {
    if (message.flags & msg_oob) return -errno_opnotsupp;
    Ipv4Endpoint to;
    bool has_address = message.address != nullptr;
    if (has_address) {
        if (int r = parse_sockaddr_in(*message.address, AddressUse::send, &to); r < 0) return r;
        if (is_any(to.address)) to.address = ipv4_network_order(0x7f000001);
    }
    size_t length = message.data.remaining();
    if (length > max_payload) return -errno_msgsize;
    // The datagram, copied from the application before the lock is taken.
    struct pbuf* p = pbuf_alloc(length > max_single_pbuf ? PBUF_RAW : PBUF_TRANSPORT, static_cast<u16_t>(length),
                                PBUF_RAM);
    if (!p) return -errno_nobufs;
    if (length > 0) {
        int64_t copied = message.data.get(p->payload, length);
        if (copied < 0 || static_cast<size_t>(copied) != length) {
            pbuf_free(p);
            return -errno_fault;
        }
    }
    int64_t result = static_cast<int64_t>(length);
    {
        CoreLock lock;
        if (int e = take_error()) {
            result = -e;  // Linux's sock_alloc_send_skb reports the pending error first
        } else if (shut_write_) {
            result = -errno_pipe;
        } else if (!has_address && !connected_) {
            result = -errno_destaddrreq;
        } else {
            if (!has_address) to = remote_;
            if (broadcast_address(to.address) && !broadcast()) {
                result = -errno_acces;
            } else if (!route_to(to.address)) {
                result = -errno_netunreach;
            } else if (int r = ensure_pcb(); r < 0) {
                result = r;
            } else {
                ip_addr_t ip = lwip_address(to.address);
                err_t err = has_address ? udp_sendto(pcb_, p, &ip, to.port) : udp_send(pcb_, p);
                if (err != ERR_OK) {
                    // (ERR_USE: no free port to bind to; Linux's EAGAIN would make the base wait)
                    result = err == ERR_USE ? -errno_addrnotavail : errno_from(err);
                } else if (connected_ || receive_errors()) {
                    check_receiver(to);
                }
            }
        }
    }
    pbuf_free(p);
    return result;
}

int64_t UdpSocket::try_receive(Message& message) {
    if (message.flags & msg_oob) return -errno_inval;
    bool peek = message.flags & msg_peek;
    Datagram d;
    {
        CoreLock lock;
        if (int e = take_error()) return -e;  // Linux's __skb_recv_udp looks at it first
        if (!count_) {
            // Linux: after SHUT_RD a blocking receive ends at once (0); a non-blocking one
            // still says EAGAIN.
            if (shut_read_ && !message.nonblock) return 0;
            return -errno_again;
        }
        if (peek) {
            d = queue_[head_];
            pbuf_ref(d.p);  // our own reference while we copy without the lock
        } else {
            d = dequeue();
            refresh();
        }
    }
    size_t length = d.p->tot_len;
    size_t room = message.data.remaining();
    size_t n = length < room ? length : room;
    int64_t result = static_cast<int64_t>(n);
    for (struct pbuf* q = d.p; q && n > 0; q = q->next) {
        size_t piece = q->len < n ? q->len : n;
        int64_t r = message.data.put(q->payload, piece);
        if (r < 0 || static_cast<size_t>(r) != piece) {
            result = -errno_fault;  // the datagram is lost, as Linux drops it too
            break;
        }
        n -= piece;
    }
    pbuf_free(d.p);
    if (result < 0) return result;
    if (length > room) {
        message.out_flags |= msg_trunc;
        if (message.flags & msg_trunc) result = static_cast<int64_t>(length);
    }
    if (message.address) make_sockaddr_in(d.from, message.address);
    return result;
}

// ---- options and ioctls --------------------------------------------------------------------------

int UdpSocket::set_family_option(int level, int name, const void* value, uint32_t length) {
    if (level == ipproto_ip) return set_ip_option(name, value, length);
    return -errno_noprotoopt;  // UDP_CORK, UDP_SEGMENT...: not supported
}

int UdpSocket::get_family_option(int level, int name, void* value, uint32_t* length) {
    if (level == ipproto_ip) return get_ip_option(name, value, length);
    return level == sol_socket || level == ipproto_udp ? -errno_noprotoopt : -errno_opnotsupp;
}

int64_t UdpSocket::ioctl(unsigned long request, uint64_t arg) {
    int32_t value;
    switch (request) {
    case siocinq: {
        CoreLock lock;
        value = count_ ? static_cast<int32_t>(queue_[head_].p->tot_len) : 0;  // the next datagram
        break;
    }
    case siocoutq: value = 0; break;  // sent at once
    default: return Socket::ioctl(request, arg);
    }
    return mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &value, sizeof(value)) < 0 ? -errno_fault : 0;
}

}  // namespace mica::net
