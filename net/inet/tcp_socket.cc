// TCP sockets (tcp_socket.h): creation and release, lwIP's callbacks, bind, listen, accept,
// connect, names and readiness. Data and shutdown are in tcp_data.cc, options in
// tcp_options.cc.
#include "tcp_socket.h"

#include <mica/fs/abi.h>
#include <mica/linux/files.h>
#include <mica/net/net.h>
#include <mica/sched/sync.h>

#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

namespace mica::net {

// lwIP's callbacks, with the core lock held (tcpip thread or a driver's receive thread). The
// socket in `arg` is alive: its destructor detaches them under the same lock first.
struct TcpCallbacks {
    static err_t received(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err);
    static err_t sent(void* arg, struct tcp_pcb* pcb, u16_t length);
    static void failed(void* arg, err_t err);
    static err_t connected(void* arg, struct tcp_pcb* pcb, err_t err);
    static err_t accepted(void* arg, struct tcp_pcb* pcb, err_t err);
    static err_t polled(void* arg, struct tcp_pcb* pcb);
    static void destroyed(u8_t id, void* data);
};

namespace {

// The ext-arg slot lwIP gave the socket layer (tcp_ext_arg_alloc_id), allocated under the
// core lock the first time a pcb is made; guarded by the core lock.
u8_t ext_id = 0;
bool ext_id_ready = false;
const struct tcp_ext_arg_callbacks ext_callbacks = {TcpCallbacks::destroyed, nullptr};
const struct tcp_ext_arg_callbacks no_ext_callbacks = {nullptr, nullptr};  // lwIP wants one

constexpr u8_t poll_interval = 1;        // lwIP's coarse timer ticks (500 ms): corked data goes out
constexpr int max_lwip_backlog = 255;    // tcp_pcb_listen::backlog is a u8_t

u8_t lwip_backlog(int backlog) {
    // Linux's accept queue holds backlog + 1 connections; lwIP counts the half-open ones too.
    return static_cast<u8_t>(backlog + 1 > max_lwip_backlog ? max_lwip_backlog : backlog + 1);
}

}  // namespace

// ---- lifetime -----------------------------------------------------------------------------------

TcpSocket::TcpSocket()
    : InetSocket(sock_stream, ipproto_tcp, CONFIG_NET_TCP_WINDOW, CONFIG_NET_TCP_SEND_BUFFER),
      send_limit_(CONFIG_NET_TCP_SEND_BUFFER) {}

int TcpSocket::create(Socket** out) {
    auto* s = fs::make_object<TcpSocket>();
    if (!s) return -errno_nomem;
    *out = s;  // the pcb comes with the first call that needs one
    return 0;
}

TcpSocket::~TcpSocket() {
    sched::List<TcpSocket, &TcpSocket::accept_link> orphans;
    {
        CoreLock lock;
        if (pcb_ && phase_ == Phase::listening) {
            detach();
            tcp_close(pcb_);  // a listener always closes (freed at once)
            while (TcpSocket* s = accept_queue_.pop_front()) orphans.push_back(*s);
            accept_count_ = 0;
        } else if (pcb_) {
            detach();
            // A connection never accepted is reset (Linux's inet_csk_listen_stop), as is one
            // closed with SO_LINGER {1, 0}. Otherwise FIN; lwIP itself resets when received
            // data was never read, and lingers (FIN_WAIT, TIME_WAIT) on its own.
            bool reset = queued_for_accept_ || (linger().on && linger().seconds == 0);
            if (pcb_->state == TIME_WAIT) {
                // nothing to do: lwIP drops it after 2 MSL
            } else if (reset || tcp_close(pcb_) != ERR_OK) {
                tcp_abort(pcb_);
            }
        }
        pcb_ = nullptr;
        drop_received();
    }
    // Under the VFS lock (our caller's), without the core lock: each takes it.
    while (TcpSocket* s = orphans.pop_front()) s->unref();
}

int TcpSocket::ensure_pcb() {
    if (pcb_) return 0;
    if (!ext_id_ready) {
        ext_id = tcp_ext_arg_alloc_id();
        ext_id_ready = true;
    }
    struct tcp_pcb* pcb = tcp_new();
    if (!pcb) return -errno_nobufs;
    attach(pcb);
    apply_options();
    if (explicitly_bound_) {
        // A socket whose connection ended gets a new pcb on its old address.
        ip_addr_t ip = lwip_address(local_.address);
        if (err_t err = tcp_bind(pcb_, &ip, local_.port); err != ERR_OK) {
            detach();
            tcp_abort(pcb_);
            pcb_ = nullptr;
            return errno_from(err);
        }
    }
    return 0;
}

void TcpSocket::attach(struct tcp_pcb* pcb) {
    pcb_ = pcb;
    tcp_arg(pcb, this);
    tcp_ext_arg_set(pcb, ext_id, this);
    tcp_ext_arg_set_callbacks(pcb, ext_id, &ext_callbacks);
    if (pcb->state == LISTEN) {
        tcp_accept(pcb, TcpCallbacks::accepted);
        return;
    }
    tcp_recv(pcb, TcpCallbacks::received);
    tcp_sent(pcb, TcpCallbacks::sent);
    tcp_err(pcb, TcpCallbacks::failed);
    tcp_poll(pcb, TcpCallbacks::polled, poll_interval);
}

void TcpSocket::detach() {
    if (!pcb_) return;
    tcp_arg(pcb_, nullptr);
    tcp_ext_arg_set_callbacks(pcb_, ext_id, &no_ext_callbacks);
    tcp_ext_arg_set(pcb_, ext_id, nullptr);
    if (pcb_->state == LISTEN) {
        tcp_accept(pcb_, nullptr);
        return;
    }
    tcp_recv(pcb_, nullptr);
    tcp_sent(pcb_, nullptr);
    tcp_err(pcb_, nullptr);
    tcp_poll(pcb_, nullptr, 0);
}

void TcpSocket::adopt(struct tcp_pcb* pcb, TcpSocket* listener) {
    inherit_options(*listener);
    nodelay_ = listener->nodelay_;
    cork_ = listener->cork_;
    keep_idle_s_ = listener->keep_idle_s_;
    keep_interval_s_ = listener->keep_interval_s_;
    keep_count_ = listener->keep_count_;
    user_mss_ = listener->user_mss_;
    user_timeout_ms_ = listener->user_timeout_ms_;
    copy_ip_options(*listener);
    send_limit_ = listener->send_limit_;
    attach(pcb);
    apply_options();
    phase_ = Phase::connected;
    connect_state_ = ConnectState::connected;
    capture_endpoints();
    refresh();
}

// ---- state -------------------------------------------------------------------------------------

void TcpSocket::finish(int error) {
    phase_ = Phase::closed;
    shut_read_ = shut_write_ = true;
    // The error and the new readiness (POLLHUP...) before anyone is woken: a reset is seen
    // whole, IN ERR HUP RDHUP, as Linux's tcp_reset reports it (an epoll waiter woken by the
    // error alone could read the readiness of before, without HUP).
    if (error) set_error(error, false);
    refresh();
    if (error) notify(fs::poll_err);
}

void TcpSocket::sync_state() {
    if (pcb_ && pcb_->state == TIME_WAIT) {
        // Both FINs are done: Linux's socket is TCP_CLOSE now. The TIME_WAIT pcb is lwIP's.
        capture_endpoints();
        detach();
        pcb_ = nullptr;
    }
    if (!pcb_ && (phase_ == Phase::connected || phase_ == Phase::connecting)) finish(0);
}

void TcpSocket::capture_endpoints() {
    if (!pcb_) return;
    local_.address = plain_address(pcb_->local_ip);
    local_.port = pcb_->local_port;
    if (phase_ == Phase::connected || phase_ == Phase::connecting) {
        remote_.address = plain_address(pcb_->remote_ip);
        remote_.port = pcb_->remote_port;
    }
}

size_t TcpSocket::send_room() const {
    if (!pcb_) return 0;
    size_t free = pcb_->snd_buf;  // lwIP's room: TCP_SND_BUF less what is queued and unacked
    size_t queued = TCP_SND_BUF - free;
    size_t limit = send_limit_ < TCP_SND_BUF ? send_limit_ : TCP_SND_BUF;
    size_t ours = queued >= limit ? 0 : limit - queued;
    return ours < free ? ours : free;
}

bool TcpSocket::writable() const {
    if (!pcb_) return true;
    size_t limit = send_limit_ < TCP_SND_BUF ? send_limit_ : TCP_SND_BUF;
    // Linux's sk_stream_is_writeable: the free space is at least half of what is queued,
    // i.e. a third of the buffer; and lwIP must have segments to spare.
    return send_room() >= limit / 3 && pcb_->snd_queuelen < TCP_SNDQUEUELOWAT;
}

uint32_t TcpSocket::compute_ready() const {
    using namespace fs;
    // Linux's tcp_poll and inet_csk_listen_poll.
    if (phase_ == Phase::listening) return accept_count_ ? poll_in | poll_rdnorm : 0;
    uint32_t m = 0;
    bool closed = phase_ == Phase::unconnected || phase_ == Phase::closed;
    if ((shut_read_ && shut_write_) || closed) m |= poll_hup;
    if (shut_read_) m |= poll_in | poll_rdnorm | poll_rdhup;
    if (phase_ != Phase::connecting) {
        if (rx_bytes_) m |= poll_in | poll_rdnorm;
        if (shut_write_ || writable()) m |= poll_out | poll_wrnorm;
    }
    return m;
}

void TcpSocket::refresh(uint32_t force) {
    uint32_t now = compute_ready();
    uint32_t before = __atomic_exchange_n(&ready_, now, __ATOMIC_ACQ_REL);
    // What turned on, and what the caller reports again (each arrival of data, as Linux wakes
    // edge-triggered epoll on each).
    uint32_t wake = (now & ~before) | (force & now);
    if (wake) notify(wake);
}

// ---- lwIP's callbacks --------------------------------------------------------------------------

err_t TcpCallbacks::received(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t) {
    auto* s = static_cast<TcpSocket*>(arg);
    if (!s) {
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (!p) {
        // The peer's FIN: the end of the stream after what is queued.
        s->fin_received_ = true;
        s->shut_read_ = true;
        s->sync_state();
        s->refresh(fs::poll_in | fs::poll_rdnorm | fs::poll_rdhup);
        return ERR_OK;
    }
    // Queue the chain as it is: its pbufs stay linked through `next`.
    if (s->rx_tail_) {
        s->rx_tail_->next = p;
    } else {
        s->rx_head_ = p;
        s->rx_offset_ = 0;
    }
    struct pbuf* last = p;
    while (last->next) last = last->next;
    s->rx_tail_ = last;
    s->rx_bytes_ += p->tot_len;
    // A closed window (the application has not read a full window) is kept one byte open
    // inside lwIP. lwIP 2.1.3 takes an acknowledgement arriving at a zero window as outside
    // the window and acknowledges it; two lwIP ends with closed windows (loopback, the test
    // pair) would then acknowledge each other for ever and starve the readers. The window
    // announced to the peer stays closed (lwIP avoids announcing one byte), and the byte is
    // absorbed when tcp_recved reopens the window (lwIP caps it at its maximum).
    if (pcb->rcv_wnd == 0) tcp_recved(pcb, 1);
    s->refresh(fs::poll_in | fs::poll_rdnorm);
    return ERR_OK;
}

err_t TcpCallbacks::sent(void* arg, struct tcp_pcb*, u16_t) {
    if (auto* s = static_cast<TcpSocket*>(arg)) s->refresh();  // POLLOUT once there is room
    return ERR_OK;
}

void TcpCallbacks::failed(void* arg, err_t err) {
    auto* s = static_cast<TcpSocket*>(arg);
    if (!s) return;
    s->pcb_ = nullptr;  // lwIP frees it (or has)
    int error = 0;
    switch (err) {
    case ERR_RST:
        // Linux's tcp_reset: refused while connecting, EPIPE after the peer's FIN.
        if (s->phase_ == TcpSocket::Phase::connecting) error = errno_connrefused;
        else if (s->fin_received_ && !s->shut_write_) error = errno_pipe;
        else error = errno_connreset;
        break;
    case ERR_CLSD: error = 0; break;  // both sides closed: the last ACK came
    case ERR_ABRT:
        // lwIP aborts on its timers: SYN or data retransmissions exhausted, keepalive
        // unanswered (Linux's ETIMEDOUT for each).
        error = errno_timedout;
        break;
    default: error = errno_connaborted; break;
    }
    s->finish(error);
}

err_t TcpCallbacks::connected(void* arg, struct tcp_pcb*, err_t) {
    auto* s = static_cast<TcpSocket*>(arg);
    if (!s) return ERR_OK;
    s->phase_ = TcpSocket::Phase::connected;
    s->capture_endpoints();
    s->refresh();
    return ERR_OK;
}

err_t TcpCallbacks::accepted(void* arg, struct tcp_pcb* pcb, err_t err) {
    auto* listener = static_cast<TcpSocket*>(arg);
    if (err != ERR_OK || !pcb) return ERR_VAL;
    if (!listener || listener->phase_ != TcpSocket::Phase::listening) return ERR_VAL;  // lwIP resets it
    auto* s = fs::make_object<TcpSocket>();
    if (!s) return ERR_MEM;  // lwIP resets it
    s->adopt(pcb, listener);
    // It counts against the backlog until accept() takes it.
    tcp_backlog_delayed(pcb);
    s->queued_for_accept_ = true;
    listener->accept_queue_.push_back(*s);
    ++listener->accept_count_;
    listener->refresh(fs::poll_in | fs::poll_rdnorm);
    return ERR_OK;
}

err_t TcpCallbacks::polled(void* arg, struct tcp_pcb* pcb) {
    // Data held back by TCP_CORK or MSG_MORE goes out within a poll interval.
    auto* s = static_cast<TcpSocket*>(arg);
    if (s && pcb->unsent) tcp_output(pcb);
    return ERR_OK;
}

void TcpCallbacks::destroyed(u8_t, void* data) {
    // lwIP frees the pcb; the error callback, when there is one, comes next (or came).
    if (auto* s = static_cast<TcpSocket*>(data)) s->pcb_ = nullptr;
}

// ---- bind, listen, accept, connect -----------------------------------------------------------

int TcpSocket::bind_address(const SocketAddress& address) {
    Ipv4Endpoint e;
    if (int r = parse_sockaddr_in(address, AddressUse::bind, &e); r < 0) return r;
    CoreLock lock;
    sync_state();
    if (!bindable_address(e.address)) return -errno_addrnotavail;  // Linux checks this first
    if (phase_ != Phase::unconnected || local_.port != 0 || explicitly_bound_) return -errno_inval;
    if (int r = ensure_pcb(); r < 0) return r;
    if (reuse_address() && e.port != 0) {
        // Linux: SO_REUSEADDR shares a port with sockets that are not listening only.
        for (struct tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
            uint32_t bound = plain_address(l->local_ip);
            if (l->local_port == e.port && (is_any(bound) || is_any(e.address) || bound == e.address)) {
                return -errno_addrinuse;
            }
        }
    }
    ip_addr_t ip = lwip_address(e.address);
    err_t err = tcp_bind(pcb_, &ip, e.port);
    if (err == ERR_USE || err == ERR_BUF) return -errno_addrinuse;  // ERR_BUF: no free port
    if (err != ERR_OK) return errno_from(err);
    explicitly_bound_ = true;
    capture_endpoints();
    return 0;
}

int TcpSocket::start_listening(int backlog) {
    CoreLock lock;
    sync_state();
    if (phase_ == Phase::listening) {
        backlog_ = backlog;
        tcp_backlog_set(pcb_, lwip_backlog(backlog));
        return 0;
    }
    if ((phase_ != Phase::unconnected && phase_ != Phase::closed) || connect_state_ != ConnectState::unconnected) {
        return -errno_inval;
    }
    if (phase_ == Phase::closed) reset_connection_state();
    if (int r = ensure_pcb(); r < 0) return r;
    if (pcb_->local_port == 0) {
        // Linux binds a listener without a port to an ephemeral one.
        if (err_t err = tcp_bind(pcb_, IP_ADDR_ANY, 0); err != ERR_OK) return -errno_addrinuse;
    }
    // tcp_listen frees this pcb for a smaller one: not the loss of the socket's pcb.
    tcp_ext_arg_set_callbacks(pcb_, ext_id, &no_ext_callbacks);
    err_t err = ERR_OK;
    struct tcp_pcb* listener = tcp_listen_with_backlog_and_err(pcb_, lwip_backlog(backlog), &err);
    if (!listener) {
        tcp_ext_arg_set_callbacks(pcb_, ext_id, &ext_callbacks);
        return err == ERR_USE ? -errno_addrinuse : errno_from(err);
    }
    pcb_ = nullptr;
    attach(listener);
    phase_ = Phase::listening;
    backlog_ = backlog;
    capture_endpoints();
    refresh();
    return 0;
}

int TcpSocket::try_accept(Socket** out, SocketAddress* peer) {
    CoreLock lock;
    if (phase_ != Phase::listening) return -errno_inval;
    TcpSocket* s = accept_queue_.pop_front();
    if (!s) return -errno_again;
    --accept_count_;
    s->queued_for_accept_ = false;
    if (s->pcb_) tcp_backlog_accepted(s->pcb_);  // room in the backlog again
    s->sync_state();
    if (peer) make_sockaddr_in(s->remote_, peer);
    refresh();
    *out = s;  // the queue's reference goes to the caller
    return 0;
}

void TcpSocket::reset_connection_state() {
    // A socket whose connection ended starts afresh (Linux's sk_state is TCP_CLOSE again).
    drop_received();
    shut_read_ = shut_write_ = fin_received_ = false;
    phase_ = Phase::unconnected;
    remote_ = Ipv4Endpoint{};
    if (!explicitly_bound_) local_ = Ipv4Endpoint{};
}

int TcpSocket::start_connect(const SocketAddress& address) {
    if (address.length < sockaddr_family_size) return -errno_inval;
    if (address.family() == af_unspec) {
        // Linux's tcp_disconnect: the connection is dropped (reset) and the socket is fresh.
        CoreLock lock;
        if (phase_ == Phase::listening) return 0;  // (Linux closes the listener; rare)
        if (pcb_) {
            detach();
            if (pcb_->state != TIME_WAIT) tcp_abort(pcb_);
            pcb_ = nullptr;
        }
        reset_connection_state();
        connect_state_ = ConnectState::unconnected;
        refresh();
        return 0;
    }
    CoreLock lock;
    sync_state();
    switch (connect_state_) {
    case ConnectState::connected: return -errno_isconn;
    case ConnectState::connecting:
        if (phase_ == Phase::connecting) return -errno_already;
        if (phase_ == Phase::connected) {
            connect_state_ = ConnectState::connected;
            return 0;
        }
        return connect_failed();
    case ConnectState::unconnected: break;
    }
    if (phase_ != Phase::unconnected && phase_ != Phase::closed) return -errno_isconn;
    Ipv4Endpoint e;
    if (int r = parse_sockaddr_in(address, AddressUse::connect, &e); r < 0) return r;
    if (is_any(e.address)) e.address = ipv4_network_order(0x7f000001);  // Linux: 0.0.0.0 is this host
    if (broadcast_address(e.address) || is_multicast(e.address)) return -errno_netunreach;
    if (phase_ == Phase::closed) reset_connection_state();
    if (!route_to(e.address)) return -errno_netunreach;
    if (int r = ensure_pcb(); r < 0) return r;
    ip_addr_t ip = lwip_address(e.address);
    err_t err = tcp_connect(pcb_, &ip, e.port, TcpCallbacks::connected);
    if (err == ERR_USE || err == ERR_BUF) return -errno_addrnotavail;  // no local port for it
    if (err != ERR_OK) return errno_from(err);
    phase_ = Phase::connecting;
    connect_state_ = ConnectState::connecting;
    capture_endpoints();
    refresh();
    return -errno_inprogress;
}

int TcpSocket::connect_result() {
    CoreLock lock;
    sync_state();
    if (phase_ == Phase::connected) {
        connect_state_ = ConnectState::connected;
        return 0;
    }
    if (phase_ == Phase::connecting) return -errno_inprogress;
    return connect_failed();
}

int TcpSocket::connect_failed() {
    // Linux's __inet_stream_connect on a failed attempt: the error (once), and the socket is
    // disconnected, fresh for another try.
    int e = take_error();
    connect_state_ = ConnectState::unconnected;
    reset_connection_state();
    refresh();
    return -(e ? e : errno_connaborted);
}

int TcpSocket::name(SocketAddress* out, bool peer) {
    CoreLock lock;
    sync_state();
    capture_endpoints();
    if (!peer) {
        make_sockaddr_in(local_, out);
        return 0;
    }
    if (phase_ != Phase::connected) return -errno_notconn;
    make_sockaddr_in(remote_, out);
    return 0;
}

}  // namespace mica::net
