#include "net_endpoints.h"

#include <stdlib.h>
#include <string.h>

#include "lwip/ip.h"

using namespace mica;

namespace nettest {
namespace {

constexpr size_t max_write_chunk = 0xffff;  // tcp_write and tcp_recved take 16-bit lengths
constexpr size_t io_chunk = 16 * 1024;

}  // namespace

ip_addr_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    ip_addr_t address;
    IP_ADDR4(&address, a, b, c, d);
    return address;
}

// --- TcpConnection -----------------------------------------------------------------------------

void TcpConnection::attach(struct tcp_pcb* pcb) {
    pcb_ = pcb;
    tcp_arg(pcb, this);
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_err);
}

err_t TcpConnection::on_recv(void* arg, struct tcp_pcb*, struct pbuf* p, err_t) {
    auto* c = static_cast<TcpConnection*>(arg);
    if (!p) {
        c->eof_ = true;
    } else {
        // Full: lwIP keeps the data and offers it again later (back-pressure, not loss).
        if (c->queued_ == receive_queue_slots) return ERR_MEM;
        c->queue_[(c->head_ + c->queued_) % receive_queue_slots] = p;
        ++c->queued_;
    }
    c->cv_.broadcast();
    return ERR_OK;
}

err_t TcpConnection::on_sent(void* arg, struct tcp_pcb*, u16_t) {
    static_cast<TcpConnection*>(arg)->cv_.broadcast();
    return ERR_OK;
}

void TcpConnection::on_err(void* arg, err_t err) {
    auto* c = static_cast<TcpConnection*>(arg);
    c->pcb_ = nullptr;  // lwIP has freed it
    c->error_ = err;
    c->cv_.broadcast();
}

err_t TcpConnection::on_connected(void* arg, struct tcp_pcb*, err_t) {
    auto* c = static_cast<TcpConnection*>(arg);
    c->connected_ = true;
    c->cv_.broadcast();
    return ERR_OK;
}

TcpConnection* TcpConnection::connect(const ip_addr_t& remote, uint16_t port, err_t* result,
                                      const ip_addr_t* local) {
    auto* c = new TcpConnection;
    err_t err = ERR_MEM;
    {
        net::CoreLock lock;
        if (struct tcp_pcb* pcb = tcp_new()) {
            c->attach(pcb);
            err = local ? tcp_bind(pcb, local, 0) : static_cast<err_t>(ERR_OK);
            if (err == ERR_OK) err = tcp_connect(pcb, &remote, port, on_connected);
            while (err == ERR_OK && !c->connected_ && c->error_ == ERR_OK) {
                if (!lock.wait(c->cv_, wait_timeout_ns)) err = ERR_TIMEOUT;
            }
            if (err == ERR_OK) err = c->error_;
            if (err != ERR_OK) c->detach_and_drop();
        }
    }
    *result = err;
    if (err == ERR_OK) return c;
    delete c;
    return nullptr;
}

bool TcpConnection::write_all(const void* data, size_t length) {
    auto* bytes = static_cast<const uint8_t*>(data);
    net::CoreLock lock;
    while (length) {
        if (!pcb_ || error_ != ERR_OK) return false;
        size_t room = tcp_sndbuf(pcb_);
        if (room == 0) {
            tcp_output(pcb_);
            if (!lock.wait(cv_, wait_timeout_ns)) return false;
            continue;
        }
        size_t chunk = length < room ? length : room;
        if (chunk > max_write_chunk) chunk = max_write_chunk;
        u8_t flags = TCP_WRITE_FLAG_COPY | (chunk < length ? TCP_WRITE_FLAG_MORE : 0);
        err_t err = tcp_write(pcb_, bytes, static_cast<u16_t>(chunk), flags);
        if (err == ERR_MEM) {  // too many segments queued: wait for acknowledgements
            tcp_output(pcb_);
            if (!lock.wait(cv_, wait_timeout_ns)) return false;
            continue;
        }
        if (err != ERR_OK) return false;
        bytes += chunk;
        length -= chunk;
    }
    return pcb_ && tcp_output(pcb_) == ERR_OK;
}

long TcpConnection::read(void* buffer, size_t max) {
    net::CoreLock lock;
    while (queued_ == 0) {
        if (eof_) return 0;
        if (error_ != ERR_OK) return -1;
        if (!lock.wait(cv_, wait_timeout_ns)) return -1;
    }
    struct pbuf* p = queue_[head_];
    size_t available = p->tot_len - head_offset_;
    size_t n = max < available ? max : available;
    pbuf_copy_partial(p, buffer, static_cast<u16_t>(n), static_cast<u16_t>(head_offset_));
    head_offset_ += n;
    if (head_offset_ == p->tot_len) {
        pbuf_free(p);
        head_ = (head_ + 1) % receive_queue_slots;
        --queued_;
        head_offset_ = 0;
    }
    // The window opens as the application reads, as with a socket.
    if (pcb_) tcp_recved(pcb_, static_cast<u16_t>(n));
    return static_cast<long>(n);
}

