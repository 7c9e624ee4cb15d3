// The family-independent half of every socket (socket.h): blocking and timeouts, the
// send/receive loops, the generic SOL_SOCKET options, SO_ERROR, and the family registry.
#include <mica/clock.h>
#include <mica/config.h>
#include <mica/fs/abi.h>
#include <mica/fs/poll_wait.h>
#include <mica/net/socket.h>
#include <mica/net/unix.h>
#if CONFIG_NET
#include <mica/net/inet.h>
#endif
#include <string.h>

namespace mica::net {
namespace {

constexpr uint64_t ns_per_s = 1000000000, ns_per_us = 1000;
// A timeout that means "do not wait" (SO_RCVTIMEO with a negative time, as Linux).
constexpr uint64_t timeout_immediate = ~uint64_t{0};
// Linux's limits on SO_RCVBUF/SO_SNDBUF (net.core.rmem_max/wmem_max defaults) and minima.
constexpr uint32_t buffer_max = 212992, receive_buffer_min = 2304, send_buffer_min = 4608;
constexpr int max_priority = 6;  // TC_PRIO_INTERACTIVE: the highest without CAP_NET_ADMIN

// Sockets are vnodes of this filesystem, which is never mounted (Linux's sockfs).
class SocketFs final : public fs::FileSystem {
public:
    SocketFs() : FileSystem(nullptr) {}
    fs::Vnode* root() override { return nullptr; }
};
SocketFs socket_fs;  // owns nothing: socket vnodes point at it

// The families, explicitly (no registration by static constructors).
const Family families[] = {
    {af_unix, unix_create, unix_create_pair},
#if CONFIG_NET
    {af_inet, inet_create, nullptr},
#endif
};

int read_int(const void* value, uint32_t length, int* out) {
    if (length < sizeof(int)) return -errno_inval;
    memcpy(out, value, sizeof(int));
    return 0;
}

int write_value(void* value, uint32_t* length, const void* source, uint32_t size) {
    if (static_cast<int32_t>(*length) < 0) return -errno_inval;
    if (*length > size) *length = size;
    memcpy(value, source, *length);
    return 0;
}

int write_int(void* value, uint32_t* length, int v) { return write_value(value, length, &v, sizeof(v)); }

}  // namespace

fs::FileSystem& Socket::filesystem() { return socket_fs; }

const Family* find_family(int domain) {
    for (const Family& f : families) {
        if (f.domain == domain) return &f;
    }
    return nullptr;
}

Socket::Socket(int family, int type, int protocol, uint32_t receive_buffer, uint32_t send_buffer)
    : Vnode(&socket_fs, fs::s_ifsock | 0777), family_(family), type_(type), protocol_(protocol),
      receive_buffer_(receive_buffer), send_buffer_(send_buffer) {}

// ---- defaults for what a family does not do --------------------------------------------------

int Socket::bind_address(const SocketAddress&) { return -errno_opnotsupp; }
int Socket::start_listening(int) { return -errno_opnotsupp; }
int Socket::try_accept(Socket**, SocketAddress*) { return -errno_opnotsupp; }
int Socket::start_connect(const SocketAddress&) { return -errno_opnotsupp; }
int Socket::connect_result() { return 0; }
int Socket::shutdown_socket(int) { return -errno_opnotsupp; }
int Socket::name(SocketAddress*, bool) { return -errno_opnotsupp; }
int Socket::get_family_option(int, int, void*, uint32_t*) { return -errno_noprotoopt; }
int Socket::set_family_option(int, int, const void*, uint32_t) { return -errno_noprotoopt; }
int64_t Socket::ioctl(unsigned long request, uint64_t arg) {
#if CONFIG_NET
    return interface_ioctl(request, arg, family_);  // SIOCGIFCONF & co, on any socket as Linux
#else
    (void)request;
    (void)arg;
    return -errno_notty;
#endif
}

// ---- state ---------------------------------------------------------------------------------

void Socket::set_error(int error, bool wake) {
    __atomic_store_n(&error_, error, __ATOMIC_RELEASE);
    if (wake) notify(fs::poll_err);
}

uint32_t Socket::poll_events() { return socket_poll() | (pending_error() ? fs::poll_err : 0); }

uint64_t Socket::deadline(bool sending, bool nonblock) const {
    if (nonblock) return 0;
    uint64_t timeout = __atomic_load_n(sending ? &send_timeout_ : &receive_timeout_, __ATOMIC_RELAXED);
    if (timeout == 0) return fs::no_deadline;
    if (timeout == timeout_immediate) return 0;
    return fs::deadline_after(timeout > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(timeout));
}

// ---- the calls -----------------------------------------------------------------------------

int Socket::bind(const SocketAddress& address) { return bind_address(address); }

int Socket::listen(int backlog) {
    // Linux caps the backlog at net.core.somaxconn (and takes a negative one as that too).
    if (backlog < 0 || backlog > somaxconn) backlog = somaxconn;
    int result = start_listening(backlog);
    if (result == 0) __atomic_store_n(&listening_, true, __ATOMIC_RELEASE);
    return result;
}

int Socket::accept(Socket** out, SocketAddress* peer, bool nonblock) {
    if (type_ != sock_stream && type_ != sock_seqpacket) return -errno_opnotsupp;
    if (!listening()) return -errno_inval;
    return static_cast<int>(wait_for(&head_, fs::poll_in, deadline(false, nonblock),
                                     [&]() -> int64_t { return try_accept(out, peer); }));
}

int Socket::connect(const SocketAddress& address, bool nonblock) {
    uint64_t until = deadline(true, nonblock);
    int result = static_cast<int>(wait_for(connect_retry_head(), fs::poll_wake_connect | fs::poll_out, until,
                                           [&]() -> int64_t { return start_connect(address); }));
    if (result != -errno_inprogress) return result;
    if (nonblock) return result;
    // Under way: wait for the family's POLLOUT (or POLLERR) and ask how it ended. A timeout
    // leaves it under way: -EINPROGRESS, as Linux says.
    result = static_cast<int>(wait_for(&head_, fs::poll_out, until, [&]() -> int64_t {
        int r = connect_result();
        return r == -errno_inprogress ? -errno_again : r;
    }));
    return result == -errno_again ? -errno_inprogress : result;
}

int Socket::shutdown(int how) {
    if (how != shut_rd && how != shut_wr && how != shut_rdwr) return -errno_inval;
    return shutdown_socket(how);
}

int64_t Socket::transfer(Message& message, bool nonblock, bool sending) {
    nonblock = nonblock || (message.flags & msg_dontwait);
    message.nonblock = nonblock;
    uint64_t until = deadline(sending, nonblock);
    bool stream = type_ == sock_stream;
    // A stream send goes on until everything is sent; a stream receive with MSG_WAITALL
    // until the buffer is full (MSG_PEEK: one look). Datagrams: one attempt.
    bool keep_going = stream && (sending || ((message.flags & msg_waitall) && !(message.flags & msg_peek)));
    uint32_t events = sending ? fs::poll_out | fs::poll_wrnorm : fs::poll_in | fs::poll_rdnorm | fs::poll_rdhup;
    fs::PollSleeper sleeper;
    fs::SleeperWaiter waiter(&sleeper, events | fs::poll_always), elsewhere(&sleeper, fs::poll_out);
    int64_t done = 0;
    for (;;) {
        int64_t n = sending ? try_send(message) : try_receive(message);
        if (n > 0) {
            done += n;
            if (keep_going && message.data.remaining() > 0) continue;
            return done;
        }
        if (n == 0) return done;  // end of stream, or nothing (left) to send
        if (n != -errno_again) return done > 0 ? done : n;
        if (until == 0) return done > 0 ? done : n;
        if (!waiter.head()) {
            head_.add(&waiter);
            if (fs::PollHead* other = sending ? send_retry_head() : nullptr) other->add(&elsewhere);
            continue;  // try again now that no notification can be missed
        }
        if (!sleeper.sleep_until(until)) {
            if (sched::interrupted()) return done > 0 ? done : -fs::errno_restart;
            until = 0;  // timed out: one last attempt, then what we have
        }
    }
}

int64_t Socket::send(Message& message, bool nonblock) { return transfer(message, nonblock, true); }
int64_t Socket::receive(Message& message, bool nonblock) { return transfer(message, nonblock, false); }

int64_t Socket::read_stream(fs::IoVector& data, bool nonblock) {
    Message message(data);
    return receive(message, nonblock);
}

int64_t Socket::write_stream(fs::IoVector& data, bool nonblock) {
    Message message(data);
    return send(message, nonblock);
}

// ---- options -------------------------------------------------------------------------------

void Socket::inherit_options(const Socket& l) {
    reuse_address_ = l.reuse_address_;
    reuse_port_ = l.reuse_port_;
    keepalive_ = l.keepalive_;
    broadcast_ = l.broadcast_;
    pass_credentials_ = l.pass_credentials_;
    dont_route_ = l.dont_route_;
    oob_inline_ = l.oob_inline_;
    linger_ = l.linger_;
    receive_buffer_ = l.receive_buffer_;
    send_buffer_ = l.send_buffer_;
    priority_ = l.priority_;
    receive_low_water_ = l.receive_low_water_;
    receive_timeout_ = l.receive_timeout_;
    send_timeout_ = l.send_timeout_;
}

int Socket::set_option(int level, int name, const void* value, uint32_t length) {
    if (level == sol_socket) {
        int result = set_generic_option(name, value, length);
        if (result != -errno_noprotoopt) {
            if (result == 0) option_changed(name);
            return result;
        }
    }
    return set_family_option(level, name, value, length);
}

int Socket::get_option(int level, int name, void* value, uint32_t* length) {
    if (static_cast<int32_t>(*length) < 0) return -errno_inval;
    if (level == sol_socket) {
        int result = get_generic_option(name, value, length);
        if (result != -errno_noprotoopt) return result;
    }
    return get_family_option(level, name, value, length);
}

int Socket::set_generic_option(int name, const void* value, uint32_t length) {
    int v = 0;
    bool* flag = nullptr;
    switch (name) {
    case so_reuseaddr: flag = &reuse_address_; break;
    case so_reuseport: flag = &reuse_port_; break;
    case so_keepalive: flag = &keepalive_; break;
    case so_broadcast: flag = &broadcast_; break;
    case so_passcred: flag = &pass_credentials_; break;
    case so_dontroute: flag = &dont_route_; break;
    case so_oobinline: flag = &oob_inline_; break;
    default: break;
    }
    if (flag) {
        if (int r = read_int(value, length, &v); r < 0) return r;
        __atomic_store_n(flag, v != 0, __ATOMIC_RELAXED);
        return 0;
    }
    switch (name) {
    case so_sndbuf:
    case so_rcvbuf:
    case so_sndbufforce:
    case so_rcvbufforce: {
        if (int r = read_int(value, length, &v); r < 0) return r;
        // Linux: the value is taken as unsigned, capped (except the FORCE forms), doubled
        // for bookkeeping overhead, and never below a minimum.
        uint64_t size = static_cast<uint32_t>(v);
        if ((name == so_sndbuf || name == so_rcvbuf) && size > buffer_max) size = buffer_max;
        if (size > INT32_MAX / 2) size = INT32_MAX / 2;
        bool send = name == so_sndbuf || name == so_sndbufforce;
        uint32_t minimum = send ? send_buffer_min : receive_buffer_min;
        uint32_t doubled = static_cast<uint32_t>(size * 2) < minimum ? minimum : static_cast<uint32_t>(size * 2);
        __atomic_store_n(send ? &send_buffer_ : &receive_buffer_, doubled, __ATOMIC_RELAXED);
        return 0;
    }
    case so_linger: {
        if (length < sizeof(Linger)) return -errno_inval;
        Linger l;
        memcpy(&l, value, sizeof(l));
        // Turning lingering off keeps the time that was set, as Linux reports it.
        linger_.on = l.on ? 1 : 0;
        if (l.on) linger_.seconds = l.seconds < 0 ? 0 : l.seconds;
        return 0;
    }
    case so_rcvtimeo_old:
    case so_rcvtimeo_new:
    case so_sndtimeo_old:
    case so_sndtimeo_new: {
        if (length < sizeof(Timeval)) return -errno_inval;
        Timeval tv;
        memcpy(&tv, value, sizeof(tv));
        if (tv.usec < 0 || tv.usec >= 1000000) return -errno_dom;
        uint64_t ns;
        if (tv.sec < 0) ns = timeout_immediate;
        else if (tv.sec == 0 && tv.usec == 0) ns = 0;
        else if (static_cast<uint64_t>(tv.sec) > (timeout_immediate - 1) / ns_per_s - 1) ns = 0;  // effectively never
        else ns = static_cast<uint64_t>(tv.sec) * ns_per_s + static_cast<uint64_t>(tv.usec) * ns_per_us;
        bool receive = name == so_rcvtimeo_old || name == so_rcvtimeo_new;
        __atomic_store_n(receive ? &receive_timeout_ : &send_timeout_, ns, __ATOMIC_RELAXED);
        return 0;
    }
    case so_priority:
        if (int r = read_int(value, length, &v); r < 0) return r;
        if (v < 0 || v > max_priority) return -fs::errno_perm;
        priority_ = v;
        return 0;
    case so_rcvlowat:
        if (int r = read_int(value, length, &v); r < 0) return r;
        receive_low_water_ = v < 0 ? INT32_MAX : (v == 0 ? 1 : v);
        return 0;
    case so_type:
    case so_protocol:
    case so_domain:
    case so_error:
    case so_acceptconn:
    case so_peercred: return -errno_noprotoopt;
    default: return -errno_noprotoopt;  // the family's (SO_BINDTODEVICE, SO_TIMESTAMP...)
    }
}

int Socket::get_generic_option(int name, void* value, uint32_t* length) {
    switch (name) {
    case so_type: return write_int(value, length, type_);
    case so_domain: return write_int(value, length, family_);
    case so_protocol: return write_int(value, length, protocol_);
    case so_error: return write_int(value, length, take_error());
    case so_acceptconn: return write_int(value, length, listening() ? 1 : 0);
    case so_reuseaddr: return write_int(value, length, reuse_address_);
    case so_reuseport: return write_int(value, length, reuse_port_);
    case so_keepalive: return write_int(value, length, keepalive_);
    case so_broadcast: return write_int(value, length, broadcast_);
    case so_passcred: return write_int(value, length, pass_credentials_);
    case so_dontroute: return write_int(value, length, dont_route_);
    case so_oobinline: return write_int(value, length, oob_inline_);
    case so_sndbuf: return write_int(value, length, static_cast<int>(send_buffer()));
    case so_rcvbuf: return write_int(value, length, static_cast<int>(receive_buffer()));
    case so_priority: return write_int(value, length, priority_);
    case so_rcvlowat: return write_int(value, length, receive_low_water_);
    case so_sndlowat: return write_int(value, length, 1);
    case so_linger: return write_value(value, length, &linger_, sizeof(linger_));
    case so_rcvtimeo_old:
    case so_rcvtimeo_new:
    case so_sndtimeo_old:
    case so_sndtimeo_new: {
        bool receive = name == so_rcvtimeo_old || name == so_rcvtimeo_new;
        uint64_t ns = __atomic_load_n(receive ? &receive_timeout_ : &send_timeout_, __ATOMIC_RELAXED);
        Timeval tv{0, 0};
        if (ns != 0 && ns != timeout_immediate) {
            tv.sec = static_cast<int64_t>(ns / ns_per_s);
            tv.usec = static_cast<int64_t>(ns % ns_per_s / ns_per_us);
        }
        return write_value(value, length, &tv, sizeof(tv));
    }
    default: return -errno_noprotoopt;
    }
}

}  // namespace mica::net
