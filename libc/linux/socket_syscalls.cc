// The socket system calls (sockets.def) on net::Socket (net/include/mica/net/socket.h): this
// file turns descriptors into sockets and application memory into Messages, addresses and
// control messages (SCM_RIGHTS descriptors become open files and back); the socket and its
// family do the rest. read, write, readv, writev, sendfile, close, fstat and fcntl reach
// sockets through the generic file calls (a socket is a stream vnode).
//
// A send that fails with EPIPE also raises SIGPIPE unless MSG_NOSIGNAL is given (write()
// on a socket always does, in file_syscalls.cc). ioctl passes SIOCINQ/SIOCOUTQ (and later AF_INET's interface
// queries) to the socket.
#include <mica/clock.h>
#include <mica/fs/poll_wait.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/net/socket.h>
#include <stdlib.h>
#include <string.h>
#include "files_impl.h"

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;
using fs::OpenFile;
using net::Socket;
using net::SocketAddress;

namespace {

// SIGPIPE goes with EPIPE on stream sockets only (as Linux: not for datagrams).
int64_t sigpipe_unless(int64_t result, int flags, const Socket* socket) {
    constexpr int msg_nosignal = 0x4000, sock_stream = 1;
    return (flags & msg_nosignal) || socket->type() != sock_stream ? result : abi::sigpipe_on_epipe(result);
}

constexpr int sock_max = 11;                   // Linux's SOCK_MAX: larger types are EINVAL
constexpr size_t max_option_length = 256;      // kernel copy of an option value
constexpr size_t max_control_length = 64 * 1024;  // kernel copy of a msghdr's control data
constexpr int max_mmsg = uio_maxiov;           // sendmmsg/recvmmsg handle at most this many

// The socket behind a descriptor, with a reference to its open file.
class SocketRef {
public:
    explicit SocketRef(int fd) : file_(fd) {}
    // 0, -EBADF or -ENOTSOCK.
    int error() const {
        if (!file_) return -fs::errno_badf;
        return Socket::is_socket(file_->vnode()) ? 0 : -net::errno_notsock;
    }
    Socket* operator->() const { return static_cast<Socket*>(file_->vnode()); }
    Socket* get() const { return static_cast<Socket*>(file_->vnode()); }
    bool nonblock() const { return file_->flags() & fs::o_nonblock; }

private:
    FileRef file_;
};

int read_address(uint64_t app, int64_t length, SocketAddress* out) {
    if (length < 0 || length > SocketAddress::capacity) return -fs::errno_inval;
    out->length = static_cast<uint32_t>(length);
    if (length > 0 && mm::vm::copy_from_app(out->bytes, reinterpret_cast<const void*>(app), out->length) < 0) {
        return -errno_fault;
    }
    return 0;
}

// Writes an address back as Linux's move_addr_to_user: at most the caller's length of it,
// then the real length.
int write_address(const SocketAddress& address, uint64_t app, uint64_t app_length) {
    if (!app_length) return 0;
    int32_t room;
    if (mm::vm::copy_from_app(&room, reinterpret_cast<const void*>(app_length), sizeof(room)) < 0) return -errno_fault;
    if (room < 0) return -fs::errno_inval;
    uint32_t n = address.length < static_cast<uint32_t>(room) ? address.length : static_cast<uint32_t>(room);
    if (n > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(app), address.bytes, n) < 0) return -errno_fault;
    int32_t real = static_cast<int32_t>(address.length);
    return mm::vm::copy_to_app(reinterpret_cast<void*>(app_length), &real, sizeof(real)) < 0 ? -errno_fault : 0;
}

void release(net::Ancillary& ancillary) {
    if (ancillary.file_count > 0) files_release(ancillary.files, ancillary.file_count);
    free(ancillary.files);
    ancillary = net::Ancillary{};
}

int check_flags(int flags) { return flags & ~(net::sock_nonblock | net::sock_cloexec) ? -fs::errno_inval : 0; }

