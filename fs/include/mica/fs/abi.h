// The Linux file ABI the VFS speaks: errno values, open flags, file types, stat and
// getdents64 layouts. Applications are unmodified Linux binaries, so these are Linux's numbers,
// spelled as named constants (the kernel has no <sys/stat.h>, and the host tests must not pick
// up the host's). The few values that differ between architectures are selected here, once;
// nothing else in fs/ tests __x86_64__ or __aarch64__.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::fs {

// errno values (asm-generic/errno-base.h and errno.h; x86_64 and aarch64 share them). Functions
// return them negated.
inline constexpr int errno_perm = 1, errno_noent = 2, errno_io = 5, errno_nxio = 6, errno_badf = 9,
                     errno_nomem = 12, errno_acces = 13, errno_busy = 16, errno_exist = 17,
                     errno_xdev = 18, errno_nodev = 19, errno_notdir = 20, errno_isdir = 21,
                     errno_inval = 22, errno_nfile = 23, errno_mfile = 24, errno_fbig = 27,
                     errno_nospc = 28, errno_spipe = 29, errno_rofs = 30, errno_mlink = 31,
                     errno_range = 34, errno_nametoolong = 36, errno_nosys = 38,
                     errno_notempty = 39, errno_loop = 40, errno_overflow = 75,
                     errno_opnotsupp = 95;
// A blocking call interrupted by a signal (Linux's ERESTARTSYS, never seen by applications):
// restarted after a handler with SA_RESTART, else -EINTR (mica/linux/signal.h).
inline constexpr int64_t errno_restart = 512;

// File type and permission bits of st_mode (linux/stat.h).
inline constexpr uint32_t s_ifmt = 0170000, s_ifsock = 0140000, s_iflnk = 0120000,
                          s_ifreg = 0100000, s_ifblk = 0060000, s_ifdir = 0040000,
                          s_ifchr = 0020000, s_ififo = 0010000;
inline constexpr uint32_t s_isuid = 04000, s_isgid = 02000, s_isvtx = 01000;
inline constexpr uint32_t permission_bits = 07777;  // everything but the type
inline constexpr bool is_dir(uint32_t mode) { return (mode & s_ifmt) == s_ifdir; }
inline constexpr bool is_reg(uint32_t mode) { return (mode & s_ifmt) == s_ifreg; }
inline constexpr bool is_lnk(uint32_t mode) { return (mode & s_ifmt) == s_iflnk; }
inline constexpr bool is_chr(uint32_t mode) { return (mode & s_ifmt) == s_ifchr; }
inline constexpr bool is_blk(uint32_t mode) { return (mode & s_ifmt) == s_ifblk; }

// d_type of getdents64 (the file type bits shifted down, as Linux's fs_umode_to_dtype).
inline constexpr uint8_t dt_unknown = 0, dt_fifo = 1, dt_chr = 2, dt_dir = 4, dt_blk = 6,
                         dt_reg = 8, dt_lnk = 10, dt_sock = 12;
inline constexpr uint8_t dtype_of(uint32_t mode) { return static_cast<uint8_t>((mode & s_ifmt) >> 12); }

// open() flags. Most come from asm-generic/fcntl.h, which x86_64 uses unchanged; arm64
// overrides four of them in arch/arm64/include/uapi/asm/fcntl.h.
inline constexpr int o_accmode = 03, o_rdonly = 0, o_wronly = 01, o_rdwr = 02;
inline constexpr int o_creat = 0100, o_excl = 0200, o_noctty = 0400, o_trunc = 01000,
                     o_append = 02000, o_nonblock = 04000, o_dsync = 010000, o_async = 020000,
                     o_noatime = 01000000, o_cloexec = 02000000, o_sync = 04010000,
                     o_path = 010000000;
#if defined(__aarch64__)
inline constexpr int o_directory = 040000, o_nofollow = 0100000, o_direct = 0200000,
                     o_largefile = 0400000;
#elif defined(__x86_64__)
inline constexpr int o_directory = 0200000, o_nofollow = 0400000, o_direct = 040000,
                     o_largefile = 0100000;
#else
#error "unsupported architecture: add its open() flags here"
#endif

// *at() arguments (linux/fcntl.h).
inline constexpr int at_fdcwd = -100, at_symlink_nofollow = 0x100, at_removedir = 0x200,
                     at_symlink_follow = 0x400, at_empty_path = 0x1000;