bool TcpConnection::read_exact(void* buffer, size_t length) {
    auto* bytes = static_cast<uint8_t*>(buffer);
    while (length) {
        long n = read(bytes, length);
        if (n <= 0) return false;
        bytes += n;
        length -= static_cast<size_t>(n);
    }
    return true;
}

bool TcpConnection::shutdown_write() {
    net::CoreLock lock;
    return pcb_ && tcp_shutdown(pcb_, 0, 1) == ERR_OK;
}

err_t TcpConnection::error() {
    net::CoreLock lock;
    return error_;
}

bool TcpConnection::set_keepalive(uint32_t idle_ms, uint32_t interval_ms, uint32_t probes) {
    net::CoreLock lock;
    if (!pcb_) return false;
    ip_set_option(pcb_, SOF_KEEPALIVE);
    pcb_->keep_idle = idle_ms;
    pcb_->keep_intvl = interval_ms;
    pcb_->keep_cnt = probes;
    return true;
}

// Core lock held: forgets the pcb (with FIN when it can, else RST) and the queued data.
void TcpConnection::detach_and_drop() {
    while (queued_) {
        pbuf_free(queue_[head_]);
        head_ = (head_ + 1) % receive_queue_slots;
        --queued_;
    }
    if (!pcb_) return;
    tcp_arg(pcb_, nullptr);
    tcp_recv(pcb_, nullptr);
    tcp_sent(pcb_, nullptr);
    tcp_err(pcb_, nullptr);
    if (tcp_close(pcb_) != ERR_OK) tcp_abort(pcb_);
    pcb_ = nullptr;
}

void TcpConnection::close() {
    {
        net::CoreLock lock;
        detach_and_drop();
    }
    delete this;
}

void TcpConnection::abort() {
    {
        net::CoreLock lock;
        if (pcb_) {
            tcp_arg(pcb_, nullptr);
            tcp_err(pcb_, nullptr);
            tcp_abort(pcb_);
            pcb_ = nullptr;
        }
        detach_and_drop();
    }
    delete this;
}

// --- TcpListener -------------------------------------------------------------------------------

TcpListener* TcpListener::listen(const ip_addr_t& local, uint16_t port, u8_t backlog, bool reuse_address,
                                 err_t* error) {
    net::CoreLock lock;
    struct tcp_pcb* pcb = tcp_new();
    if (!pcb) return nullptr;
    if (reuse_address) ip_set_option(pcb, SOF_REUSEADDR);
    if (err_t err = tcp_bind(pcb, &local, port); err != ERR_OK) {
        if (error) *error = err;
        tcp_abort(pcb);
        return nullptr;
    }
    struct tcp_pcb* listening = tcp_listen_with_backlog(pcb, backlog);
    if (!listening) {
        tcp_abort(pcb);
        return nullptr;
    }
    auto* l = new TcpListener;
    l->pcb_ = listening;
    tcp_arg(listening, l);
    tcp_accept(listening, on_accept);
    return l;
}

err_t TcpListener::on_accept(void* arg, struct tcp_pcb* pcb, err_t err) {
    auto* l = static_cast<TcpListener*>(arg);
    if (err != ERR_OK || !pcb) return ERR_VAL;
    if (!l || l->count_ == max_pending) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    auto* c = new TcpConnection;
    c->attach(pcb);
    c->connected_ = true;
    l->pending_[l->count_++] = c;
    l->cv_.broadcast();
    return ERR_OK;
}

TcpConnection* TcpListener::accept() {
    net::CoreLock lock;
    while (count_ == 0) {
        if (!lock.wait(cv_, wait_timeout_ns)) return nullptr;
    }
    TcpConnection* c = pending_[0];
    memmove(pending_, pending_ + 1, (count_ - 1) * sizeof(pending_[0]));
    --count_;
    return c;
}

void TcpListener::close() {
    {
        net::CoreLock lock;
        tcp_arg(pcb_, nullptr);
        tcp_accept(pcb_, nullptr);
        tcp_close(pcb_);
        for (size_t i = 0; i < count_; ++i) {
            pending_[i]->detach_and_drop();
            delete pending_[i];
        }
        count_ = 0;
    }
    delete this;
}

// --- UdpEndpoint -------------------------------------------------------------------------------