int64_t install_socket(Socket* socket, int flags) {
    return install_node(socket, fs::o_rdwr | (flags & net::sock_nonblock), (flags & net::sock_cloexec) != 0);
}

// ---- control messages ----------------------------------------------------------------------

// Parses a sendmsg control buffer (kernel copy): SCM_RIGHTS descriptors become open files
// (references in `out`), SCM_CREDENTIALS is checked for shape; other levels are the
// family's and skipped.
int parse_control(const uint8_t* control, size_t length, net::Ancillary* out) {
    size_t at = 0;
    while (length - at >= sizeof(net::CmsgHdr)) {
        net::CmsgHdr header;
        memcpy(&header, control + at, sizeof(header));
        if (header.length < sizeof(header) || header.length > length - at) return -fs::errno_inval;
        size_t data_length = header.length - sizeof(header);
        const uint8_t* data = control + at + sizeof(header);
        if (header.level == net::sol_socket) {
            if (header.type == net::scm_rights) {
                size_t count = data_length / sizeof(int32_t);
                if (count + static_cast<size_t>(out->file_count) > net::scm_max_fd) return -fs::errno_inval;
                if (count > 0) {
                    auto* grown = static_cast<OpenFile**>(
                        realloc(out->files, (static_cast<size_t>(out->file_count) + count) * sizeof(OpenFile*)));
                    if (!grown) return -fs::errno_nomem;
                    out->files = grown;
                    Guard guard(vfs_lock);
                    for (size_t i = 0; i < count; ++i) {
                        int32_t fd;
                        memcpy(&fd, data + i * sizeof(fd), sizeof(fd));
                        OpenFile* file = descriptors().get(fd);
                        if (!file) return -fs::errno_badf;
                        file->ref();
                        out->files[out->file_count++] = file;
                    }
                }
            } else if (header.type == net::scm_credentials) {
                if (data_length != sizeof(net::Credentials)) return -fs::errno_inval;
            } else {
                return -fs::errno_inval;
            }
        }
        at += net::cmsg_align(header.length);
        if (at > length) break;
    }
    return 0;
}

// Writes what a recvmsg brought besides data into the application's control buffer:
// credentials, then descriptors installed in the table (as many as fit; the rest closed and
// MSG_CTRUNC set). The bytes of control data used, or -EFAULT.
int64_t write_control(uint64_t app, size_t room, net::Ancillary& ancillary, bool cloexec, int* msg_flags) {
    size_t used = 0;
    auto put = [&](int type, const void* data, size_t length) -> int {
        net::CmsgHdr header{net::cmsg_length(length), net::sol_socket, type};
        uint8_t* where = reinterpret_cast<uint8_t*>(app) + used;
        if (mm::vm::copy_to_app(where, &header, sizeof(header)) < 0 ||
            mm::vm::copy_to_app(where + sizeof(header), data, length) < 0) {
            return -static_cast<int>(errno_fault);
        }
        size_t space = net::cmsg_space(length);
        used += space < room - used ? space : room - used;
        return 0;
    };
    if (ancillary.has_credentials) {
        if (room - used < net::cmsg_length(sizeof(net::Credentials))) {
            *msg_flags |= net::msg_ctrunc;
        } else if (int r = put(net::scm_credentials, &ancillary.credentials, sizeof(net::Credentials)); r < 0) {
            return r;
        }
    }
    if (ancillary.file_count > 0) {
        size_t fit = room - used > sizeof(net::CmsgHdr) ? (room - used - sizeof(net::CmsgHdr)) / sizeof(int32_t) : 0;
        int count = ancillary.file_count < static_cast<int>(fit) ? ancillary.file_count : static_cast<int>(fit);
        int32_t fds[net::scm_max_fd];
        int installed = 0;
        {
            Guard guard(vfs_lock);
            for (; installed < count; ++installed) {
                int fd = descriptors().install(ancillary.files[installed], cloexec);
                if (fd < 0) break;
                fds[installed] = fd;
            }
        }
        if (installed < ancillary.file_count) *msg_flags |= net::msg_ctrunc;
        if (installed > 0) {
            if (int r = put(net::scm_rights, fds, static_cast<size_t>(installed) * sizeof(int32_t)); r < 0) {
                Guard guard(vfs_lock);
                for (int i = 0; i < installed; ++i) descriptors().close(fds[i]);
                release(ancillary);
                return r;
            }
        }
    }
    release(ancillary);  // our references: the table holds its own for what was installed
    return static_cast<int64_t>(used);
}

