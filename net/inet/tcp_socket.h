// AF_INET SOCK_STREAM: a TCP connection (or listener) on one lwIP tcp_pcb (private to
// net/inet/). Linux's behaviour (net/ipv4/tcp.c, af_inet.c) is the reference for every
// answer; docs/networking.md ("AF_INET") lists where Mica differs.
//
// What maps to what:
//   * send: tcp_write straight from the application's buffer (one copy, checked: app_copy.h)
//     with TCP_WRITE_FLAG_MORE between the pieces of one call, then one tcp_output per call
//     (none with MSG_MORE, TCP_CORK, or while Nagle's algorithm holds a small segment back:
//     lwIP then sends on the next acknowledgement, the next send, uncorking, or the 500 ms
//     poll callback). Nagle's algorithm is applied here, not by lwIP (tcp_options.cc says
//     why).
//   * receive: lwIP's recv callback queues its pbufs on the socket (no copy, no allocation);
//     a read copies out of them into the application's buffer and calls tcp_recved, which
//     opens the window again. The window (CONFIG_NET_TCP_WINDOW) bounds the queue.
//   * accept: lwIP's accept callback makes the socket at once (so data that arrives before
//     accept() is queued on it) and keeps it on the listener's queue; tcp_backlog_delayed
//     counts it against lwIP's listen backlog until accept() takes it, so a full queue stops
//     new handshakes as Linux's does (backlog + 1 connections, at most 255: lwIP's u8_t).
//   * close: tcp_close (FIN; lwIP resets when data was left unread, and lingers by itself),
//     tcp_abort with SO_LINGER {1, 0}; connections still on a listener's queue are reset.
//   * pcb lifetime: lwIP frees pcbs on its own (resets, time-outs, TIME_WAIT expiry). The
//     pcb's ext-arg "destroyed" callback clears pcb_, so no socket keeps a freed pcb.
//
// State is guarded by the core lock, except ready_ (atomic, see refresh()).
#pragma once

#include <mica/sched/list.h>

#include "inet_socket.h"

struct tcp_pcb;
struct pbuf;

namespace mica::net {

class TcpSocket final : public InetSocket {
public:
    static int create(Socket** out);
    TcpSocket();  // use create()
    ~TcpSocket() override;

    int64_t ioctl(unsigned long request, uint64_t arg) override;

    // A listener's queue of connections not accepted yet (core lock).
    sched::ListNode accept_link;

protected:
    int bind_address(const SocketAddress& address) override;
    int start_listening(int backlog) override;
    int try_accept(Socket** out, SocketAddress* peer) override;
    int start_connect(const SocketAddress& address) override;
    int connect_result() override;
    int shutdown_socket(int how) override;
    int64_t try_send(Message& message) override;
    int64_t try_receive(Message& message) override;
    int name(SocketAddress* out, bool peer) override;
    uint32_t socket_poll() override { return __atomic_load_n(&ready_, __ATOMIC_ACQUIRE); }
    int get_family_option(int level, int name, void* value, uint32_t* length) override;
    int set_family_option(int level, int name, const void* value, uint32_t length) override;
    void option_changed(int name) override;
    void apply_ip_options() override;

private:
    friend struct TcpCallbacks;
    // Linux's view of the connection, from which readiness and errors follow.
    enum class Phase : uint8_t {
        unconnected,  // never connected (TCP_CLOSE): bound or not
        listening,
        connecting,   // SYN_SENT
        connected,    // ESTABLISHED and the closing states while the pcb lives
        closed,       // TCP_CLOSE after a connection: reset, refused, timed out, or both FINs done
    };
    // struct socket's state, for connect(2)'s answers (EALREADY, EISCONN, the error of a
    // finished non-blocking connect).
    enum class ConnectState : uint8_t { unconnected, connecting, connected };

    // ---- core lock held ----
    int ensure_pcb();                    // a fresh pcb for an unconnected socket
    void attach(struct tcp_pcb* pcb);    // callbacks, arg, ext arg
    void detach();                       // the reverse; pcb_ stays
    void adopt(struct tcp_pcb* pcb, TcpSocket* listener);  // an accepted connection
    void reset_connection_state();       // after a finished connection: unconnected again
    void abort_connection(int error);    // reset by us (pcb dropped), the error pending
    int connect_failed();                // connect(2)'s answer once an attempt has failed
    void finish(int error);              // the connection is over (error 0: orderly)
    void sync_state();                   // a pcb in TIME_WAIT is a finished connection
    void refresh(uint32_t force = 0);    // readiness: recompute, notify what turned on
    uint32_t compute_ready() const;
    bool writable() const;
    size_t send_room() const;
    void apply_options();                // Nagle, keepalive, reuse, TTL/TOS to pcb_
    void drop_received();
    int64_t copy_out(Message& message, size_t length, bool peek);
    void consume(size_t bytes);
    void release_window(size_t bytes);
    void capture_endpoints();

    struct tcp_pcb* pcb_ = nullptr;
    Phase phase_ = Phase::unconnected;
    ConnectState connect_state_ = ConnectState::unconnected;
    bool shut_read_ = false, shut_write_ = false;  // Linux's RCV_SHUTDOWN / SEND_SHUTDOWN
    bool fin_received_ = false;                    // the peer's FIN: end of stream (SOCK_DONE)
    bool explicitly_bound_ = false;
    bool queued_for_accept_ = false;  // on a listener's queue (reset if never accepted)
    bool nodelay_ = false, cork_ = false, quickack_ = true;
    int defer_accept_ = 0, user_mss_ = 0;
    uint32_t user_timeout_ms_ = 0;
    size_t send_limit_;  // bytes queued at most: TCP_SND_BUF, or less after SO_SNDBUF
    uint32_t keep_idle_s_ = 7200, keep_interval_s_ = 75, keep_count_ = 9;  // Linux's defaults
    Ipv4Endpoint local_, remote_;  // kept for names after the pcb is gone
    int backlog_ = 0;

    // Received data, oldest first: pbufs linked through `next` (tot_len not maintained),
    // rx_offset_ bytes of the first already read.
    struct pbuf* rx_head_ = nullptr;
    struct pbuf* rx_tail_ = nullptr;
    size_t rx_offset_ = 0, rx_bytes_ = 0;

    // Listener: connections waiting for accept(), one reference each.
    sched::List<TcpSocket, &TcpSocket::accept_link> accept_queue_;
    size_t accept_count_ = 0;

    // Poll events now (a fresh socket: Linux's TCP_CLOSE answer); written under the core lock
    // by refresh(), read atomically.
    uint32_t ready_ = fs::poll_out | fs::poll_wrnorm | fs::poll_hup;
};

}  // namespace mica::net
