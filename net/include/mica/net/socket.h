// net::Socket: a socket is a vnode (type S_IFSOCK, on an unmounted "sockfs") with one
// implementation per address family: AF_UNIX in net/unix/, AF_INET over lwIP's raw API in
// net/inet/. The system calls (libc/linux/socket_syscalls.cc) turn descriptors into sockets
// and application memory into Messages; this base class holds what every family shares, so
// a family implements only non-blocking attempts and its own state.
//
// The contract for a family (what to override, what the base does):
//
//   * Every operation a family implements is ONE NON-BLOCKING ATTEMPT: it does what it can
//     now and returns -EAGAIN when it would have to wait. The base blocks: it adds a waiter
//     to the socket's PollHead (poll_head(), owned by the base), tries again after every
//     notification, and gives up with the socket's timeout (SO_RCVTIMEO / SO_SNDTIMEO), or
//     at once for O_NONBLOCK / SOCK_NONBLOCK / MSG_DONTWAIT. So a family never sleeps in
//     try_send, try_receive, try_accept or start_connect.
//   * Readiness is the family's: poll_events() returns the events true now (POLLIN, POLLOUT,
//     POLLHUP, POLLRDHUP, POLLERR...), and whenever any of them may have changed the family
//     calls notify(events that changed) - from any thread or callback (lwIP's, a timer's),
//     with any of its own locks held except those its poll_events() takes: notify() only
//     takes spinlocks and wakes threads. The same notification wakes blocked calls of this
//     socket, poll/select and epoll.
//   * Errors that happen asynchronously (a refused non-blocking connect, a reset) are
//     recorded with set_error(); SO_ERROR reads and clears the pending error, and the base
//     reports POLLERR while one is pending. take_error() consumes it for a call that should
//     return it (the next recv after a reset).
//   * Connecting: start_connect() returns 0 (connected at once), -EINPROGRESS (under way:
//     the family notifies POLLOUT, or POLLERR after set_error, when it completes, and
//     connect_result() says how it ended), -EAGAIN (cannot start yet: the base waits for a
//     notification on connect_retry_head() and calls start_connect again - AF_UNIX's full
//     backlog), or -errno. A second connect while one is under way is the family's
//     -EALREADY; on a connected socket -EISCONN.
//   * Data: try_send/try_receive move what they can through Message::data (fs::IoVector over
//     application or kernel memory: a bad address is -EFAULT, or a short count after some
//     bytes). For SOCK_STREAM the base repeats sends until everything is sent (blocking
//     sockets) and receives until MSG_WAITALL is satisfied; datagram and seqpacket sockets
//     get exactly one attempt per message (a family returns -EAGAIN rather than send part of
//     one). try_receive returns 0 for end of stream; for datagrams it sets msg_trunc in
//     Message::out_flags when a message was cut, and returns the real length when the
//     caller passed MSG_TRUNC. MSG_PEEK must leave the data where it is.
//   * Options: SOL_SOCKET options the base knows are stored here (accessors below) and the
//     family hears of a change through option_changed(); anything else goes to the family's
//     get_option/set_option (-ENOPROTOOPT when it does not know it either).
//   * No SIGPIPE exists yet: sending on a socket whose peer or own write side is shut gets
//     -EPIPE, with or without MSG_NOSIGNAL.
//   * Lifetime: the vnode is destroyed when the last open file (and any kernel reference)
//     lets go of it, under the VFS lock like every vnode; the family's destructor is the
//     socket's release (close). It must not block for long: AF_INET hands lingering to lwIP.
//
// Locking: the base keeps only atomics and the PollHead's spinlock; each family locks its
// own state. Nothing here takes the VFS lock.
#pragma once

#include <mica/fs/io.h>
#include <mica/fs/poll.h>
#include <mica/fs/vnode.h>
#include <mica/net/ancillary.h>
#include <mica/net/socket_abi.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::net {

