// AF_UNIX sockets (private to net/unix/): stream, datagram and seqpacket, on the base of
// socket.h, with Linux's semantics (net/unix/af_unix.c is the reference for every error).
//
// State: each socket's receive queue (message_queue.h) holds what was sent to it; a
// connection is a pair of sockets pointing at each other. connect() on a stream or
// seqpacket socket makes the server's end at once (an "embryo", connected to the client)
// and queues it on the listener's backlog until accept() takes it, so a client can write
// before it is accepted, as on Linux. A backlog of N holds N + 1 connections (Linux's
// off-by-one); past that a non-blocking connect fails with EAGAIN and a blocking one waits
// for accept to make room (on one PollHead shared by all AF_UNIX listeners).
//
// Names: a filesystem name is a socket node (S_IFSOCK, made with mknod in the VFS; EADDRINUSE
// when the name exists; unlink removes it, the bound socket keeps working but cannot be
// found); connect and sendto look the path up and find the socket bound to that node. An
// abstract name starts with a NUL byte and lives only in the table of bound sockets.
//
// Locking: one mutex, unix_lock, guards every AF_UNIX socket's state, the list of all of
// them and the names; operations are short and never sleep holding it (the base class does
// the waiting). Order: VFS lock -> unix_lock -> PollHead spinlocks. Path lookups and mknod
// (which take the VFS lock) happen before unix_lock is taken. Sockets are destroyed under
// the VFS lock (socket.h), so the destructor drops in-flight descriptors directly, after
// releasing unix_lock (dropping one may destroy another socket).
#pragma once

#include <mica/net/message_queue.h>
#include <mica/net/socket.h>
#include <mica/net/unix.h>
#include <mica/sched/list.h>

namespace mica::net {

class UnixSocket final : public Socket {
public:
    explicit UnixSocket(int type, int protocol);
    ~UnixSocket() override;

    int64_t ioctl(unsigned long request, uint64_t arg) override;

    // unix_lock's (unix_socket.cc): membership of the list of all sockets and of a backlog.
    sched::ListNode all_link, backlog_link;

protected:
    int bind_address(const SocketAddress& address) override;
    int start_listening(int backlog) override;
    int try_accept(Socket** out, SocketAddress* peer) override;
    int start_connect(const SocketAddress& address) override;
    fs::PollHead* connect_retry_head() override;
    fs::PollHead* send_retry_head() override;
    int shutdown_socket(int how) override;
    int64_t try_send(Message& message) override;
    int64_t try_receive(Message& message) override;
    int name(SocketAddress* out, bool peer) override;
    uint32_t socket_poll() override;
    int get_family_option(int level, int name, void* value, uint32_t* length) override;
    int set_family_option(int level, int name, const void* value, uint32_t length) override;

private:
    friend int unix_create_pair(int type, int protocol, Socket** first, Socket** second);
    friend struct UnixState;
    enum class State { unconnected, listening, connected };

    bool connection_oriented() const { return type() != sock_dgram; }
    bool bound() const { return address_.length > sockaddr_family_size; }
    void connect_to(UnixSocket* other);  // both ways; unix_lock held
    int64_t send_stream(Message& message);
    int64_t send_datagram(Message& message);
    bool writable() const;  // unix_lock held

    State state_ = State::unconnected;
    UnixSocket* peer_ = nullptr;       // the connected peer, or a datagram socket's destination
    bool peer_closed_ = false;         // datagram: that destination went away
    bool shut_read_ = false, shut_write_ = false;  // Linux's RCV_SHUTDOWN / SEND_SHUTDOWN
    bool in_backlog_ = false;          // an embryo not accepted yet
    bool named_ = false;               // bound by bind(): found by connect and sendto (an
                                       // accepted socket shares its listener's name, unnamed)
    SocketAddress address_;            // bound name (family only: unbound)
    SocketAddress peer_address_;       // the peer's name when the connection was made
    fs::Vnode* path_node_ = nullptr;   // a filesystem name's socket node (referenced)
    Credentials peer_credentials_;     // SO_PEERCRED
    MessageQueue queue_;               // what was sent to this socket
    int backlog_limit_ = 0;
    size_t backlog_count_ = 0;
    sched::List<UnixSocket, &UnixSocket::backlog_link> backlog_;  // embryos, one reference each
};

}  // namespace mica::net
