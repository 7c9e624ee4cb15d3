// TCP sockets (tcp_socket.h): sending, receiving, shutdown and the queue ioctls.
#include <mica/linux/files.h>
#include <mica/mm/vm.h>
#include <mica/net/net.h>
#include <mica/sched/sync.h>

#include "../lwip/app_copy.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "tcp_socket.h"

namespace mica::net {
namespace {

// One tcp_write takes at most a u16_t; pieces of whole pages keep the next one aligned.
constexpr size_t max_write_piece = 15 * 4096;
constexpr size_t max_recved = 0xffff;  // tcp_recved takes a u16_t
constexpr size_t page = 4096;

// Touches one byte of every page of an application range: a bad address is -EFAULT here,
// before lwIP copies from it (where a fault could only abort the connection).
int probe_application(uint64_t base, size_t length) {
    if (base + length < base) return -errno_fault;
    uint8_t byte;
    for (uint64_t at = base; at < base + length; at = (at & ~uint64_t{page - 1}) + page) {
        if (mm::vm::copy_from_app(&byte, reinterpret_cast<const void*>(at), 1) < 0) return -errno_fault;
    }
    return 0;
}

}  // namespace

void TcpSocket::abort_connection(int error) {
    if (pcb_) {
        detach();
        tcp_abort(pcb_);
        pcb_ = nullptr;
    }
    finish(error);
}

// ---- sending -----------------------------------------------------------------------------------

int64_t TcpSocket::try_send(Message& message) {
    if (message.flags & msg_oob) return -errno_opnotsupp;  // lwIP sends no urgent data
    CoreLock lock;
    sync_state();
    // Linux's tcp_sendmsg: wait for a connection under way, the pending error first, then
    // EPIPE for a socket that is not (or no longer) connected or shut for writing.
    if (phase_ == Phase::connecting) return -errno_again;
    if (phase_ != Phase::connected || shut_write_ || pending_error()) {
        // After part of this call went out, the call returns that much and the error stays
        // for the next one (Linux's tcp_sendmsg).
        int e = message.data.done() > 0 ? pending_error() : take_error();
        return -(e ? e : errno_pipe);
    }
    size_t total = message.data.remaining();
    if (total == 0) return 0;
    size_t room = send_room();
    if (room == 0 || pcb_->snd_queuelen >= TCP_SND_QUEUELEN - 1) {
        refresh();
        return -errno_again;
    }
    size_t target = total < room ? total : room;
    bool hold = (message.flags & msg_more) || cork_;  // no tcp_output: more is coming
    size_t sent = 0;
    int64_t failure = 0;
    while (sent < target) {
        size_t want = target - sent < max_write_piece ? target - sent : max_write_piece;
        fs::IoVector::Piece piece = message.data.piece(want);
        if (piece.length == 0) break;
        bool app = message.data.app();
        if (app) {
            if (int r = probe_application(piece.base, piece.length); r < 0) {
                failure = r;
                break;
            }
        }
        bool last = sent + piece.length == target;
        u8_t flags = TCP_WRITE_FLAG_COPY | (!last || hold ? TCP_WRITE_FLAG_MORE : 0);
        const void* data = reinterpret_cast<const void*>(piece.base);
        err_t err;
        bool faulted = false;
        if (app) {
            AppCopyWindow window(data, piece.length);
            err = tcp_write(pcb_, data, static_cast<u16_t>(piece.length), flags);
            faulted = window.faulted();
        } else {
            err = tcp_write(pcb_, data, static_cast<u16_t>(piece.length), flags);
        }
        if (faulted) {
            // The application unmapped its buffer while we copied (after the probe): the
            // queued bytes are not what it wrote, so the connection cannot go on.
            abort_connection(errno_connaborted);
            return -errno_fault;
        }
        if (err == ERR_MEM) break;  // out of segments: what went so far
        if (err != ERR_OK) {
            failure = err == ERR_CONN ? -errno_pipe : errno_from(err);  // a state lwIP cannot send in
            break;
        }
        message.data.skip(piece.length);
        sent += piece.length;
    }
    // Nagle's algorithm (see apply_options): a segment smaller than the MSS waits while
    // data is unacknowledged; the acknowledgement's arrival sends it.
    bool nagle = !nodelay_ && pcb_->unacked && pcb_->unsent && !pcb_->unsent->next &&
                 pcb_->unsent->len < tcp_mss(pcb_);
    if (sent > 0 && !hold && !nagle) tcp_output(pcb_);
    refresh();
    if (sent == 0) return failure ? failure : -errno_again;
    return static_cast<int64_t>(sent);
}

// ---- receiving ---------------------------------------------------------------------------------

void TcpSocket::drop_received() {
    while (struct pbuf* p = rx_head_) {
        rx_head_ = p->next;
        p->next = nullptr;  // free this one only: the queue owns each pbuf separately
        pbuf_free(p);
    }
    rx_tail_ = nullptr;
    rx_offset_ = rx_bytes_ = 0;
}

int64_t TcpSocket::copy_out(Message& message, size_t length, bool peek) {
    bool discard = message.flags & msg_trunc;  // Linux: TCP's MSG_TRUNC drops without copying
    size_t copied = 0;
    struct pbuf* p = rx_head_;
    size_t offset = rx_offset_;
    while (copied < length && p) {
        size_t n = p->len - offset < length - copied ? p->len - offset : length - copied;
        if (n > 0) {
            if (discard) {
                message.data.skip(n);
            } else {
                int64_t r = message.data.put(static_cast<const uint8_t*>(p->payload) + offset, n);
                if (r < 0) {
                    if (copied == 0) return r;
                    break;
                }
                if (static_cast<size_t>(r) < n) {  // a fault part-way: what was copied counts
                    copied += static_cast<size_t>(r);
                    break;
                }
            }
            copied += n;
            offset += n;
        }
        if (offset == p->len) {
            p = p->next;
            offset = 0;
        }
    }
    if (!peek) consume(copied);
    return static_cast<int64_t>(copied);
}

void TcpSocket::consume(size_t bytes) {
    // Frees the pbufs read to their end and opens the window by as much.
    rx_bytes_ -= bytes;
    size_t left = bytes;
    while (struct pbuf* head = rx_head_) {
        size_t in_head = head->len - rx_offset_;
        if (left < in_head) {
            rx_offset_ += left;
            break;
        }
        left -= in_head;
        rx_head_ = head->next;
        head->next = nullptr;  // free this one only: the queue owns each pbuf separately
        pbuf_free(head);
        rx_offset_ = 0;
    }
    if (!rx_head_) rx_tail_ = nullptr;
    release_window(bytes);
}

void TcpSocket::release_window(size_t bytes) {
    if (!pcb_ || pcb_->state == LISTEN) return;
    while (bytes > 0) {
        size_t n = bytes < max_recved ? bytes : max_recved;
        tcp_recved(pcb_, static_cast<u16_t>(n));
        bytes -= n;
    }
}

int64_t TcpSocket::try_receive(Message& message) {
    if (message.flags & msg_oob) return -errno_inval;  // no urgent data is ever received
    // Nothing to read on a connection that is open both ways (an epoll server's last read of
    // each round): EAGAIN without the core lock. The readiness word says so exactly: only a
    // connected socket reports POLLOUT without POLLIN or POLLHUP, and refresh() updates it
    // with every change. A notification after this look wakes the waiter the base class
    // registered before trying.
    uint32_t ready = __atomic_load_n(&ready_, __ATOMIC_ACQUIRE);
    if ((ready & (fs::poll_out | fs::poll_in | fs::poll_hup | fs::poll_rdhup)) == fs::poll_out && !pending_error()) {
        return -errno_again;
    }
    CoreLock lock;
    sync_state();
    if (phase_ == Phase::listening) return -errno_notconn;
    if (rx_bytes_ == 0) {
        // Linux's tcp_recvmsg with nothing queued: end of stream after a FIN, else the
        // pending error, else end of stream once shut, ENOTCONN when closed.
        if (fin_received_) return 0;
        // An error ends a MSG_WAITALL read that has data without being consumed.
        if (int e = message.data.done() > 0 ? pending_error() : take_error()) return -e;
        if (shut_read_) return 0;
        if (phase_ == Phase::unconnected || phase_ == Phase::closed) return -errno_notconn;
        return -errno_again;
    }
    size_t want = message.data.remaining();
    if (want == 0) return 0;
    size_t n = want < rx_bytes_ ? want : rx_bytes_;
    int64_t r = copy_out(message, n, message.flags & msg_peek);
    refresh();
    return r;
}

// ---- shutdown ------------------------------------------------------------------------------------

int TcpSocket::shutdown_socket(int how) {
    bool read = how != shut_wr, write = how != shut_rd;
    sched::List<TcpSocket, &TcpSocket::accept_link> orphans;
    int result = 0;
    {
        CoreLock lock;
        sync_state();
        switch (phase_) {
        case Phase::listening:
            // Linux: shutting a listener for reading closes it (pending connections are reset,
            // accept fails with EINVAL); for writing only, nothing happens.
            if (!read) return 0;
            detach();
            tcp_close(pcb_);
            pcb_ = nullptr;
            while (TcpSocket* s = accept_queue_.pop_front()) orphans.push_back(*s);
            accept_count_ = 0;
            phase_ = Phase::unconnected;
            clear_listening();
            break;
        case Phase::connecting:
            // Linux disconnects: the attempt is dropped and the socket is fresh again.
            detach();
            tcp_abort(pcb_);
            pcb_ = nullptr;
            phase_ = Phase::unconnected;
            connect_state_ = ConnectState::unconnected;
            break;
        case Phase::unconnected:
        case Phase::closed:
            shut_read_ |= read;
            shut_write_ |= write;
            result = -errno_notconn;
            break;
        case Phase::connected:
            if (read) shut_read_ = true;
            if (write && !shut_write_) {
                shut_write_ = true;
                if (pcb_) tcp_shutdown(pcb_, 0, 1);  // FIN after what is queued; sent now
            }
            sync_state();
            break;
        }
        refresh();
    }
    if (!orphans.empty()) {
        sched::LockGuard<sched::Mutex> guard(abi::vfs_mutex());  // dropping references needs it
        while (TcpSocket* s = orphans.pop_front()) s->unref();
    }
    return result;
}

// ---- ioctl ---------------------------------------------------------------------------------------

int64_t TcpSocket::ioctl(unsigned long request, uint64_t arg) {
    int32_t value;
    switch (request) {
    case siocinq:
    case siocoutq:
    case siocoutqnsd: {
        CoreLock lock;
        if (phase_ == Phase::listening) return -errno_inval;
        if (request == siocinq) {
            value = static_cast<int32_t>(rx_bytes_);
        } else if (!pcb_) {
            value = 0;
        } else if (request == siocoutq) {
            value = static_cast<int32_t>(TCP_SND_BUF - pcb_->snd_buf);  // queued and unacknowledged
        } else {
            size_t unsent = 0;
            for (struct tcp_seg* s = pcb_->unsent; s; s = s->next) unsent += s->len;
            value = static_cast<int32_t>(unsent);
        }
        break;
    }
    default: return Socket::ioctl(request, arg);
    }
    return mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &value, sizeof(value)) < 0 ? -errno_fault : 0;
}

}  // namespace mica::net
