// File attributes (files.def): statfs/fstatfs, the chmod and chown families, extended
// attributes, utimensat and the older utimes calls (x86_64's futimesat, utimes, utime) on the
// file state of files.cc (files_impl.h).
//
// Extended attributes: Mica stores none. On the tmpfs-like filesystems (ramfs, devfs) a read
// of a name in a namespace tmpfs supports (user., trusted., security., system.posix_acl_*)
// finds nothing (-ENODATA), a list is empty, and a write is refused with -EOPNOTSUPP, the
// answer of a filesystem that cannot store them; other namespaces are -EOPNOTSUPP, and so is
// everything on procfs, pipes and sockets, as on Linux. Arguments are checked as Linux checks
// them (name length -ERANGE, value size -E2BIG, flags -EINVAL, pointers -EFAULT).
#include <mica/linux/files.h>
#include <mica/linux/syscall.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>
#include <mica/net/socket.h>
#include <stdlib.h>
#include <string.h>
#include "files_impl.h"

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;
using fs::OpenFile;
using fs::Vnode;

namespace {
constexpr int64_t e_2big = 7, e_nodata = 61;

// A reference to the vnode of a descriptor that is not O_PATH (Linux's fdget: fchmod,
// fchown, fgetxattr... refuse O_PATH descriptors with EBADF), or -EBADF. Lock held.
int descriptor_node(int fd, Vnode** out) {
    OpenFile* file = descriptors().get(fd);
    if (!file || (file->flags() & fs::o_path)) return -fs::errno_badf;
    file->vnode()->ref();
    *out = file->vnode();
    return 0;
}

uint64_t magic_of(const Vnode* node) {
    if (node->fs && node->fs->type && node->fs->type->magic) return node->fs->type->magic;
    if (is_pipe(node)) return fs::pipefs_magic;
    if (net::Socket::is_socket(node)) return fs::sockfs_magic;
    return fs::anon_inode_fs_magic;  // eventfd, epoll, timerfd
}
bool is_procfs(const Vnode* node) { return magic_of(node) == fs::proc_super_magic; }
bool is_tmpfs(const Vnode* node) { return magic_of(node) == fs::tmpfs_magic; }

// ---- statfs -------------------------------------------------------------------------------
// struct statfs of both architectures (64-bit words throughout), 120 bytes.
struct LinuxStatfs {
    int64_t type, bsize;
    uint64_t blocks, bfree, bavail, files, ffree;
    int32_t fsid[2];
    int64_t namelen, frsize, flags, spare[4];
};
static_assert(sizeof(LinuxStatfs) == 120);

// What Linux reports for each filesystem. Mount flags say what Mica's filesystems are like:
// no atime updates on reads (ST_NOATIME), no set-user-ID execution (ST_NOSUID), device
// nodes that cannot be opened outside devfs (ST_NODEV), nothing executable in /proc.
void fill_statfs(const Vnode& node, LinuxStatfs* out) {
    constexpr int64_t st_rdonly = 1, st_nosuid = 2, st_nodev = 4, st_noexec = 8, st_valid = 0x20, st_noatime = 0x400;
    constexpr int64_t page_bytes = 4096;
    memset(out, 0, sizeof *out);
    uint64_t magic = magic_of(&node);
    out->type = static_cast<int64_t>(magic);
    out->bsize = out->frsize = page_bytes;
    out->namelen = fs::name_max;
    uint64_t dev = node.fs ? node.fs->dev : 0;
    out->fsid[0] = static_cast<int32_t>(dev);
    out->fsid[1] = static_cast<int32_t>(dev >> 32);
    out->flags = st_valid | st_noatime | st_nosuid;
    if (magic == fs::tmpfs_magic) {
        // Memory-backed: its blocks are the machine's pages, those free are free; files are
        // not counted (tmpfs with nr_inodes=0 reports 0 too).
        mm::Usage u = mm::usage();
        out->blocks = u.total_pages;
        out->bfree = out->bavail = u.free_pages;
        if (node.fs && node.fs->type && strcmp(node.fs->type->name, "devfs") != 0) out->flags |= st_nodev;
    } else if (magic == fs::proc_super_magic) {
        out->flags |= st_nodev | st_noexec;
    }
    if (node.fs && node.fs->read_only) out->flags |= st_rdonly;
}

int64_t copy_statfs(const Vnode& node, uint64_t address) {
    LinuxStatfs st;
    fill_statfs(node, &st);
    return mm::vm::copy_to_app(reinterpret_cast<void*>(address), &st, sizeof st) ? -errno_fault : 0;
}

// ---- chmod and chown ----------------------------------------------------------------------
// chmod_common: the permission bits (and set-id and sticky bits) change, the type stays.
int64_t change_mode(Vnode* node, uint64_t mode) {
    if (is_procfs(node)) return -fs::errno_perm;
    if (node->fs->read_only) return -fs::errno_rofs;
    node->mode = (node->mode & fs::s_ifmt) | (static_cast<uint32_t>(mode) & fs::permission_bits);
    node->touch_changed();
    return 0;
}

// chown_common: (uid_t)-1 leaves an id as it is; a non-directory loses its set-user-ID bit,
// and its set-group-ID bit when group-executable, whatever the ids (Linux does so for root
// too). Who may change what is not checked: Mica does not enforce permissions (vfs.h).
int64_t change_owner(Vnode* node, uint64_t user, uint64_t group) {
    constexpr uint32_t unchanged = 0xffffffff;
    if (is_procfs(node)) return -fs::errno_perm;
    if (node->fs->read_only) return -fs::errno_rofs;
    auto uid = static_cast<uint32_t>(user), gid = static_cast<uint32_t>(group);
    if (uid != unchanged) node->uid = uid;
    if (gid != unchanged) node->gid = gid;
    if (!node->is_directory()) {
        node->mode &= ~fs::s_isuid;
        if (node->mode & 010) node->mode &= ~fs::s_isgid;  // S_IXGRP
    }
    node->touch_changed();
    return 0;
}

int64_t chmod_at(int dirfd, uint64_t app_path, uint64_t mode) {
    AppPath path(app_path);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    VnodeRef node;
    if (int r = resolve(dirfd, path.get(), false, true, &node.node); r < 0) return r;
    return change_mode(node.node, mode);
}

int64_t chown_at(int dirfd, uint64_t app_path, uint64_t user, uint64_t group, int flags) {
    if (flags & ~(fs::at_symlink_nofollow | fs::at_empty_path)) return -fs::errno_inval;
    AppPath path(app_path, (flags & fs::at_empty_path) != 0);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    VnodeRef node;
    int r = resolve(dirfd, path.get(), flags & fs::at_empty_path, !(flags & fs::at_symlink_nofollow), &node.node);
    if (r < 0) return r;
    return change_owner(node.node, user, group);
}

// ---- extended attributes ------------------------------------------------------------------
constexpr size_t xattr_name_max = 255, xattr_size_max = 65536;
constexpr uint64_t xattr_create = 1, xattr_replace = 2;

// The name argument: 0, -EFAULT, or -ERANGE for an empty or too long one.
int read_name(uint64_t address, char (&name)[xattr_name_max + 1]) {
    int64_t n = mm::vm::copy_string_from_app(name, reinterpret_cast<const char*>(address), sizeof name);
    if (n == -errno_fault) return -static_cast<int>(errno_fault);
    if (n <= 0) return -fs::errno_range;  // empty, or no NUL within 256 bytes
    return 0;
}

bool starts_with(const char* text, const char* prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

// Whether tmpfs has a handler for `name`'s namespace (Linux's xattr_resolve_name).
bool tmpfs_namespace(const char* name) {
    return starts_with(name, "user.") || starts_with(name, "trusted.") || starts_with(name, "security.") ||
           strcmp(name, "system.posix_acl_access") == 0 || strcmp(name, "system.posix_acl_default") == 0;
}

// The answer to reading (`write` false) or removing/setting `name` on `node`, which has no
// extended attributes: Linux's xattr_permission, then the handler lookup.
int64_t xattr_answer(const Vnode* node, const char* name, bool write) {
    if (!is_tmpfs(node)) return -fs::errno_opnotsupp;
    // user.* only on regular files and directories (the others read as having none).
    if (starts_with(name, "user.") && !node->is_regular() && !node->is_directory()) {
        return write ? -fs::errno_perm : -e_nodata;
    }
    if (!tmpfs_namespace(name)) return -fs::errno_opnotsupp;
    return write ? -fs::errno_opnotsupp : -e_nodata;  // nothing stored; storing not supported
}

// The vnode of a path or descriptor call (`app_path` 0: descriptor `fd`), referenced.
int xattr_node(uint64_t app_path, int fd, bool follow, VnodeRef* out) {
    if (!app_path) {
        Guard guard(vfs_lock);
        return descriptor_node(fd, &out->node);
    }
    AppPath path(app_path);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    return resolve(fs::at_fdcwd, path.get(), false, follow, &out->node);
}

// getxattr/lgetxattr/fgetxattr: the name first, then the file (Linux 6.13 and later).
int64_t get_xattr(uint64_t app_path, int fd, bool follow, uint64_t app_name) {
    char name[xattr_name_max + 1];
    if (int r = read_name(app_name, name); r < 0) return r;
    VnodeRef node;
    if (int r = xattr_node(app_path, fd, follow, &node); r < 0) return r;
    Guard guard(vfs_lock);
    return xattr_answer(node.node, name, false);
}

// listxattr: none to list, so 0 whatever the buffer (Linux writes nothing then).
int64_t list_xattr(uint64_t app_path, int fd, bool follow) {
    VnodeRef node;
    return xattr_node(app_path, fd, follow, &node);
}

int64_t set_xattr(uint64_t app_path, int fd, bool follow, uint64_t app_name, uint64_t value, uint64_t size,
                  uint64_t flags) {
    if (flags & ~(xattr_create | xattr_replace)) return -fs::errno_inval;
    char name[xattr_name_max + 1];
    if (int r = read_name(app_name, name); r < 0) return r;
    if (size > xattr_size_max) return -e_2big;
    if (size > 0) {
        // The value is read (Linux copies it before looking at the file): -EFAULT.
        void* copy = malloc(size);
        if (!copy) return -fs::errno_nomem;
        int r = mm::vm::copy_from_app(copy, reinterpret_cast<const void*>(value), size);
        free(copy);
        if (r) return -errno_fault;
    }
    VnodeRef node;
    if (int r = xattr_node(app_path, fd, follow, &node); r < 0) return r;
    Guard guard(vfs_lock);
    return xattr_answer(node.node, name, true);
}

int64_t remove_xattr(uint64_t app_path, int fd, bool follow, uint64_t app_name) {
    char name[xattr_name_max + 1];
    if (int r = read_name(app_name, name); r < 0) return r;
    VnodeRef node;
    if (int r = xattr_node(app_path, fd, follow, &node); r < 0) return r;
    Guard guard(vfs_lock);
    int64_t r = xattr_answer(node.node, name, true);
    return r == -fs::errno_opnotsupp && is_tmpfs(node.node) && tmpfs_namespace(name) ? -e_nodata : r;
}

// ---- utimes -------------------------------------------------------------------------------
// futimesat/utimes: struct timeval[2] (microseconds), nullptr for now.
int64_t set_times_from_timevals(int dirfd, uint64_t app_path, uint64_t app_times) {
    if (!app_times) return set_file_times(dirfd, app_path, nullptr, 0);
    int64_t tv[4];
    if (mm::vm::copy_from_app(tv, reinterpret_cast<const void*>(app_times), sizeof tv)) return -errno_fault;
    if (tv[1] < 0 || tv[1] >= 1000000 || tv[3] < 0 || tv[3] >= 1000000) return -fs::errno_inval;
    const fs::Timespec times[2] = {{tv[0], tv[1] * 1000}, {tv[2], tv[3] * 1000}};
    return set_file_times(dirfd, app_path, times, 0);
}
}  // namespace

int64_t sys_statfs(const uint64_t* args) {
    AppPath path(args[0]);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    VnodeRef node;
    if (int r = resolve(fs::at_fdcwd, path.get(), false, true, &node.node); r < 0) return r;
    return copy_statfs(*node.node, args[1]);
}

// fstatfs accepts O_PATH descriptors (Linux's fdget_raw).
int64_t sys_fstatfs(const uint64_t* args) {
    Guard guard(vfs_lock);
    OpenFile* file = descriptors().get(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    return copy_statfs(*file->vnode(), args[1]);
}

int64_t sys_chmod(const uint64_t* args) { return chmod_at(fs::at_fdcwd, args[0], args[1]); }
int64_t sys_fchmodat(const uint64_t* args) { return chmod_at(fd_arg(args[0]), args[1], args[2]); }
int64_t sys_fchmod(const uint64_t* args) {
    Guard guard(vfs_lock);
    VnodeRef node;
    if (int r = descriptor_node(fd_arg(args[0]), &node.node); r < 0) return r;
    return change_mode(node.node, args[1]);
}

int64_t sys_chown(const uint64_t* args) { return chown_at(fs::at_fdcwd, args[0], args[1], args[2], 0); }
int64_t sys_lchown(const uint64_t* args) {
    return chown_at(fs::at_fdcwd, args[0], args[1], args[2], fs::at_symlink_nofollow);
}
int64_t sys_fchownat(const uint64_t* args) {
    return chown_at(fd_arg(args[0]), args[1], args[2], args[3], static_cast<int>(args[4]));
}
int64_t sys_fchown(const uint64_t* args) {
    Guard guard(vfs_lock);
    VnodeRef node;
    if (int r = descriptor_node(fd_arg(args[0]), &node.node); r < 0) return r;
    return change_owner(node.node, args[1], args[2]);
}

int64_t sys_getxattr(const uint64_t* args) { return get_xattr(args[0], -1, true, args[1]); }
int64_t sys_lgetxattr(const uint64_t* args) { return get_xattr(args[0], -1, false, args[1]); }
int64_t sys_fgetxattr(const uint64_t* args) {
    // A descriptor call looks at the descriptor first.
    {
        Guard guard(vfs_lock);
        VnodeRef node;
        if (int r = descriptor_node(fd_arg(args[0]), &node.node); r < 0) return r;
    }
    return get_xattr(0, fd_arg(args[0]), true, args[1]);
}
int64_t sys_listxattr(const uint64_t* args) { return list_xattr(args[0], -1, true); }
int64_t sys_llistxattr(const uint64_t* args) { return list_xattr(args[0], -1, false); }
int64_t sys_flistxattr(const uint64_t* args) { return list_xattr(0, fd_arg(args[0]), true); }
int64_t sys_setxattr(const uint64_t* args) { return set_xattr(args[0], -1, true, args[1], args[2], args[3], args[4]); }
int64_t sys_lsetxattr(const uint64_t* args) { return set_xattr(args[0], -1, false, args[1], args[2], args[3], args[4]); }
int64_t sys_fsetxattr(const uint64_t* args) {
    {
        Guard guard(vfs_lock);
        VnodeRef node;
        if (int r = descriptor_node(fd_arg(args[0]), &node.node); r < 0) return r;
    }
    return set_xattr(0, fd_arg(args[0]), true, args[1], args[2], args[3], args[4]);
}
int64_t sys_removexattr(const uint64_t* args) { return remove_xattr(args[0], -1, true, args[1]); }
int64_t sys_lremovexattr(const uint64_t* args) { return remove_xattr(args[0], -1, false, args[1]); }
int64_t sys_fremovexattr(const uint64_t* args) {
    {
        Guard guard(vfs_lock);
        VnodeRef node;
        if (int r = descriptor_node(fd_arg(args[0]), &node.node); r < 0) return r;
    }
    return remove_xattr(0, fd_arg(args[0]), true, args[1]);
}

// utimensat(dirfd, path, times[2], flags): times nullptr means now; UTIME_NOW and
// UTIME_OMIT per entry; a null path means the descriptor itself (futimens).
int64_t sys_utimensat(const uint64_t* args) {
    fs::Timespec times[2];
    if (args[2]) {
        if (mm::vm::copy_from_app(times, reinterpret_cast<void*>(args[2]), sizeof times)) return -errno_fault;
        for (const fs::Timespec& t : times) {
            if (t.nsec != utime_now && t.nsec != utime_omit && (t.nsec < 0 || t.nsec >= 1000000000)) {
                return -fs::errno_inval;
            }
        }
    }
    return set_file_times(fd_arg(args[0]), args[1], args[2] ? times : nullptr, static_cast<int>(args[3]));
}

namespace mica::abi::files {
int64_t set_file_times(int dirfd, uint64_t app_path, const fs::Timespec* given, int flags) {
    fs::Timespec times[2] = {{0, utime_now}, {0, utime_now}};
    if (given) {
        times[0] = given[0];
        times[1] = given[1];
    }
    if (flags & ~fs::at_symlink_nofollow) return -fs::errno_inval;
    Guard guard(vfs_lock);
    Vnode* node = nullptr;
    if (!app_path) {
        if (dirfd == fs::at_fdcwd) return -errno_fault;  // no path and no descriptor
        OpenFile* file = descriptors().get(dirfd);
        if (!file) return -fs::errno_badf;
        node = file->vnode();
        node->ref();
    } else {
        AppPath path(app_path);
        if (path.error()) return path.error();
        if (int r = resolve(dirfd, path.get(), false, !(flags & fs::at_symlink_nofollow), &node); r < 0) return r;
    }
    VnodeRef held{node};
    if (node->fs->read_only) return -fs::errno_rofs;
    fs::Timespec now = file_clock();
    if (times[0].nsec != utime_omit) node->atime = times[0].nsec == utime_now ? now : times[0];
    if (times[1].nsec != utime_omit) node->mtime = times[1].nsec == utime_now ? now : times[1];
    node->ctime = now;
    return 0;
}
}  // namespace mica::abi::files

// x86_64 only: futimesat(dirfd, path, times), utimes(path, times), utime(path, utimbuf).
int64_t sys_futimesat(const uint64_t* args) { return set_times_from_timevals(fd_arg(args[0]), args[1], args[2]); }
int64_t sys_utimes(const uint64_t* args) { return set_times_from_timevals(fs::at_fdcwd, args[0], args[1]); }
int64_t sys_utime(const uint64_t* args) {
    if (!args[1]) return set_file_times(fs::at_fdcwd, args[0], nullptr, 0);
    int64_t buf[2];  // struct utimbuf: actime, modtime (seconds)
    if (mm::vm::copy_from_app(buf, reinterpret_cast<const void*>(args[1]), sizeof buf)) return -errno_fault;
    const fs::Timespec times[2] = {{buf[0], 0}, {buf[1], 0}};
    return set_file_times(fs::at_fdcwd, args[0], times, 0);
}