// One send or receive.
struct Message {
    explicit Message(fs::IoVector& data) : data(data) {}
    fs::IoVector& data;
    // send: the destination (nullptr: the connected peer). receive: filled with the source
    // when not null (length 0: unnamed, or the family has none to give).
    SocketAddress* address = nullptr;
    // send: rights and credentials to pass (nullptr: none). receive: where they go (nullptr:
    // the caller takes none; a family then keeps them with the data or drops them).
    Ancillary* ancillary = nullptr;
    int flags = 0;      // MSG_* from the caller
    int out_flags = 0;  // receive: MSG_TRUNC, MSG_EOR... for msghdr.msg_flags
    bool nonblock = false;  // set by the base: the call will not wait (for families whose
                            // answer differs, like Linux's datagram receive after SHUT_RD)
};

class Socket : public fs::Vnode {
public:
    ~Socket() override = default;

    int family() const { return family_; }
    int type() const { return type_; }
    int protocol() const { return protocol_; }

    // ---- the system calls' entry points (blocking, timeouts, generic options) ----------------
    // `nonblock`: O_NONBLOCK of the open file (MSG_DONTWAIT comes in Message::flags).
    int bind(const SocketAddress& address);
    int listen(int backlog);
    // A new connected socket (a reference for the caller) and its peer's address.
    int accept(Socket** out, SocketAddress* peer, bool nonblock);
    int connect(const SocketAddress& address, bool nonblock);
    int shutdown(int how);
    int64_t send(Message& message, bool nonblock);
    int64_t receive(Message& message, bool nonblock);
    // Option values are kernel buffers; *length is in/out for get.
    int get_option(int level, int name, void* value, uint32_t* length);
    int set_option(int level, int name, const void* value, uint32_t length);
    int local_name(SocketAddress* out) { return name(out, false); }
    int peer_name(SocketAddress* out) { return name(out, true); }
    // Socket ioctls beyond the generic ones (FIONBIO, FIOCLEX): SIOCINQ, SIOCOUTQ, and
    // AF_INET's interface queries; `arg` is an application address. -ENOTTY by default.
    virtual int64_t ioctl(unsigned long request, uint64_t arg);

    // ---- for families: state the base keeps ---------------------------------------------------
    // Records an asynchronous error (errno, positive) and wakes waiters for POLLERR (unless
    // `wake` is false: the caller changes more readiness first and then wakes them, so none
    // sees half of the change).
    void set_error(int error, bool wake = true);
    // The pending error (positive; 0: none), cleared.
    int take_error() { return __atomic_exchange_n(&error_, 0, __ATOMIC_ACQ_REL); }
    int pending_error() const { return __atomic_load_n(&error_, __ATOMIC_ACQUIRE); }
    // Wakes blocked calls, pollers and epoll items of this socket.
    void notify(uint32_t events) { head_.notify(events); }
    bool listening() const { return __atomic_load_n(&listening_, __ATOMIC_ACQUIRE); }

    // Generic SOL_SOCKET options as set (Linux's doubling of buffer sizes applied).
    bool reuse_address() const { return reuse_address_; }
    bool reuse_port() const { return reuse_port_; }
    bool keepalive() const { return keepalive_; }
    bool broadcast() const { return broadcast_; }
    bool pass_credentials() const { return pass_credentials_; }
    Linger linger() const { return linger_; }
    uint32_t receive_buffer() const { return receive_buffer_; }
    uint32_t send_buffer() const { return send_buffer_; }

    // Vnode: sockets are streams; read/write are receive/send without flags or address.
    bool is_stream() const override { return true; }
    bool seekable() const override { return false; }
    fs::PollHead* poll_head() override { return &head_; }
    uint32_t poll_events() override;
    int64_t read_stream(fs::IoVector& data, bool nonblock) override;
    int64_t write_stream(fs::IoVector& data, bool nonblock) override;

    // The filesystem every socket vnode belongs to (never mounted).
    static fs::FileSystem& filesystem();
    static bool is_socket(const fs::Vnode* node) { return node->fs == &filesystem(); }

protected:
    // `receive_buffer`/`send_buffer`: the family's defaults for SO_RCVBUF/SO_SNDBUF.
    Socket(int family, int type, int protocol, uint32_t receive_buffer, uint32_t send_buffer);