// ---- sendmsg / recvmsg ---------------------------------------------------------------------

int64_t do_sendmsg(Socket* socket, bool nonblock, const net::MsgHdr& header, int flags) {
    if (static_cast<int32_t>(header.name_length) < 0) return -fs::errno_inval;
    if (header.iov_count > static_cast<uint64_t>(uio_maxiov)) return -net::errno_msgsize;
    if (header.control_length > INT32_MAX) return -net::errno_nobufs;
    SocketAddress address;
    bool has_address = header.name && header.name_length;
    if (has_address) {
        if (int r = read_address(header.name, header.name_length, &address); r < 0) return r;
    }
    fs::IoSegment* iov;
    if (int r = read_iovecs(header.iov, header.iov_count, &iov); r < 0) return r;
    net::Ancillary ancillary;
    int64_t result = 0;
    if (header.control_length > 0) {
        size_t length = header.control_length < max_control_length ? header.control_length : max_control_length;
        auto* control = static_cast<uint8_t*>(malloc(length));
        if (!control) {
            result = -fs::errno_nomem;
        } else if (mm::vm::copy_from_app(control, reinterpret_cast<const void*>(header.control), length) < 0) {
            result = -errno_fault;
        } else {
            result = parse_control(control, length, &ancillary);
        }
        free(control);
    }
    if (result == 0) {
        fs::IoVector data(iov, header.iov_count, true);
        net::Message message(data);
        message.flags = flags;
        message.address = has_address ? &address : nullptr;
        message.ancillary = ancillary.file_count > 0 || ancillary.has_credentials ? &ancillary : nullptr;
        result = socket->send(message, nonblock);
    }
    release(ancillary);  // what the socket did not take
    free(iov);
    return result;
}

int64_t do_recvmsg(Socket* socket, bool nonblock, uint64_t app_header, net::MsgHdr& header, int flags) {
    if (static_cast<int32_t>(header.name_length) < 0) return -fs::errno_inval;
    if (header.iov_count > static_cast<uint64_t>(uio_maxiov)) return -net::errno_msgsize;
    fs::IoSegment* iov;
    if (int r = read_iovecs(header.iov, header.iov_count, &iov); r < 0) return r;
    fs::IoVector data(iov, header.iov_count, true);
    net::Message message(data);
    SocketAddress address;
    net::Ancillary ancillary;
    message.flags = flags & ~net::msg_cmsg_cloexec;
    message.address = header.name ? &address : nullptr;
    message.ancillary = &ancillary;
    int64_t result = socket->receive(message, nonblock);
    free(iov);
    if (result < 0) {
        release(ancillary);
        return result;
    }
    // As Linux: msg_flags echoes MSG_CMSG_CLOEXEC, then what the receive reports.
    int msg_flags = message.out_flags | (flags & net::msg_cmsg_cloexec);
    size_t control_used = 0;
    if (header.control && header.control_length > 0) {
        int64_t used = write_control(header.control, header.control_length, ancillary,
                                     (flags & net::msg_cmsg_cloexec) != 0, &msg_flags);
        if (used < 0) return used;
        control_used = static_cast<size_t>(used);
    } else {
        if (ancillary.file_count > 0 || ancillary.has_credentials) {
            if (ancillary.file_count > 0) msg_flags |= net::msg_ctrunc;
        }
        release(ancillary);
    }
    // msg_namelen, msg_controllen and msg_flags go back to the application's msghdr.
    uint32_t name_length = 0;
    if (header.name) {
        name_length = address.length;
        uint32_t n = name_length < header.name_length ? name_length : header.name_length;
        if (n > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(header.name), address.bytes, n) < 0) return -errno_fault;
    }
    header.name_length = name_length;
    header.control_length = control_used;
    header.flags = msg_flags;
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(app_header), &header, sizeof(header)) < 0) return -errno_fault;
    return result;
}