// statfs(2)'s f_type (linux/magic.h) of the filesystems Mica has, and of the objects that
// live on Linux's internal ones (pipes, sockets, eventfd/epoll/timerfd).
inline constexpr uint64_t tmpfs_magic = 0x01021994, proc_super_magic = 0x9fa0, pipefs_magic = 0x50495045,
                          sockfs_magic = 0x534f434b, anon_inode_fs_magic = 0x09041934;

// lseek whence.
inline constexpr int seek_set = 0, seek_cur = 1, seek_end = 2;

// Limits (linux/limits.h): a component of at most 255 bytes, a path of at most 4096 bytes
// counting the NUL, and at most 40 symbolic links followed in one lookup.
inline constexpr size_t name_max = 255, path_max = 4096;
inline constexpr int max_symlinks = 40;

// struct stat of x86_64 (arch/x86/include/uapi/asm/stat.h): st_nlink comes before st_mode and
// is 64 bits wide; 144 bytes. Field names avoid st_atime etc., which libc defines as macros.
struct StatX86_64 {
    uint64_t st_dev;
    uint64_t st_ino;
    uint64_t st_nlink;
    uint32_t st_mode;
    uint32_t st_uid;
    uint32_t st_gid;
    uint32_t pad0;
    uint64_t st_rdev;
    int64_t st_size;
    int64_t st_blksize;
    int64_t st_blocks;
    uint64_t st_atime_sec, st_atime_nsec;
    uint64_t st_mtime_sec, st_mtime_nsec;
    uint64_t st_ctime_sec, st_ctime_nsec;
    int64_t unused[3];
};
static_assert(sizeof(StatX86_64) == 144);
static_assert(offsetof(StatX86_64, st_nlink) == 16 && offsetof(StatX86_64, st_mode) == 24);
static_assert(offsetof(StatX86_64, st_uid) == 28 && offsetof(StatX86_64, st_rdev) == 40);
static_assert(offsetof(StatX86_64, st_size) == 48 && offsetof(StatX86_64, st_blocks) == 64);
static_assert(offsetof(StatX86_64, st_atime_sec) == 72 && offsetof(StatX86_64, st_mtime_sec) == 88);
static_assert(offsetof(StatX86_64, st_ctime_sec) == 104 && offsetof(StatX86_64, st_ctime_nsec) == 112);

// struct stat of asm-generic/stat.h, which aarch64 uses: st_mode before a 32-bit st_nlink,
// padding after st_rdev and st_blksize; 128 bytes.
struct StatGeneric {
    uint64_t st_dev;
    uint64_t st_ino;
    uint32_t st_mode;
    uint32_t st_nlink;
    uint32_t st_uid;
    uint32_t st_gid;
    uint64_t st_rdev;
    uint64_t pad1;
    int64_t st_size;
    int32_t st_blksize;
    int32_t pad2;
    int64_t st_blocks;
    int64_t st_atime_sec;
    uint64_t st_atime_nsec;
    int64_t st_mtime_sec;
    uint64_t st_mtime_nsec;
    int64_t st_ctime_sec;
    uint64_t st_ctime_nsec;
    uint32_t unused4, unused5;
};
static_assert(sizeof(StatGeneric) == 128);
static_assert(offsetof(StatGeneric, st_mode) == 16 && offsetof(StatGeneric, st_nlink) == 20);
static_assert(offsetof(StatGeneric, st_uid) == 24 && offsetof(StatGeneric, st_rdev) == 32);
static_assert(offsetof(StatGeneric, st_size) == 48 && offsetof(StatGeneric, st_blksize) == 56);
static_assert(offsetof(StatGeneric, st_blocks) == 64 && offsetof(StatGeneric, st_atime_sec) == 72);
static_assert(offsetof(StatGeneric, st_mtime_sec) == 88 && offsetof(StatGeneric, st_ctime_nsec) == 112);

#if defined(__aarch64__)
using LinuxStat = StatGeneric;
#else
using LinuxStat = StatX86_64;
#endif

// One record of getdents64 (linux/dirent.h): a 19-byte header and the NUL-terminated name,
// the record padded to 8 bytes.
struct LinuxDirent64 {
    uint64_t d_ino;
    int64_t d_off;  // the cookie that continues after this entry
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[1];  // really d_reclen - 19 bytes
};
inline constexpr size_t dirent64_header = 19;
static_assert(offsetof(LinuxDirent64, d_reclen) == 16 && offsetof(LinuxDirent64, d_name) == dirent64_header);

}  // namespace mica::fs
