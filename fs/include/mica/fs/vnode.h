// Vnodes: the in-memory files of every filesystem (ramfs, later devfs and procfs). A vnode
// carries Linux's attributes (what stat reports) and virtual operations; a filesystem
// subclasses it for its directories, files, symlinks or devices and overrides what applies.
// The defaults fail the way Linux fails on the wrong file type, so a character device only
// overrides read/write.
//
// Lifetime: reference counted. Whoever holds a Vnode* it got from a lookup, create or open owns
// one reference and drops it with unref(). A filesystem's directory entries hold a reference to
// their vnode too, so an unlinked file stays alive (and readable) while an open file refers to
// it, and disappears with its last reference.
//
// Locking: none here. The VFS core is not thread-safe; the kernel holds one VFS lock around
// every call into it (vfs.h).
#pragma once

#include <mica/fs/abi.h>
#include <mica/fs/io.h>
#include <mica/fs/object.h>
#include <mica/fs/poll.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm {
class FilePager;
}

namespace mica::fs {

struct Timespec {
    int64_t sec = 0;
    int64_t nsec = 0;
};
// The wall clock, provided by the caller (the kernel's clock, or a test's fake).
using Clock = Timespec (*)();

// A path component: not NUL-terminated, at most name_max bytes.
struct Name {
    const char* chars;
    size_t length;

    bool equals(const char* text) const;
    bool is_dot() const { return length == 1 && chars[0] == '.'; }
    bool is_dotdot() const { return length == 2 && chars[0] == '.' && chars[1] == '.'; }
};
// A NUL-terminated string as a Name.
Name name_of(const char* text);

// One directory entry from Vnode::readdir.
struct DirEntry {
    uint64_t ino;
    uint8_t type;          // dt_*
    uint64_t next_cookie;  // pass to readdir to continue after this entry
    size_t name_length;
    char name[name_max + 1];  // NUL-terminated
};

class FileSystem;
struct FileSystemType;

class Vnode : public MallocAllocated {
public:
    // Attributes, as stat reports them. Filesystems keep them current; the VFS and the archive
    // unpacker set mode/uid/gid/times directly (chmod, chown, utimens).
    uint64_t ino = 0;
    uint32_t mode;  // type | permission bits
    uint32_t uid = 0, gid = 0;
    uint32_t nlink = 1;
    uint64_t size = 0;
    uint64_t rdev = 0;  // device number of a device vnode
    Timespec atime, mtime, ctime;
    FileSystem* const fs;

    Vnode(FileSystem* owner, uint32_t type_and_mode);
    virtual ~Vnode() = default;
    Vnode(const Vnode&) = delete;
    Vnode& operator=(const Vnode&) = delete;

    void ref() { ++references_; }
    void unref() {
        if (--references_ == 0) delete this;
    }
    uint32_t references() const { return references_; }

    bool is_directory() const { return is_dir(mode); }
    bool is_symlink() const { return is_lnk(mode); }
    bool is_regular() const { return is_reg(mode); }

    // Directory operations. Vnodes put in *out carry a reference for the caller. `name` is a
    // single component, never "." or ".." except for lookup (which resolves both).
    virtual int lookup(Name name, Vnode** out);
    // create: a regular file; mkdir: a directory; `mode` holds permission bits only.
    virtual int create(Name name, uint32_t mode, Vnode** out);
    virtual int mkdir(Name name, uint32_t mode, Vnode** out);
    virtual int symlink(Name name, const char* target, size_t target_length, Vnode** out);
    // A special file (mode holds its type: S_IFSOCK for a bound AF_UNIX socket's name).
    virtual int mknod(Name name, uint32_t mode, uint64_t rdev, Vnode** out);
    // A new name for `node` (hard link); node is not a directory.
    virtual int link(Name name, Vnode* node);
    virtual int unlink(Name name);
    virtual int rmdir(Name name);
    // Moves entry `old_name` of this directory to `new_name` in `new_dir` (same filesystem),
    // replacing a file or an empty directory there. The VFS has checked the type rules.
    virtual int rename(Name old_name, Vnode* new_dir, Name new_name);
    // The entry at `cookie` (0 starts; "." and ".." come first) into *out: 1, or 0 at the end.
    // Cookies stay valid while entries are added and removed.
    virtual int readdir(uint64_t cookie, DirEntry* out);

    // Symlink target, not NUL-terminated: bytes copied (at most `size`), or -errno.
    virtual int64_t readlink(char* buffer, size_t size);