int64_t do_accept(int fd, uint64_t app_address, uint64_t app_length, int flags) {
    if (int r = check_flags(flags); r < 0) return r;
    SocketRef socket(fd);
    if (int r = socket.error(); r < 0) return r;
    Socket* accepted;
    SocketAddress peer;
    if (int r = socket->accept(&accepted, &peer, socket.nonblock()); r < 0) return r;
    int64_t new_fd = install_socket(accepted, flags);
    if (new_fd < 0 || !app_address) return new_fd;
    if (int r = write_address(peer, app_address, app_length); r < 0) {
        Guard guard(vfs_lock);
        descriptors().close(static_cast<int>(new_fd));
        return r;
    }
    return new_fd;
}

int64_t do_name(int fd, uint64_t app_address, uint64_t app_length, bool peer) {
    SocketRef socket(fd);
    if (int r = socket.error(); r < 0) return r;
    int32_t room;
    if (mm::vm::copy_from_app(&room, reinterpret_cast<const void*>(app_length), sizeof(room)) < 0) return -errno_fault;
    if (room < 0) return -fs::errno_inval;
    SocketAddress address;
    int r = peer ? socket->peer_name(&address) : socket->local_name(&address);
    if (r < 0) return r;
    return write_address(address, app_address, app_length);
}

}  // namespace

int64_t sys_socket(const uint64_t* args) {
    auto domain = static_cast<int>(args[0]);
    auto type = static_cast<int>(args[1]);
    auto protocol = static_cast<int>(args[2]);
    int flags = type & ~net::sock_type_mask;
    type &= net::sock_type_mask;
    if (int r = check_flags(flags); r < 0) return r;
    if (domain < 0 || domain >= net::af_max) return -net::errno_afnosupport;
    if (type >= sock_max) return -fs::errno_inval;
    const net::Family* family = net::find_family(domain);
    if (!family) return -net::errno_afnosupport;
    Socket* socket;
    if (int r = family->create(type, protocol, &socket); r < 0) return r;
    return install_socket(socket, flags);
}

int64_t sys_socketpair(const uint64_t* args) {
    auto domain = static_cast<int>(args[0]);
    auto type = static_cast<int>(args[1]);
    auto protocol = static_cast<int>(args[2]);
    int flags = type & ~net::sock_type_mask;
    type &= net::sock_type_mask;
    if (int r = check_flags(flags); r < 0) return r;
    if (domain < 0 || domain >= net::af_max) return -net::errno_afnosupport;
    if (type >= sock_max) return -fs::errno_inval;
    const net::Family* family = net::find_family(domain);
    if (!family) return -net::errno_afnosupport;
    if (!family->create_pair) return -net::errno_opnotsupp;
    Socket *first, *second;
    if (int r = family->create_pair(type, protocol, &first, &second); r < 0) return r;
    int32_t fds[2];
    fds[0] = static_cast<int32_t>(install_socket(first, flags));
    if (fds[0] < 0) {
        Guard guard(vfs_lock);
        second->unref();
        return fds[0];
    }
    fds[1] = static_cast<int32_t>(install_socket(second, flags));
    if (fds[1] < 0 || mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), fds, sizeof(fds)) < 0) {
        Guard guard(vfs_lock);
        descriptors().close(fds[0]);
        if (fds[1] >= 0) descriptors().close(fds[1]);
        return fds[1] < 0 ? fds[1] : -errno_fault;
    }
    return 0;
}

int64_t sys_bind(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    SocketAddress address;
    if (int r = read_address(args[1], static_cast<int32_t>(args[2]), &address); r < 0) return r;
    return socket->bind(address);
}

