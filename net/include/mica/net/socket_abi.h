// The Linux socket ABI as named constants and layouts (linux/socket.h, linux/net.h,
// asm-generic/socket.h, linux/un.h): x86_64 and arm64 share all of it. Applications are
// unmodified Linux binaries, so these are Linux's numbers.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::net {

// errno values of the socket calls (asm-generic/errno.h), returned negated.
inline constexpr int errno_again = 11, errno_fault = 14, errno_inval = 22, errno_notty = 25, errno_pipe = 32,
                     errno_dom = 33, errno_notsock = 88, errno_destaddrreq = 89, errno_msgsize = 90,
                     errno_prototype = 91, errno_noprotoopt = 92, errno_protonosupport = 93,
                     errno_socktnosupport = 94, errno_opnotsupp = 95, errno_afnosupport = 97,
                     errno_addrinuse = 98, errno_addrnotavail = 99, errno_connaborted = 103,
                     errno_connreset = 104, errno_nobufs = 105, errno_isconn = 106, errno_notconn = 107,
                     errno_shutdown = 108, errno_timedout = 110, errno_connrefused = 111,
                     errno_already = 114, errno_inprogress = 115, errno_acces = 13, errno_netunreach = 101,
                     errno_hostunreach = 113;

// Address families (the ones Mica knows by name).
inline constexpr int af_unspec = 0, af_unix = 1, af_inet = 2, af_inet6 = 10, af_netlink = 16, af_packet = 17;
inline constexpr int af_max = 46;

// Socket types; the flags socket(2) and accept4(2) take in the same word.
inline constexpr int sock_stream = 1, sock_dgram = 2, sock_raw = 3, sock_rdm = 4, sock_seqpacket = 5;
inline constexpr int sock_type_mask = 0xf;
inline constexpr int sock_nonblock = 04000, sock_cloexec = 02000000;  // O_NONBLOCK, O_CLOEXEC

// send/recv flags.
inline constexpr int msg_oob = 0x1, msg_peek = 0x2, msg_dontroute = 0x4, msg_ctrunc = 0x8, msg_trunc = 0x20,
                     msg_dontwait = 0x40, msg_eor = 0x80, msg_waitall = 0x100, msg_confirm = 0x800,
                     msg_errqueue = 0x2000, msg_nosignal = 0x4000, msg_more = 0x8000,
                     msg_waitforone = 0x10000, msg_cmsg_cloexec = 0x40000000;

// shutdown(2).
inline constexpr int shut_rd = 0, shut_wr = 1, shut_rdwr = 2;

// Option levels and the generic (SOL_SOCKET) options.
inline constexpr int sol_socket = 1;
inline constexpr int so_debug = 1, so_reuseaddr = 2, so_type = 3, so_error = 4, so_dontroute = 5,
                     so_broadcast = 6, so_sndbuf = 7, so_rcvbuf = 8, so_keepalive = 9, so_oobinline = 10,
                     so_no_check = 11, so_priority = 12, so_linger = 13, so_bsdcompat = 14, so_reuseport = 15,
                     so_passcred = 16, so_peercred = 17, so_rcvlowat = 18, so_sndlowat = 19,
                     so_rcvtimeo_old = 20, so_sndtimeo_old = 21, so_bindtodevice = 25, so_timestamp_old = 29,
                     so_acceptconn = 30, so_peersec = 31, so_sndbufforce = 32, so_rcvbufforce = 33,
                     so_passsec = 34, so_protocol = 38, so_domain = 39, so_incoming_cpu = 49,
                     so_rcvtimeo_new = 66, so_sndtimeo_new = 67;
inline constexpr int somaxconn = 4096;  // net.core.somaxconn: listen backlogs are capped here

// Control messages (SOL_SOCKET level).
inline constexpr int scm_rights = 1, scm_credentials = 2;
inline constexpr int scm_max_fd = 253;  // descriptors in one SCM_RIGHTS message

// struct msghdr, struct cmsghdr, struct mmsghdr (64-bit layouts).
struct MsgHdr {
    uint64_t name;
    uint32_t name_length;
    uint32_t pad0;
    uint64_t iov;
    uint64_t iov_count;
    uint64_t control;
    uint64_t control_length;
    int32_t flags;
    uint32_t pad1;
};
static_assert(sizeof(MsgHdr) == 56);
struct MMsgHdr {
    MsgHdr header;
    uint32_t length;
    uint32_t pad;
};
static_assert(sizeof(MMsgHdr) == 64);
struct CmsgHdr {
    uint64_t length;  // header included
    int32_t level;
    int32_t type;
};
static_assert(sizeof(CmsgHdr) == 16);
inline constexpr size_t cmsg_align(size_t n) { return (n + 7) & ~size_t{7}; }
inline constexpr size_t cmsg_space(size_t data) { return sizeof(CmsgHdr) + cmsg_align(data); }
inline constexpr size_t cmsg_length(size_t data) { return sizeof(CmsgHdr) + data; }

// struct ucred (SO_PEERCRED, SCM_CREDENTIALS), struct linger, struct timeval.
struct Credentials {
    int32_t pid;
    uint32_t uid, gid;
};
static_assert(sizeof(Credentials) == 12);
struct Linger {
    int32_t on;
    int32_t seconds;
};
struct Timeval {
    int64_t sec, usec;
};

// struct sockaddr_un: a family and up to 108 bytes of path.
inline constexpr size_t unix_path_max = 108;
inline constexpr size_t sockaddr_family_size = 2;  // sa_family_t

// A socket address as the application passes it (struct sockaddr_*), in kernel memory.
struct SocketAddress {
    static constexpr uint32_t capacity = 128;  // sizeof(struct sockaddr_storage)
    uint32_t length = 0;
    alignas(8) uint8_t bytes[capacity] = {};
    // sa_family, or -1 when the address is too short to hold one.
    int family() const { return length >= sockaddr_family_size ? bytes[0] | bytes[1] << 8 : -1; }
    void set_family(int family) {
        bytes[0] = static_cast<uint8_t>(family);
        bytes[1] = static_cast<uint8_t>(family >> 8);
    }
};

}  // namespace mica::net
