// The virtual filesystem: a registry of filesystem types, a mount table and Linux path
// lookup on top of vnodes (vnode.h). Syscalls map onto these calls after turning a dirfd
// into its directory vnode (`at`; nullptr means the root).
//
// Lookup rules (Linux's path_resolution(7)): absolute paths start at the root, relative ones
// at `at`; "." and ".." are resolved, repeated slashes ignored, a trailing slash requires a
// directory; symbolic links are followed in every intermediate component and in the last one
// only when asked (O_NOFOLLOW / AT_SYMLINK_NOFOLLOW turn that off), at most 40 per lookup
// (-ELOOP); a component over 255 bytes or a path of 4096 bytes or more is -ENAMETOOLONG.
// Lookup crosses mount points both ways: into the mounted root going down, to the mount
// point's parent with ".." from a mounted root. ".." at the root stays there.
//
// Permissions are stored and reported but not enforced (applications run as root); `mode`
// arguments are used as given (the caller applies the umask).
//
// Locking: this core is not thread-safe and does no locking. The kernel serialises every call
// into the VFS (and into vnodes and open files) with one VFS lock: simple, and enough while
// file work is memory copies; finer locks can come when a filesystem blocks on I/O.
#pragma once

#include <mica/fs/abi.h>
#include <mica/fs/file.h>
#include <mica/fs/vnode.h>
#include <mica/sched/list.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::fs {

struct Mount {
    FileSystem* fs;    // owned
    Vnode* root;       // fs->root(), referenced
    Vnode* covered;    // the directory this mount hides, referenced; nullptr for "/"
    sched::ListNode link;
};

class Vfs {
public:
    static constexpr int max_filesystem_types = 8;

    explicit Vfs(Clock clock) : clock_(clock) {}
    ~Vfs();  // unmounts everything; open files must be closed first
    Vfs(const Vfs&) = delete;
    Vfs& operator=(const Vfs&) = delete;

    // Registry: `type` must outlive the VFS. -EEXIST for a duplicate name, -ENOSPC when full.
    int register_filesystem(const FileSystemType* type);
    const FileSystemType* filesystem_type(const char* name) const;

    // Mounts a new instance of filesystem `type` on directory `path`. The first mount must be
    // "/". -ENODEV for an unknown type, -ENOTDIR, -ENOENT.
    int mount(const char* type, Vnode* at, const char* path);
    // The same with an instance made by the caller (a file system read from a device: the
    // caller opened the device and the image); the VFS owns `fs` from then on, even when the
    // mount fails (it is destroyed then). `type` names its kind for statfs and /proc/mounts.
    int mount_instance(FileSystem* fs, const FileSystemType* type, Vnode* at, const char* path);
    // The root directory (borrowed), nullptr before "/" is mounted.
    Vnode* root() const;
    Clock clock() const { return clock_; }

    // The vnode `path` names (referenced) in *out; the last symlink followed if `follow`.
    int lookup(Vnode* at, const char* path, bool follow, Vnode** out);
    // open(2) without the descriptor: O_CREAT (with `mode`), O_EXCL, O_TRUNC, O_DIRECTORY,
    // O_NOFOLLOW, access mode checks (-EISDIR for writing a directory). Special files made
    // by mknod (Vnode::openable) cannot be opened: -ENXIO (Linux's answer for a socket;
    // named FIFOs and device nodes outside devfs are not supported), except with O_PATH.
    int open(Vnode* at, const char* path, int flags, uint32_t mode, OpenFile** out);
    int mkdir(Vnode* at, const char* path, uint32_t mode);
    int symlink(const char* target, Vnode* at, const char* path);
    // mknod(2): a special file (`mode` holds its type and permissions), referenced in *out
    // when `out` is not null. -EEXIST when the name exists (whatever it is).
    int mknod(Vnode* at, const char* path, uint32_t mode, uint64_t rdev, Vnode** out);
    // readlink: bytes copied (not NUL-terminated) or -errno (-EINVAL if not a symlink).
    int64_t readlink(Vnode* at, const char* path, char* buffer, size_t size);
    // link: `old_path` (not followed, as linkat without AT_SYMLINK_FOLLOW) gets `new_path`.
    int link(Vnode* old_at, const char* old_path, Vnode* new_at, const char* new_path);
    int unlink(Vnode* at, const char* path);
    int rmdir(Vnode* at, const char* path);
    // rename(2): replaces a file or an empty directory; -EISDIR/-ENOTDIR for a type mismatch,
    // -ENOTEMPTY, -EINVAL for moving a directory into its own subtree, -EXDEV across
    // filesystems, -EBUSY for mount points and "." / "..".
    int rename(Vnode* old_at, const char* old_path, Vnode* new_at, const char* new_path);
    int stat(Vnode* at, const char* path, bool follow, LinuxStat* out);
    int truncate(Vnode* at, const char* path, int64_t length);

private:
    // The directory holding the last component of a path, and that component.
    struct Parent {
        Vnode* dir = nullptr;  // referenced
        size_t length = 0;     // 0: the path has no last component ("/")
        bool trailing_slash = false;
        char name[name_max + 1];
        Name last() const { return Name{name, length}; }
        ~Parent() {
            if (dir) dir->unref();
        }
    };
    int walk_parent(Vnode* at, const char* path, int* links, Parent* out);
    int parent_of_new_entry(Vnode* at, const char* path, Parent* parent);
    int walk(Vnode* at, const char* path, bool follow, int* links, Vnode** out);
    // One step from directory `dir` to `name`, crossing mounts (referenced result).
    int step(Vnode* dir, Name name, Vnode** out);
    // The entry itself, not crossing into a mount on it.
    int lookup_entry(Vnode* dir, Name name, Vnode** out);
    Mount* mount_covering(const Vnode* node) const;
    Mount* mount_rooted_at(const Vnode* node) const;
    bool is_mount_point_or_root(const Vnode* node) const;
    int is_ancestor(Vnode* ancestor, Vnode* dir);

    Clock clock_;
    const FileSystemType* types_[max_filesystem_types] = {};
    sched::List<Mount, &Mount::link> mounts_;  // in mount order; the first is "/"
    uint64_t next_dev_ = 1;
};

}  // namespace mica::fs