int64_t sys_listen(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    return socket->listen(static_cast<int>(args[1]));
}

int64_t sys_accept(const uint64_t* args) { return do_accept(static_cast<int>(args[0]), args[1], args[2], 0); }
int64_t sys_accept4(const uint64_t* args) {
    return do_accept(static_cast<int>(args[0]), args[1], args[2], static_cast<int>(args[3]));
}

int64_t sys_connect(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    SocketAddress address;
    if (int r = read_address(args[1], static_cast<int32_t>(args[2]), &address); r < 0) return r;
    return socket->connect(address, socket.nonblock());
}

int64_t sys_shutdown(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    return socket->shutdown(static_cast<int>(args[1]));
}

int64_t sys_getsockname(const uint64_t* args) { return do_name(static_cast<int>(args[0]), args[1], args[2], false); }
int64_t sys_getpeername(const uint64_t* args) { return do_name(static_cast<int>(args[0]), args[1], args[2], true); }

int64_t sys_sendto(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    size_t length = args[2] < INT32_MAX ? static_cast<size_t>(args[2]) : INT32_MAX;
    // An address pointer with length 0 is still an address (Linux's sendto: UDP says EINVAL,
    // AF_UNIX takes it as none), unlike sendmsg's msg_name.
    SocketAddress address;
    bool has_address = args[4] != 0;
    if (has_address) {
        if (int r = read_address(args[4], static_cast<int32_t>(args[5]), &address); r < 0) return r;
    }
    fs::IoVector data(reinterpret_cast<void*>(args[1]), length, true);
    net::Message message(data);
    message.flags = static_cast<int>(args[3]);
    message.address = has_address ? &address : nullptr;
    return sigpipe_unless(socket->send(message, socket.nonblock()), message.flags, socket.get());
}

int64_t sys_recvfrom(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    size_t length = args[2] < INT32_MAX ? static_cast<size_t>(args[2]) : INT32_MAX;
    fs::IoVector data(reinterpret_cast<void*>(args[1]), length, true);
    net::Message message(data);
    SocketAddress address;
    net::Ancillary ancillary;
    message.flags = static_cast<int>(args[3]);
    message.address = args[4] ? &address : nullptr;
    message.ancillary = &ancillary;
    int64_t result = socket->receive(message, socket.nonblock());
    release(ancillary);  // descriptors sent to a recv without a control buffer are closed
    if (result >= 0 && args[4]) {
        if (int r = write_address(address, args[4], args[5]); r < 0) return r;
    }
    return result;
}

int64_t sys_sendmsg(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    net::MsgHdr header;
    if (mm::vm::copy_from_app(&header, reinterpret_cast<const void*>(args[1]), sizeof(header)) < 0) return -errno_fault;
    return sigpipe_unless(do_sendmsg(socket.get(), socket.nonblock(), header, static_cast<int>(args[2])),
                          static_cast<int>(args[2]), socket.get());
}

int64_t sys_recvmsg(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    net::MsgHdr header;
    if (mm::vm::copy_from_app(&header, reinterpret_cast<const void*>(args[1]), sizeof(header)) < 0) return -errno_fault;
    return do_recvmsg(socket.get(), socket.nonblock(), args[1], header, static_cast<int>(args[2]));
}

int64_t sys_sendmmsg(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    uint64_t count = args[2] < static_cast<uint64_t>(max_mmsg) ? args[2] : max_mmsg;
    auto* vector = reinterpret_cast<net::MMsgHdr*>(args[1]);
    uint64_t sent = 0;
    int64_t error = 0;
    for (; sent < count; ++sent) {
        net::MMsgHdr entry;
        if (mm::vm::copy_from_app(&entry, vector + sent, sizeof(entry)) < 0) {
            error = -errno_fault;
            break;
        }
        int64_t n = do_sendmsg(socket.get(), socket.nonblock(), entry.header, static_cast<int>(args[3]));
        if (n < 0) {
            error = n;
            break;
        }
        uint32_t length = static_cast<uint32_t>(n);
        if (mm::vm::copy_to_app(&vector[sent].length, &length, sizeof(length)) < 0) {
            error = -errno_fault;
            break;
        }
    }
    return sent > 0 ? static_cast<int64_t>(sent) : error;
}