    // ---- what a family implements (see the contract above) ------------------------------------
    virtual int bind_address(const SocketAddress& address);           // -EOPNOTSUPP
    virtual int start_listening(int backlog);                         // -EOPNOTSUPP
    virtual int try_accept(Socket** out, SocketAddress* peer);        // -EOPNOTSUPP
    virtual int start_connect(const SocketAddress& address);          // -EOPNOTSUPP
    virtual int connect_result();                                     // 0
    virtual fs::PollHead* connect_retry_head() { return &head_; }
    // Where else a blocked send hears that it may go on (besides this socket's own head):
    // AF_UNIX datagram senders wait for room in a receiver that does not know them.
    virtual fs::PollHead* send_retry_head() { return nullptr; }
    virtual int shutdown_socket(int how);                             // -EOPNOTSUPP
    virtual int64_t try_send(Message& message) = 0;
    virtual int64_t try_receive(Message& message) = 0;
    virtual int name(SocketAddress* out, bool peer);                  // -EOPNOTSUPP
    // The events true now, without POLLERR for a pending error (the base adds it).
    virtual uint32_t socket_poll() = 0;
    // Options the base does not handle (any level): -ENOPROTOOPT.
    virtual int get_family_option(int level, int name, void* value, uint32_t* length);
    virtual int set_family_option(int level, int name, const void* value, uint32_t length);
    // A generic SOL_SOCKET option was set (SO_RCVBUF, SO_KEEPALIVE...).
    virtual void option_changed(int name) {}

    // Copies the generic options (SOL_SOCKET: reuse, keepalive, linger, buffers, timeouts...)
    // of `listener` to a connection it accepted, as Linux clones them.
    void inherit_options(const Socket& listener);
    // A listener stopped listening (Linux's shutdown(SHUT_RD) of a listener).
    void clear_listening() { __atomic_store_n(&listening_, false, __ATOMIC_RELEASE); }

    // Runs `attempt` until it returns something other than -EAGAIN, sleeping between tries
    // until `head` notifies one of `events` or `deadline` (monotonic ns; fs::no_deadline)
    // passes: then -EAGAIN. For families with waits of their own.
    template <typename Attempt>
    int64_t wait_for(fs::PollHead* head, uint32_t events, uint64_t deadline, Attempt attempt);

private:
    int64_t transfer(Message& message, bool nonblock, bool sending);
    uint64_t deadline(bool sending, bool nonblock) const;
    int set_generic_option(int name, const void* value, uint32_t length);
    int get_generic_option(int name, void* value, uint32_t* length);

    fs::PollHead head_;
    const int family_, type_, protocol_;
    int error_ = 0;  // pending SO_ERROR (atomic)
    bool listening_ = false;
    // Generic options: written by setsockopt, read anywhere (single words).
    bool reuse_address_ = false, reuse_port_ = false, keepalive_ = false, broadcast_ = false,
         pass_credentials_ = false, dont_route_ = false, oob_inline_ = false;
    Linger linger_{};
    uint32_t receive_buffer_, send_buffer_;
    int32_t priority_ = 0, receive_low_water_ = 1;
    // SO_RCVTIMEO / SO_SNDTIMEO in ns: 0 means wait for ever, as a zero timeval does.
    uint64_t receive_timeout_ = 0, send_timeout_ = 0;
};

// ---- the family registry -----------------------------------------------------------------------
// A family creates sockets of its types; families are listed in socket.cc (explicit, no
// static constructors): AF_UNIX always, AF_INET with networking.
struct Family {
    int domain;
    // A new socket (one reference) in *out: 0, -EPROTONOSUPPORT, -ESOCKTNOSUPPORT, -ENOMEM.
    int (*create)(int type, int protocol, Socket** out);
    // A connected pair, or -EOPNOTSUPP where the family has none.
    int (*create_pair)(int type, int protocol, Socket** first, Socket** second);
};
const Family* find_family(int domain);

}  // namespace mica::net

#include <mica/net/socket_wait.h>