    // File data at `offset`: bytes transferred or -errno.
    virtual int64_t read(uint64_t offset, void* buffer, size_t length);
    virtual int64_t write(uint64_t offset, const void* buffer, size_t length);
    virtual int truncate(uint64_t length);
    // fallocate(2) on a regular file, the checks common to every filesystem done (`mode` is
    // 0 or FALLOC_FL_KEEP_SIZE, possibly with FALLOC_FL_PUNCH_HOLE; length > 0): space for
    // [offset, offset + length) is allocated (and the size extended unless KEEP_SIZE), or the
    // range is zeroed with its whole pages freed (PUNCH_HOLE). Default: -EOPNOTSUPP, as Linux
    // answers for a filesystem without fallocate.
    virtual int fallocate(int mode, uint64_t offset, uint64_t length);
    // Whether the file keeps its data in whole pages that mappings may share (ramfs), and the
    // page holding bytes [index * 4 KiB, (index + 1) * 4 KiB): a kernel address, nullptr for a
    // hole or past the end. Bytes of that page past the file's size are zero. Called with the
    // file system's lock held (the VFS lock), possibly under the VM spinlock: never sleeps.
    virtual bool has_mappable_pages() const { return false; }
    virtual void* mappable_page(uint64_t index) { return nullptr; }
    // Makes pages [first, first + count) of the file mappable (mappable_page gives them until
    // the file system's lock is dropped): a file system whose pages live in the page cache
    // reads them in here (may sleep). count is at most PageCache::map_chunk_pages. 0 or -errno.
    virtual int prepare_pages(uint64_t first, uint64_t count) { return 0; }
    // A file whose pages a private mapping should fault in on demand (mm/file_pager.h), not
    // map whole at mmap: squashfs files, read from disk into the page cache. The pager stays
    // valid as long as the file system is mounted (the file pins itself). nullptr: map with
    // the pages above, or copy.
    virtual mm::FilePager* pager() { return nullptr; }
    // False for pipes and sockets: lseek fails with -ESPIPE and offsets are ignored.
    virtual bool seekable() const { return true; }
    // False for a name that stands for something living elsewhere (a socket node; FIFOs and
    // device nodes made by mknod, which Mica connects to nothing): open fails with -ENXIO.
    virtual bool openable() const { return true; }

    // Readiness (poll.h): the events ready now, and the head waiters register on to hear of
    // changes. nullptr means the readiness never changes (regular files, directories and
    // most devices: always ready for poll and select; epoll refuses them with -EPERM, as
    // Linux does). poll_events may sleep; it is never called under a spinlock.
    virtual uint32_t poll_events() { return poll_always_ready; }
    virtual PollHead* poll_head() { return nullptr; }

    // Objects that are not file data (pipes, devices, sockets, eventfd, timerfd, epoll) lock
    // for themselves and may block: the system calls run these outside the VFS lock, on the
    // application's buffers directly, instead of read/write above (file data at an offset,
    // under the VFS lock). Defaults: -EINVAL, as Linux for objects without read or write.
    virtual bool is_stream() const { return false; }
    virtual int64_t read_stream(IoVector& data, bool nonblock);
    virtual int64_t write_stream(IoVector& data, bool nonblock);

    // mtime = ctime = now (after a change of content), ctime = now (attributes).
    void touch_modified();
    void touch_changed();

private:
    uint32_t references_ = 1;  // the creator's
};

// A mounted filesystem instance: a tree of vnodes under root().
class FileSystem : public MallocAllocated {
public:
    explicit FileSystem(Clock clock) : clock_(clock) {}
    virtual ~FileSystem() = default;
    FileSystem(const FileSystem&) = delete;
    FileSystem& operator=(const FileSystem&) = delete;

    // The root directory (borrowed: the filesystem holds it until destroyed).
    virtual Vnode* root() = 0;

    Timespec now() const { return clock_ ? clock_() : Timespec{}; }
    // Atomic: filesystems outside the VFS lock (pipes, sockets) allocate from any thread.
    uint64_t allocate_ino() { return __atomic_fetch_add(&next_ino_, 1, __ATOMIC_RELAXED); }
    uint64_t dev = 0;  // st_dev, assigned by the VFS at mount
    // Nothing on it can change (squashfs): the VFS and the attribute calls answer -EROFS.
    bool read_only = false;
    // Its type (set by the VFS at mount, or by whoever makes an instance outside it);
    // nullptr for the internal ones (pipes, sockets, anonymous files).
    const FileSystemType* type = nullptr;

private:
    Clock clock_;
    uint64_t next_ino_ = 1;
};

// A filesystem type in the VFS registry: "ramfs", later "devfs", "procfs".
struct FileSystemType {
    const char* name;
    // A new, empty instance in *out: 0 or -errno.
    int (*create)(Clock clock, FileSystem** out);
    // What statfs(2) reports as f_type (abi.h *_magic); 0: the type says nothing.
    uint64_t magic = 0;
};

// Fills Linux's struct stat for `node` (both layouts, for the host tests; LinuxStat is the
// target architecture's).
void fill_stat(const Vnode& node, StatX86_64* out);
void fill_stat(const Vnode& node, StatGeneric* out);

}  // namespace mica::fs