int64_t sys_recvmmsg(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    int flags = static_cast<int>(args[3]);
    // The timeout is checked between messages, as Linux does (not during a blocking receive).
    int64_t timeout_ns = -1;
    if (args[4]) {
        struct {
            int64_t sec, nsec;
        } ts;
        if (mm::vm::copy_from_app(&ts, reinterpret_cast<const void*>(args[4]), sizeof(ts)) < 0) return -errno_fault;
        if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000) return -fs::errno_inval;
        timeout_ns = ts.sec > INT64_MAX / 1000000000 - 1 ? INT64_MAX : ts.sec * 1000000000 + ts.nsec;
    }
    uint64_t deadline = fs::deadline_after(timeout_ns);
    uint64_t count = args[2] < static_cast<uint64_t>(max_mmsg) ? args[2] : max_mmsg;
    auto* vector = reinterpret_cast<net::MMsgHdr*>(args[1]);
    uint64_t received = 0;
    int64_t error = 0;
    for (; received < count; ++received) {
        net::MMsgHdr entry;
        if (mm::vm::copy_from_app(&entry, vector + received, sizeof(entry)) < 0) {
            error = -errno_fault;
            break;
        }
        int64_t n = do_recvmsg(socket.get(), socket.nonblock(), reinterpret_cast<uint64_t>(&vector[received].header),
                               entry.header, flags);
        if (n < 0) {
            error = n;
            break;
        }
        uint32_t length = static_cast<uint32_t>(n);
        if (mm::vm::copy_to_app(&vector[received].length, &length, sizeof(length)) < 0) {
            error = -errno_fault;
            break;
        }
        if (flags & net::msg_waitforone) flags |= net::msg_dontwait;
        if (args[4] && clock::monotonic_ns() >= deadline) {
            ++received;
            break;
        }
    }
    return received > 0 ? static_cast<int64_t>(received) : error;
}

int64_t sys_getsockopt(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    int32_t length;
    if (mm::vm::copy_from_app(&length, reinterpret_cast<const void*>(args[4]), sizeof(length)) < 0) return -errno_fault;
    if (length < 0) return -fs::errno_inval;
    uint8_t value[max_option_length] = {};
    uint32_t n = static_cast<uint32_t>(length) < max_option_length ? static_cast<uint32_t>(length) : max_option_length;
    if (int r = socket->get_option(static_cast<int>(args[1]), static_cast<int>(args[2]), value, &n); r < 0) return r;
    if (n > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), value, n) < 0) return -errno_fault;
    int32_t written = static_cast<int32_t>(n);
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[4]), &written, sizeof(written)) < 0 ? -errno_fault : 0;
}

int64_t sys_setsockopt(const uint64_t* args) {
    SocketRef socket(static_cast<int>(args[0]));
    if (int r = socket.error(); r < 0) return r;
    auto length = static_cast<int32_t>(args[4]);
    if (length < 0) return -fs::errno_inval;
    uint8_t value[max_option_length] = {};
    uint32_t n = static_cast<uint32_t>(length) < max_option_length ? static_cast<uint32_t>(length) : max_option_length;
    if (n > 0 && mm::vm::copy_from_app(value, reinterpret_cast<const void*>(args[3]), n) < 0) return -errno_fault;
    return socket->set_option(static_cast<int>(args[1]), static_cast<int>(args[2]), value, n);
}

namespace mica::abi {
bool write_raises_sigpipe(fs::Vnode* node) {
    constexpr int sock_stream = 1;
    return !Socket::is_socket(node) || static_cast<const Socket*>(node)->type() == sock_stream;
}
}  // namespace mica::abi
