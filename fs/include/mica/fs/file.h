// Open files and file descriptor tables. An OpenFile is Linux's "open file description":
// vnode, offset and status flags, shared by dup'ed descriptors (and, later, across fork).
// The descriptor table maps small integers to open files with a per-descriptor close-on-exec
// flag. Not thread-safe: callers hold the VFS lock (vfs.h), except for the limit.
#pragma once

#include <mica/fs/abi.h>
#include <mica/fs/object.h>
#include <mica/fs/vnode.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::fs {

class OpenFile;

// Told when an open file description is finally closed, before its vnode reference goes:
// epoll drops its registrations on the file then (Linux's eventpoll_release).
class CloseObserver {
public:
    virtual void open_file_closing(OpenFile* file) = 0;

protected:
    ~CloseObserver() = default;
};

class OpenFile : public MallocAllocated {
public:
    // A new open file on `node` (takes its own reference) in *out: 0 or -ENOMEM. O_CLOEXEC
    // is a descriptor flag and is dropped here; creation flags (O_CREAT...) too.
    static int open(Vnode* node, int flags, OpenFile** out);

    void ref() { ++references_; }
    void unref() {
        if (--references_ == 0) delete this;
    }
    OpenFile(Vnode* node, int flags) : vnode_(node), flags_(flags) {}  // use open()
    ~OpenFile();

    Vnode* vnode() const { return vnode_; }
    int flags() const { return flags_; }
    uint64_t offset() const { return offset_; }
    bool readable() const { return (flags_ & o_accmode) != o_wronly; }
    bool writable() const { return (flags_ & o_accmode) == o_wronly || (flags_ & o_accmode) == o_rdwr; }
    // fcntl(F_SETFL): only O_APPEND and O_NONBLOCK change.
    void set_status_flags(int flags);

    // read/write at the file offset (advancing it; O_APPEND writes at the end).
    int64_t read(void* buffer, size_t length);
    int64_t write(const void* buffer, size_t length);
    // pread/pwrite: at `offset`, the file offset unchanged.
    int64_t pread(void* buffer, size_t length, int64_t offset);
    int64_t pwrite(const void* buffer, size_t length, int64_t offset);
    // lseek: the new offset or -errno (-EINVAL for a negative result or bad whence, -ESPIPE
    // for a non-seekable vnode). On a directory the offset is a readdir cookie.
    int64_t seek(int64_t offset, int whence);
    // getdents64: linux_dirent64 records into `buffer`, bytes used (0 at the end) or -errno
    // (-EINVAL when not even one record fits).
    int64_t getdents64(void* buffer, size_t size);
    // ftruncate.
    int truncate(int64_t length);

    // Set by whoever watches this open file description (epoll) while it does; called from
    // the destructor. `watchers` is that observer's own per-file data, opaque here.
    CloseObserver* close_observer = nullptr;
    void* watchers = nullptr;

private:
    int64_t read_at(void* buffer, size_t length, uint64_t offset);
    int64_t write_at(const void* buffer, size_t length, uint64_t offset);

    Vnode* vnode_;  // referenced
    int flags_;     // access mode and status flags
    uint64_t offset_ = 0;
    uint32_t references_ = 1;
};

class FdTable {
public:
    static constexpr int default_limit = 1024;  // Linux's default RLIMIT_NOFILE soft limit

    explicit FdTable(int limit = default_limit) : limit_(limit) {}
    ~FdTable();  // closes everything
    FdTable(const FdTable&) = delete;
    FdTable& operator=(const FdTable&) = delete;

    // The lowest free descriptor now refers to `file` (a new reference): the fd or -EMFILE /
    // -ENOMEM.
    int install(OpenFile* file, bool close_on_exec);
    // The open file behind `fd` (borrowed), or nullptr.
    OpenFile* get(int fd) const;
    int close(int fd);
    // dup: the lowest free descriptor, close-on-exec clear.
    int dup(int fd);
    // dup2: `new_fd` (closed first if open); dup2(fd, fd) checks fd and returns it.
    int dup2(int old_fd, int new_fd);
    // dup3: like dup2 but -EINVAL when equal; `flags` may hold only O_CLOEXEC.
    int dup3(int old_fd, int new_fd, int flags);
    // fcntl F_DUPFD / F_DUPFD_CLOEXEC: the lowest free descriptor >= minimum.
    int dup_from(int fd, int minimum, bool close_on_exec);
    // F_GETFD / F_SETFD: 0 or 1, or -EBADF.
    int close_on_exec(int fd) const;
    int set_close_on_exec(int fd, bool value);
    // execve: closes the close-on-exec descriptors.
    void close_all_on_exec();
    int count() const;  // open descriptors
    // RLIMIT_NOFILE's soft limit: new descriptors stay below it; ones already open above it
    // stay usable, as on Linux. Atomic: prlimit64 sets another process's without its lock.
    int limit() const { return __atomic_load_n(&limit_, __ATOMIC_RELAXED); }
    void set_limit(int limit) { __atomic_store_n(&limit_, limit, __ATOMIC_RELAXED); }
    // close_range(2) over [first, last] (last may be past the table): closes them, or only
    // marks them close-on-exec.
    void close_range(unsigned first, unsigned last, bool close_on_exec_only);
    // fork: `copy` (empty) gets every descriptor of this table, each a new reference to the
    // same open file with the same close-on-exec flag, and its limit. 0 or -ENOMEM (copy
    // left partial).
    int copy_to(FdTable& copy) const;
    // Exchanges the descriptors of two tables (a parent's back after its child is done).
    void swap(FdTable& other);

private:
    struct Slot {
        OpenFile* file;
        bool close_on_exec;
    };
    int lowest_free(int minimum) const;
    int grow_to(int fd);  // ensures slots_[fd] exists
    int assign(int fd, OpenFile* file, bool close_on_exec);
    int dup_from_file(OpenFile* file, int minimum, bool close_on_exec);

    Slot* slots_ = nullptr;
    int capacity_ = 0;
    int limit_;
};

}  // namespace mica::fs