UdpEndpoint* UdpEndpoint::bind(const ip_addr_t& local, uint16_t port) {
    net::CoreLock lock;
    struct udp_pcb* pcb = udp_new();
    if (!pcb) return nullptr;
    if (udp_bind(pcb, &local, port) != ERR_OK) {
        udp_remove(pcb);
        return nullptr;
    }
    auto* u = new UdpEndpoint;
    u->pcb_ = pcb;
    udp_recv(pcb, on_recv, u);
    return u;
}

void UdpEndpoint::on_recv(void* arg, struct udp_pcb*, struct pbuf* p, const ip_addr_t* address, u16_t port) {
    auto* u = static_cast<UdpEndpoint*>(arg);
    if (u->queued_ == slots) {
        pbuf_free(p);  // a full socket buffer drops, as UDP does
        return;
    }
    u->queue_[(u->head_ + u->queued_) % slots] = {p, *address, port};
    ++u->queued_;
    u->cv_.broadcast();
}

bool UdpEndpoint::send_to(const void* data, size_t length, const ip_addr_t& to, uint16_t port) {
    if (length > max_write_chunk) return false;
    net::CoreLock lock;
    struct pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(length), PBUF_RAM);
    if (!p) return false;
    pbuf_take(p, data, static_cast<u16_t>(length));
    err_t err = udp_sendto(pcb_, p, &to, port);
    pbuf_free(p);
    return err == ERR_OK;
}

long UdpEndpoint::receive(void* buffer, size_t max, ip_addr_t* from, uint16_t* from_port, uint64_t timeout_ns) {
    net::CoreLock lock;
    while (queued_ == 0) {
        if (!lock.wait(cv_, timeout_ns)) return -1;
    }
    Datagram d = queue_[head_];
    head_ = (head_ + 1) % slots;
    --queued_;
    size_t n = d.p->tot_len < max ? d.p->tot_len : max;
    pbuf_copy_partial(d.p, buffer, static_cast<u16_t>(n), 0);
    pbuf_free(d.p);
    if (from) *from = d.from;
    if (from_port) *from_port = d.port;
    return static_cast<long>(n);
}

void UdpEndpoint::close() {
    {
        net::CoreLock lock;
        udp_remove(pcb_);
        while (queued_) {
            pbuf_free(queue_[head_].p);
            head_ = (head_ + 1) % slots;
            --queued_;
        }
    }
    delete this;
}

// --- Traffic -----------------------------------------------------------------------------------

void echo_server(void* arg) {
    auto* s = static_cast<EchoServer*>(arg);
    for (size_t i = 0; i < s->connections; ++i) {
        TcpConnection* c = s->listener->accept();
        if (!c) {
            s->ok = false;
            return;
        }
        char buffer[1024];
        for (;;) {
            long n = c->read(buffer, sizeof buffer);
            if (n <= 0) {
                s->ok &= n == 0;
                break;
            }
            s->bytes += static_cast<size_t>(n);
            if (!c->write_all(buffer, static_cast<size_t>(n))) {
                s->ok = false;
                break;
            }
        }
        c->close();
    }
}

void sink_server(void* arg) {
    auto* s = static_cast<SinkServer*>(arg);
    TcpConnection* c = s->listener->accept();
    if (!c) {
        s->ok = false;
        return;
    }
    auto* buffer = static_cast<uint8_t*>(malloc(io_chunk));
    for (;;) {
        long n = c->read(buffer, io_chunk);
        if (n <= 0) {
            s->ok &= n == 0;
            break;
        }
        for (long i = 0; i < n; ++i) {
            if (buffer[i] != pattern_byte(s->received + i, s->seed) && s->first_bad == ~size_t{0}) {
                s->first_bad = s->received + i;
            }
        }
        s->received += static_cast<size_t>(n);
    }
    free(buffer);
    uint64_t count = s->received;
    s->ok &= c->write_all(&count, sizeof count);
    c->close();
}

bool send_pattern(TcpConnection* c, size_t bytes, uint32_t seed, uint64_t* count) {
    auto* buffer = static_cast<uint8_t*>(malloc(io_chunk));
    bool ok = true;
    for (size_t sent = 0; ok && sent < bytes;) {
        size_t n = bytes - sent < io_chunk ? bytes - sent : io_chunk;
        for (size_t i = 0; i < n; ++i) buffer[i] = pattern_byte(sent + i, seed);
        ok = c->write_all(buffer, n);
        sent += n;
    }
    free(buffer);
    ok = ok && c->shutdown_write() && c->read_exact(count, sizeof *count);
    char extra;
    return ok && c->read(&extra, 1) == 0;
}

}  // namespace nettest
