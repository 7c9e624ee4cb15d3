// AF_UNIX sockets: see unix_socket.h for the design.
#include "unix_socket.h"

#include <mica/fs/abi.h>
#include <mica/fs/file.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include <mica/mm/vm.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

namespace mica::net {
namespace {

constexpr uint32_t default_buffer = 212992;  // net.core.wmem_default and rmem_default
constexpr size_t max_dgram_queue = 10;       // net.unix.max_dgram_qlen
constexpr uint32_t message_overhead = 32;    // a datagram may be SO_SNDBUF - 32 bytes (Linux)
constexpr size_t max_stream_record = 64 * 1024;  // a stream send is queued in pieces of this
constexpr size_t sockaddr_un_size = sockaddr_family_size + unix_path_max;  // 110
constexpr unsigned long siocinq = 0x541b, siocoutq = 0x5411;  // FIONREAD, TIOCOUTQ
constexpr int autobind_digits = 5;           // "\0" and five hex digits, as Linux names them
constexpr uint32_t overflow_id = 65534;      // uid/gid reported when there is no peer

// Owned here, guarded by unix_lock (unix_socket.h).
sched::Mutex unix_lock;
sched::List<UnixSocket, &UnixSocket::all_link> all_sockets;
uint32_t next_autobind = 0;
// connect() waiting for room in some listener's backlog (notified by accept and release),
// and datagram senders waiting for room in some receiver's queue (notified by its reads).
fs::PollHead backlog_room;
fs::PollHead datagram_room;

using Guard = sched::LockGuard<sched::Mutex>;

Credentials own_credentials() { return Credentials{abi::current_pid(), 0, 0}; }

// A vnode reference dropped under the VFS lock.
struct NodeRef {
    fs::Vnode* node = nullptr;
    ~NodeRef() {
        if (!node) return;
        Guard guard(abi::vfs_mutex());
        node->unref();
    }
};

// An AF_UNIX address taken apart: a filesystem path (NUL-terminated copy) or an abstract
// name (bytes after the family, the leading NUL included).
struct UnixName {
    bool abstract = false;
    char path[unix_path_max + 1] = {};
    const uint8_t* bytes = nullptr;
    uint32_t length = 0;  // of the whole sockaddr as stored: family + name (+ NUL for paths)
};

// Linux's unix_validate_addr and unix_mkname_bsd.
int parse(const SocketAddress& address, UnixName* out) {
    if (address.length <= sockaddr_family_size || address.length > sockaddr_un_size) return -errno_inval;
    if (address.family() != af_unix) return -errno_inval;
    const uint8_t* name = address.bytes + sockaddr_family_size;
    size_t name_length = address.length - sockaddr_family_size;
    if (name[0] == 0) {
        out->abstract = true;
        out->bytes = address.bytes;
        out->length = address.length;
        return 0;
    }
    size_t n = strnlen(reinterpret_cast<const char*>(name), name_length);
    memcpy(out->path, name, n);
    out->path[n] = '\0';
    out->length = static_cast<uint32_t>(sockaddr_family_size + n + 1);
    return 0;
}

void store_path_address(SocketAddress* out, const char* path) {
    size_t n = strlen(path);
    out->set_family(af_unix);
    memcpy(out->bytes + sockaddr_family_size, path, n + 1);
    out->length = static_cast<uint32_t>(sockaddr_family_size + n + 1);
}

void release_files_locked(fs::OpenFile** files, int count) {
    for (int i = 0; i < count; ++i) files[i]->unref();  // the VFS lock is held (a destructor)
}

}  // namespace

// Looks up where a connect or sendto goes. Kept a struct so the VFS part runs before
// unix_lock is taken.
struct UnixState {
    // The socket `name` designates (unix_lock held; `node`: the path's vnode, looked up
    // before), or -errno: ECONNREFUSED when nothing is bound there.
    static int find(const UnixName& name, fs::Vnode* node, UnixSocket** out) {
        UnixSocket* found = all_sockets.find([&](UnixSocket& s) {
            if (!s.named_) return false;
            if (name.abstract) {
                return s.path_node_ == nullptr && s.address_.length == name.length &&
                       memcmp(s.address_.bytes, name.bytes, name.length) == 0;
            }
            return s.path_node_ == node;
        });
        if (!found) return -errno_connrefused;
        *out = found;
        return 0;
    }
    // The path's vnode for a filesystem name (before unix_lock): ENOENT, or ECONNREFUSED
    // for something that is not a socket node.
    static int resolve(const UnixName& name, NodeRef* node) {
        if (name.abstract) return 0;
        if (int r = abi::files_lookup(name.path, &node->node); r < 0) return r;
        if ((node->node->mode & fs::s_ifmt) != fs::s_ifsock) return -errno_connrefused;
        return 0;
    }
};

UnixSocket::UnixSocket(int type, int protocol)
    : Socket(af_unix, type, protocol, default_buffer, default_buffer), peer_credentials_{0, overflow_id, overflow_id} {
    address_.set_family(af_unix);
    address_.length = sockaddr_family_size;
    peer_address_ = address_;
}

UnixSocket::~UnixSocket() {
    MessageQueue::Record* dropped;
    sched::List<UnixSocket, &UnixSocket::backlog_link> embryos;
    UnixSocket* peer = nullptr;
    bool was_listening;
    {
        Guard guard(unix_lock);
        if (all_link.linked()) all_sockets.remove(*this);
        was_listening = state_ == State::listening;
        peer = peer_;
        if (peer && connection_oriented()) {
            // The other end can no longer read more than it has, nor write: EOF and EPIPE.
            // Unread data here (or an embryo nobody accepted) makes it a reset.
            peer->peer_ = nullptr;
            peer->shut_read_ = peer->shut_write_ = true;
            if (!queue_.empty() || in_backlog_) peer->set_error(errno_connreset);
            // Under unix_lock: the peer cannot be destroyed meanwhile.
            peer->notify(fs::poll_in | fs::poll_rdnorm | fs::poll_rdhup | fs::poll_hup | fs::poll_out);
        }
        // Datagram sockets that had this one as their destination find out on their next send.
        all_sockets.for_each([&](UnixSocket& s) {
            if (s.peer_ == this) {
                s.peer_ = nullptr;
                s.peer_closed_ = true;
            }
        });
        while (UnixSocket* embryo = backlog_.pop_front()) embryos.push_back(*embryo);
        backlog_count_ = 0;
        dropped = queue_.detach_all();
    }
    if (was_listening) backlog_room.notify(fs::poll_wake_connect);  // connectors blocked here: refused now
    // Outside unix_lock: each of these may destroy other sockets (this runs under the VFS lock).
    MessageQueue::free_records(dropped, release_files_locked);
    while (UnixSocket* embryo = embryos.pop_front()) embryo->unref();
    if (path_node_) path_node_->unref();
}

void UnixSocket::connect_to(UnixSocket* other) {
    peer_ = other;
    other->peer_ = this;
    peer_closed_ = other->peer_closed_ = false;
    peer_address_ = other->address_;
    other->peer_address_ = address_;
    peer_credentials_ = own_credentials();
    other->peer_credentials_ = own_credentials();
    if (connection_oriented()) state_ = other->state_ = State::connected;
}

// ---- names ---------------------------------------------------------------------------------

int UnixSocket::bind_address(const SocketAddress& address) {
    if (address.length == sockaddr_family_size && address.family() == af_unix) {
        // Autobind: an abstract name of five hex digits nobody has.
        Guard guard(unix_lock);
        if (bound()) return -errno_inval;
        for (uint32_t attempt = 0; attempt < 0x100000; ++attempt) {
            SocketAddress candidate;
            candidate.set_family(af_unix);
            candidate.bytes[sockaddr_family_size] = 0;
            uint32_t id = next_autobind++ & 0xfffff;
            for (int i = 0; i < autobind_digits; ++i) {
                candidate.bytes[sockaddr_family_size + 1 + i] = "0123456789abcdef"[(id >> (4 * (autobind_digits - 1 - i))) & 0xf];
            }
            candidate.length = sockaddr_family_size + 1 + autobind_digits;
            UnixName name;
            parse(candidate, &name);
            UnixSocket* taken;
            if (UnixState::find(name, nullptr, &taken) == 0) continue;
            address_ = candidate;
            named_ = true;
            return 0;
        }
        return -errno_addrinuse;
    }
    UnixName name;
    if (int r = parse(address, &name); r < 0) return r;
    if (name.abstract) {
        Guard guard(unix_lock);
        if (bound()) return -errno_inval;
        UnixSocket* taken;
        if (UnixState::find(name, nullptr, &taken) == 0) return -errno_addrinuse;
        memcpy(address_.bytes, name.bytes, name.length);
        address_.length = name.length;
        named_ = true;
        return 0;
    }
    // A socket node in the filesystem, made with the socket's mode (0777) less the umask.
    // (Checking for a bound socket only afterwards, as Linux does.)
    fs::Vnode* node;
    int r = abi::files_mknod(name.path, fs::s_ifsock | 0777, &node);
    if (r == -fs::errno_exist) return -errno_addrinuse;
    if (r < 0) return r;
    {
        Guard guard(unix_lock);
        if (!bound()) {
            path_node_ = node;
            store_path_address(&address_, name.path);
            named_ = true;
            return 0;
        }
    }
    // Bound already: as Linux, the name is made first (so a name in use says EADDRINUSE)
    // and removed again.
    {
        NodeRef drop{node};
    }
    abi::files_unlink(name.path);
    return -errno_inval;
}

int UnixSocket::name(SocketAddress* out, bool peer) {
    Guard guard(unix_lock);
    if (!peer) {
        *out = address_;
        return 0;
    }
    bool has_peer = connection_oriented() ? state_ == State::connected : peer_ != nullptr;
    if (!has_peer) return -errno_notconn;
    *out = peer_address_;
    return 0;
}

// ---- connections ---------------------------------------------------------------------------

int UnixSocket::start_listening(int backlog) {
    if (!connection_oriented()) return -errno_opnotsupp;
    bool grew;
    {
        Guard guard(unix_lock);
        if (!bound()) return -errno_inval;
        if (state_ == State::connected) return -errno_inval;
        grew = backlog > backlog_limit_;
        backlog_limit_ = backlog;
        state_ = State::listening;
    }
    if (grew) backlog_room.notify(fs::poll_wake_connect);
    return 0;
}

fs::PollHead* UnixSocket::connect_retry_head() { return &backlog_room; }
fs::PollHead* UnixSocket::send_retry_head() { return connection_oriented() ? nullptr : &datagram_room; }

int UnixSocket::start_connect(const SocketAddress& address) {
    if (!connection_oriented()) {
        // A datagram socket's connect sets (or with AF_UNSPEC clears) its destination.
        if (address.length >= sockaddr_family_size && address.family() == af_unspec) {
            Guard guard(unix_lock);
            peer_ = nullptr;
            peer_closed_ = false;
            return 0;
        }
        UnixName name;
        if (int r = parse(address, &name); r < 0) return r;
        NodeRef node;
        if (int r = UnixState::resolve(name, &node); r < 0) return r;
        Guard guard(unix_lock);
        UnixSocket* target;
        if (int r = UnixState::find(name, node.node, &target); r < 0) return r;
        if (target->type() != type()) return -errno_prototype;
        peer_ = target;
        peer_closed_ = false;
        peer_address_ = target->address_;
        return 0;
    }
    UnixName name;
    if (int r = parse(address, &name); r < 0) return r;
    {
        Guard guard(unix_lock);
        if (state_ == State::connected) return -errno_isconn;
        if (state_ == State::listening) return -errno_inval;
    }
    NodeRef node;
    if (int r = UnixState::resolve(name, &node); r < 0) return r;
    UnixSocket* listener;
    {
        Guard guard(unix_lock);
        if (state_ == State::connected) return -errno_isconn;
        if (int r = UnixState::find(name, node.node, &listener); r < 0) return r;
        if (listener->type() != type()) return -errno_prototype;
        if (listener->state_ != State::listening) return -errno_connrefused;
        if (listener->backlog_count_ > static_cast<size_t>(listener->backlog_limit_)) return -errno_again;
        // The server's end, connected now, waits in the backlog for accept().
        auto* embryo = fs::make_object<UnixSocket>(type(), protocol());
        if (!embryo) return -fs::errno_nomem;
        all_sockets.push_back(*embryo);
        embryo->address_ = listener->address_;
        connect_to(embryo);
        embryo->in_backlog_ = true;
        listener->backlog_.push_back(*embryo);
        ++listener->backlog_count_;
        listener->notify(fs::poll_in | fs::poll_rdnorm);
    }
    notify(fs::poll_out | fs::poll_wrnorm);
    return 0;
}

int UnixSocket::try_accept(Socket** out, SocketAddress* peer) {
    UnixSocket* embryo;
    {
        Guard guard(unix_lock);
        if (state_ != State::listening) return -errno_inval;
        embryo = backlog_.pop_front();
        // Linux: a listener that shut reading has nothing more to accept.
        if (!embryo) return shut_read_ ? -errno_inval : -errno_again;
        --backlog_count_;
        embryo->in_backlog_ = false;
        if (peer) *peer = embryo->peer_address_;
    }
    backlog_room.notify(fs::poll_wake_connect);
    *out = embryo;  // the backlog's reference goes to the caller
    return 0;
}

int UnixSocket::shutdown_socket(int how) {
    uint32_t events = fs::poll_in | fs::poll_rdnorm | fs::poll_rdhup | fs::poll_hup | fs::poll_out;
    Guard guard(unix_lock);
    bool read = how == shut_rd || how == shut_rdwr, write = how == shut_wr || how == shut_rdwr;
    shut_read_ |= read;
    shut_write_ |= write;
    if (UnixSocket* peer = connection_oriented() ? peer_ : nullptr) {
        // What this end will not read, the other cannot write; and the reverse.
        peer->shut_write_ |= read;
        peer->shut_read_ |= write;
        peer->notify(events);  // under unix_lock: the peer cannot be destroyed meanwhile
    }
    notify(events);
    return 0;
}

// ---- data ----------------------------------------------------------------------------------

bool UnixSocket::writable() const {
    if (state_ == State::listening) return false;
    if (!peer_) return true;
    if (connection_oriented()) return peer_->queue_.bytes() * 4 <= send_buffer();
    // A datagram socket waits for its destination's queue only when that one is not
    // connected back to it (Linux's rule).
    return peer_->peer_ == this || peer_->queue_.count() <= max_dgram_queue;
}

int64_t UnixSocket::try_send(Message& message) {
    if (message.flags & msg_oob) return -errno_opnotsupp;
    return connection_oriented() ? send_stream(message) : send_datagram(message);
}

int64_t UnixSocket::send_stream(Message& message) {
    bool stream = type() == sock_stream;
    UnixSocket* peer;
    int64_t n;
    {
        Guard guard(unix_lock);
        if (stream && message.address && message.address->length) {
            return state_ == State::connected ? -errno_isconn : -errno_opnotsupp;
        }
        if (state_ != State::connected) return -errno_notconn;
        if (shut_write_ || !peer_ || peer_->shut_read_) return -errno_pipe;
        peer = peer_;
        size_t length = message.data.remaining();
        size_t queued = peer->queue_.bytes(), limit = send_buffer();
        if (stream) {
            if (length == 0) return 0;
            if (queued >= limit) return -errno_again;
            if (length > limit - queued) length = limit - queued;
            if (length > max_stream_record) length = max_stream_record;
        } else {
            if (length > limit - message_overhead) return -errno_msgsize;
            if (queued > 0 && queued + length > limit) return -errno_again;
        }
        Ancillary extra = message.ancillary ? *message.ancillary : Ancillary{};
        extra.has_credentials = true;
        extra.credentials = own_credentials();
        n = peer->queue_.push(message.data, length, address_.bytes, bound() ? address_.length : 0, &extra);
        if (n >= 0 && message.ancillary) *message.ancillary = Ancillary{};  // the files went with the data
        if (n >= 0) peer->notify(fs::poll_in | fs::poll_rdnorm);
    }
    return n;
}

int64_t UnixSocket::send_datagram(Message& message) {
    UnixName name;
    NodeRef node;
    // Linux's unix_dgram_sendmsg: an address of length 0 is no address.
    const SocketAddress* to = message.address && message.address->length ? message.address : nullptr;
    if (to) {
        if (int r = parse(*to, &name); r < 0) return r;
    }
    size_t length = message.data.remaining();
    if (length > send_buffer() - message_overhead) return -errno_msgsize;
    if (to) {
        if (int r = UnixState::resolve(name, &node); r < 0) return r;
    }
    UnixSocket* target;
    int64_t n;
    {
        Guard guard(unix_lock);
        if (to) {
            if (int r = UnixState::find(name, node.node, &target); r < 0) return r;
        } else if (peer_) {
            target = peer_;
        } else if (peer_closed_) {
            peer_closed_ = false;  // reported once, then the socket is simply unconnected
            return -errno_connrefused;
        } else {
            return -errno_notconn;
        }
        if (target->type() != sock_dgram) return -errno_prototype;
        if (target->peer_ && target->peer_ != this) return -fs::errno_perm;  // it only hears its peer
        if (target->shut_read_) return -errno_pipe;
        if (target->peer_ != this && target->queue_.count() > max_dgram_queue) return -errno_again;
        if (!target->queue_.empty() && target->queue_.bytes() + length > send_buffer()) return -errno_again;
        Ancillary extra = message.ancillary ? *message.ancillary : Ancillary{};
        extra.has_credentials = true;
        extra.credentials = own_credentials();
        n = target->queue_.push(message.data, length, address_.bytes, bound() ? address_.length : 0, &extra);
        if (n >= 0 && message.ancillary) *message.ancillary = Ancillary{};
        if (n == 0 && length > 0) n = -errno_fault;
        if (n >= 0) target->notify(fs::poll_in | fs::poll_rdnorm);
    }
    return n;
}

int64_t UnixSocket::try_receive(Message& message) {
    if (message.flags & msg_oob) return -errno_opnotsupp;
    bool peek = message.flags & msg_peek;
    Ancillary local;
    Ancillary* ancillary = message.ancillary ? message.ancillary : &local;
    int64_t n;
    UnixSocket* writer = nullptr;
    bool dgram_room = false;
    {
        Guard guard(unix_lock);
        if (type() == sock_stream && state_ != State::connected) return -errno_inval;
        if (type() == sock_seqpacket && state_ != State::connected) {
            return state_ == State::listening ? -errno_inval : -errno_notconn;
        }
        if (queue_.empty()) {
            if (int error = take_error()) return -error;
            // Linux: a datagram socket that shut reading still says EAGAIN when not waiting.
            if (shut_read_ && (connection_oriented() || !message.nonblock)) return 0;
            return -errno_again;
        }
        if (message.address) {
            uint32_t length;
            const uint8_t* source = queue_.front_source(&length);
            message.address->length = length;
            if (length) memcpy(message.address->bytes, source, length);
        }
        bool was_full = queue_.count() > max_dgram_queue;
        if (type() == sock_stream) {
            if (message.data.remaining() == 0) return 0;
            n = queue_.read_stream(message.data, peek, ancillary);
        } else {
            size_t length;
            n = queue_.read_record(message.data, peek, &length, ancillary);
            if (n >= 0 && length > static_cast<size_t>(n)) {
                message.out_flags |= msg_trunc;
                if (message.flags & msg_trunc) n = static_cast<int64_t>(length);
            }
        }
        if (!pass_credentials()) ancillary->has_credentials = false;
        if (!peek && n >= 0) {
            writer = peer_;  // the connected writer, or a datagram socket's own destination
            dgram_room = !connection_oriented() && was_full && queue_.count() <= max_dgram_queue;
        }
        if (writer) writer->notify(fs::poll_out | fs::poll_wrnorm);
        if (dgram_room) {
            // Sockets connected here without being this one's peer poll writable again: they
            // are not known by name, so every socket hears it.
            all_sockets.for_each([](UnixSocket& s) { s.notify(fs::poll_out | fs::poll_wrnorm); });
        }
        if (!peek && n >= 0 && !connection_oriented()) datagram_room.notify(fs::poll_out);
    }
    if (local.file_count > 0) {
        // Descriptors nobody asked for are closed, as Linux closes them.
        abi::files_release(local.files, local.file_count);
        free(local.files);
    }
    return n;
}

// ---- readiness and options -----------------------------------------------------------------

uint32_t UnixSocket::socket_poll() {
    Guard guard(unix_lock);
    uint32_t events = 0;
    if (state_ == State::listening) return backlog_.empty() ? 0 : fs::poll_in | fs::poll_rdnorm;
    if (shut_read_ && shut_write_) events |= fs::poll_hup;
    if (shut_read_) events |= fs::poll_rdhup | fs::poll_in | fs::poll_rdnorm;
    if (!queue_.empty()) events |= fs::poll_in | fs::poll_rdnorm;
    if (connection_oriented() && state_ != State::connected) events |= fs::poll_hup;
    if (writable()) events |= fs::poll_out | fs::poll_wrnorm | fs::poll_wrband;
    return events;
}

int UnixSocket::get_family_option(int level, int name, void* value, uint32_t* length) {
    if (level != sol_socket) return -errno_opnotsupp;
    if (name != so_peercred) return -errno_noprotoopt;
    Credentials c;
    {
        Guard guard(unix_lock);
        c = peer_credentials_;
    }
    if (*length > sizeof(c)) *length = sizeof(c);
    memcpy(value, &c, *length);
    return 0;
}

int UnixSocket::set_family_option(int level, int, const void*, uint32_t) {
    return level == sol_socket ? -errno_noprotoopt : -errno_opnotsupp;
}

int64_t UnixSocket::ioctl(unsigned long request, uint64_t arg) {
    int32_t value;
    {
        Guard guard(unix_lock);
        switch (request) {
        case siocinq:
            if (state_ == State::listening) return -errno_inval;
            value = static_cast<int32_t>(type() == sock_dgram ? queue_.front_length() : queue_.bytes());
            break;
        case siocoutq: value = static_cast<int32_t>(peer_ && connection_oriented() ? peer_->queue_.bytes() : 0); break;
        default: return Socket::ioctl(request, arg);
        }
    }
    return mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &value, sizeof(value)) < 0 ? -errno_fault : 0;
}

