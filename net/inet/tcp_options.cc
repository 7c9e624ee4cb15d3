// TCP sockets (tcp_socket.h): IPPROTO_TCP options, the generic options lwIP must hear of,
// and TCP_INFO.
#include <mica/net/net.h>
#include <string.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "tcp_socket.h"

namespace mica::net {
namespace {

// IPPROTO_TCP options (linux/tcp.h).
constexpr int tcp_nodelay = 1, tcp_maxseg = 2, tcp_cork = 3, tcp_keepidle = 4, tcp_keepintvl = 5,
              tcp_keepcnt = 6, tcp_syncnt = 7, tcp_linger2 = 8, tcp_defer_accept = 9, tcp_window_clamp = 10,
              tcp_info = 11, tcp_quickack = 12, tcp_user_timeout = 18;
constexpr int max_keepidle = 32767, max_keepintvl = 32767, max_keepcnt = 127;  // MAX_TCP_KEEP*
constexpr int min_user_mss = 88, max_user_mss = 32767;  // TCP_MIN_MSS, MAX_TCP_WINDOW
constexpr int default_mss = 536;  // TCP_MSS_DEFAULT: what an unconnected socket reports
constexpr uint32_t ms_per_s = 1000;
constexpr uint32_t us_per_ms = 1000;

// struct tcp_info as Linux 6.x lays it out (linux/tcp.h); Mica fills what lwIP knows.
struct TcpInfo {
    uint8_t state, ca_state, retransmits, probes, backoff, options, wscale, flags;
    uint32_t rto, ato, snd_mss, rcv_mss;
    uint32_t unacked, sacked, lost, retrans, fackets;
    uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
    uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
    uint32_t rcv_rtt, rcv_space, total_retrans;
    uint8_t rest[128];  // pacing rates, byte counters... (zero)
};
static_assert(sizeof(TcpInfo) == 232);

// Linux's TCP states (include/net/tcp_states.h) for tcpi_state.
enum LinuxTcpState : uint8_t {
    linux_established = 1, linux_syn_sent, linux_syn_recv, linux_fin_wait1, linux_fin_wait2, linux_time_wait,
    linux_close, linux_close_wait, linux_last_ack, linux_listen, linux_closing
};
constexpr uint8_t tcpi_opt_wscale = 4;

uint8_t linux_state(const struct tcp_pcb* pcb) {
    switch (pcb->state) {
    case CLOSED: return linux_close;
    case LISTEN: return linux_listen;
    case SYN_SENT: return linux_syn_sent;
    case SYN_RCVD: return linux_syn_recv;
    case ESTABLISHED: return linux_established;
    case FIN_WAIT_1: return linux_fin_wait1;
    case FIN_WAIT_2: return linux_fin_wait2;
    case CLOSE_WAIT: return linux_close_wait;
    case CLOSING: return linux_closing;
    case LAST_ACK: return linux_last_ack;
    case TIME_WAIT: return linux_time_wait;
    }
    return linux_close;
}

int read_int(const void* value, uint32_t length, int* out) {
    if (length < sizeof(int)) return -errno_inval;
    memcpy(out, value, sizeof(int));
    return 0;
}

int write_int(void* value, uint32_t* length, int v) {
    if (*length > sizeof(int)) *length = sizeof(int);
    memcpy(value, &v, *length);
    return 0;
}

}  // namespace

void TcpSocket::apply_ip_options() {
    if (!pcb_) return;
    pcb_->ttl = ttl();
    pcb_->tos = tos();
}

void TcpSocket::apply_options() {
    if (!pcb_) return;
    apply_ip_options();
    if (reuse_address()) ip_set_option(pcb_, SOF_REUSEADDR);
    else ip_reset_option(pcb_, SOF_REUSEADDR);
    if (keepalive()) ip_set_option(pcb_, SOF_KEEPALIVE);
    else ip_reset_option(pcb_, SOF_KEEPALIVE);
    if (pcb_->state == LISTEN) return;  // a listener has no more than that
    // lwIP never applies Nagle's algorithm itself: in lwIP 2.1.3, when Nagle holds a small
    // segment back, tcp_output returns without sending an acknowledgement that is due, and
    // two peers that both hold data wait for each other until a retransmission time-out.
    // The socket layer holds small sends back instead (TcpSocket::try_send), which is the
    // same rule: lwIP sends them when the next acknowledgement arrives.
    tcp_nagle_disable(pcb_);
    pcb_->keep_idle = keep_idle_s_ * ms_per_s;
    pcb_->keep_intvl = keep_interval_s_ * ms_per_s;
    pcb_->keep_cnt = keep_count_;
}

void TcpSocket::option_changed(int name) {
    CoreLock lock;
    if (name == so_sndbuf || name == so_sndbufforce) {
        // SO_SNDBUF limits what may be queued (Linux doubles the value for its bookkeeping;
        // the payload it holds is about half): never more than lwIP's TCP_SND_BUF.
        send_limit_ = send_buffer() / 2;
        refresh();
    }
    apply_options();
}

int TcpSocket::set_family_option(int level, int name, const void* value, uint32_t length) {
    if (level == ipproto_ip) return set_ip_option(name, value, length);
    if (level != ipproto_tcp) return -errno_noprotoopt;
    int v;
    if (int r = read_int(value, length, &v); r < 0) return r;
    CoreLock lock;
    switch (name) {
    case tcp_nodelay: nodelay_ = v != 0; break;
    case tcp_cork:
        cork_ = v != 0;
        if (!cork_ && pcb_ && pcb_->state != LISTEN && pcb_->unsent) {
            apply_options();
            tcp_output(pcb_);  // uncorking sends what was held back
        }
        break;
    case tcp_keepidle:
        if (v < 1 || v > max_keepidle) return -errno_inval;
        keep_idle_s_ = static_cast<uint32_t>(v);
        break;
    case tcp_keepintvl:
        if (v < 1 || v > max_keepintvl) return -errno_inval;
        keep_interval_s_ = static_cast<uint32_t>(v);
        break;
    case tcp_keepcnt:
        if (v < 1 || v > max_keepcnt) return -errno_inval;
        keep_count_ = static_cast<uint32_t>(v);
        break;
    case tcp_maxseg:
        // Kept and reported; lwIP's segments stay within TCP_MSS and the path's MSS anyway.
        if (v != 0 && (v < min_user_mss || v > max_user_mss)) return -errno_inval;
        user_mss_ = v;
        break;
    case tcp_defer_accept: defer_accept_ = v < 0 ? 0 : v; break;  // accepted, no effect
    case tcp_quickack: quickack_ = v != 0; break;                 // lwIP acknowledges as it does
    case tcp_user_timeout:
        if (v < 0) return -errno_inval;
        user_timeout_ms_ = static_cast<uint32_t>(v);  // kept; lwIP's retransmission limits apply
        break;
    case tcp_syncnt:
    case tcp_linger2:
    case tcp_window_clamp: return 0;  // accepted: lwIP's own values apply
    default: return -errno_noprotoopt;
    }
    apply_options();
    return 0;
}

int TcpSocket::get_family_option(int level, int name, void* value, uint32_t* length) {
    if (level == ipproto_ip) return get_ip_option(name, value, length);
    if (level == sol_socket) return -errno_noprotoopt;
    if (level != ipproto_tcp) return -errno_opnotsupp;  // Linux's ip_getsockopt for other levels
    CoreLock lock;
    sync_state();
    switch (name) {
    case tcp_nodelay: return write_int(value, length, nodelay_);
    case tcp_cork: return write_int(value, length, cork_);
    case tcp_keepidle: return write_int(value, length, static_cast<int>(keep_idle_s_));
    case tcp_keepintvl: return write_int(value, length, static_cast<int>(keep_interval_s_));
    case tcp_keepcnt: return write_int(value, length, static_cast<int>(keep_count_));
    case tcp_maxseg: {
        int mss = default_mss;
        if (pcb_ && phase_ == Phase::connected) mss = tcp_mss(pcb_);
        else if (user_mss_) mss = user_mss_;
        return write_int(value, length, mss);
    }
    case tcp_defer_accept: return write_int(value, length, defer_accept_);
    case tcp_quickack: return write_int(value, length, quickack_);
    case tcp_user_timeout: return write_int(value, length, static_cast<int>(user_timeout_ms_));
    case tcp_info: {
        TcpInfo info{};
        info.state = linux_close;
        if (phase_ == Phase::listening) info.state = linux_listen;
        if (pcb_) {
            info.state = linux_state(pcb_);
            if (pcb_->state != LISTEN) {
                info.options = pcb_->snd_scale || pcb_->rcv_scale ? tcpi_opt_wscale : 0;
                info.wscale = static_cast<uint8_t>((pcb_->snd_scale & 0xf) | (pcb_->rcv_scale & 0xf) << 4);
                info.rto = static_cast<uint32_t>(pcb_->rto) * TCP_SLOW_INTERVAL * us_per_ms;
                info.snd_mss = info.rcv_mss = info.advmss = tcp_mss(pcb_);
                info.unacked = 0;
                for (struct tcp_seg* s = pcb_->unacked; s; s = s->next) ++info.unacked;
                info.retransmits = pcb_->nrtx;
                // lwIP keeps the smoothed RTT scaled by 8 in coarse ticks (sa) and the mean
                // deviation scaled by 4 (sv); tcp_info wants microseconds.
                info.rtt = static_cast<uint32_t>(pcb_->sa >> 3) * TCP_SLOW_INTERVAL * us_per_ms;
                info.rttvar = static_cast<uint32_t>(pcb_->sv >> 2) * TCP_SLOW_INTERVAL * us_per_ms;
                info.snd_ssthresh = pcb_->ssthresh / (info.snd_mss ? info.snd_mss : 1);
                info.snd_cwnd = pcb_->cwnd / (info.snd_mss ? info.snd_mss : 1);
                info.rcv_space = pcb_->rcv_wnd;
            }
        } else if (phase_ == Phase::unconnected || phase_ == Phase::closed) {
            info.state = linux_close;
        }
        if (*length > sizeof(info)) *length = sizeof(info);
        memcpy(value, &info, *length);
        return 0;
    }
    default: return -errno_noprotoopt;
    }
}

}  // namespace mica::net