// ---- creation ------------------------------------------------------------------------------

namespace {
// Linux: SOCK_RAW means SOCK_DGRAM for AF_UNIX; protocol 0 or PF_UNIX.
int check_type(int* type, int protocol) {
    if (protocol != 0 && protocol != af_unix) return -errno_protonosupport;
    if (*type == sock_raw) *type = sock_dgram;
    if (*type != sock_stream && *type != sock_dgram && *type != sock_seqpacket) return -errno_socktnosupport;
    return 0;
}
}  // namespace

int unix_create(int type, int protocol, Socket** out) {
    if (int r = check_type(&type, protocol); r < 0) return r;
    auto* s = fs::make_object<UnixSocket>(type, protocol);
    if (!s) return -fs::errno_nomem;
    {
        Guard guard(unix_lock);
        all_sockets.push_back(*s);
    }
    *out = s;
    return 0;
}

int unix_create_pair(int type, int protocol, Socket** first, Socket** second) {
    if (int r = check_type(&type, protocol); r < 0) return r;
    auto* a = fs::make_object<UnixSocket>(type, protocol);
    auto* b = a ? fs::make_object<UnixSocket>(type, protocol) : nullptr;
    if (!b) {
        if (a) {
        sched::LockGuard<sched::Mutex> guard(abi::vfs_mutex());
        a->unref();
    }
        return -fs::errno_nomem;
    }
    {
        Guard guard(unix_lock);
        all_sockets.push_back(*a);
        all_sockets.push_back(*b);
        a->connect_to(b);
    }
    *first = a;
    *second = b;
    return 0;
}

}  // namespace mica::net
