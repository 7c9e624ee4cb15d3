// Private to files.cc (state, paths, transfers, poll, terminals) and file_syscalls.cc (the
// system calls built on them). The file state is guarded by vfs_lock (files.cc says how).
#pragma once

#include <mica/fs/abi.h>
#include <mica/fs/file.h>
#include <mica/fs/vfs.h>
#include <mica/mm/vm.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include "files_internal.h"

namespace mica::abi::files {

using fs::OpenFile;
using fs::Vnode;

// ---- state (files.cc) ---------------------------------------------------------------------
extern sched::Mutex vfs_lock;
extern fs::Vfs* the_vfs;
// A process's descriptors, working directory and umask (shared by its threads): the calling
// thread's process's, or the kernel's own (the first process starts with those).
struct FilesState {
    fs::FdTable table;
    Vnode* cwd = nullptr;  // referenced; the root until chdir
    uint32_t umask = 022;
};
FilesState& state();
inline fs::FdTable& descriptors() { return state().table; }
// A new file's or directory's mode: the caller's permission bits less the umask.
inline uint32_t masked_mode(uint64_t mode) { return static_cast<uint32_t>(mode) & 07777 & ~state().umask; }
extern bool ready;
using Guard = sched::LockGuard<sched::Mutex>;
// A descriptor argument: the low 32 bits of the register, as Linux reads an int.
inline int fd_arg(uint64_t value) { return static_cast<int>(value); }

// A reference to the open file behind a descriptor, taken and dropped under the lock.
class FileRef {
public:
    explicit FileRef(int fd) {
        Guard guard(vfs_lock);
        file_ = descriptors().get(fd);
        if (file_) file_->ref();
    }
    ~FileRef() {
        if (!file_) return;
        Guard guard(vfs_lock);
        file_->unref();
    }
    FileRef(const FileRef&) = delete;
    FileRef& operator=(const FileRef&) = delete;
    OpenFile* get() const { return file_; }
    OpenFile* operator->() const { return file_; }
    explicit operator bool() const { return file_ != nullptr; }

private:
    OpenFile* file_;
};

// A path copied from the application into a heap buffer.
class AppPath {
public:
    // `allow_null`: a null pointer is an empty path (statx with AT_EMPTY_PATH).
    explicit AppPath(uint64_t address, bool allow_null = false) {
        if (address == 0 && allow_null) {
            text_ = static_cast<char*>(calloc(1, 1));
            error_ = text_ ? 0 : -fs::errno_nomem;
            return;
        }
        text_ = static_cast<char*>(malloc(fs::path_max));
        if (!text_) {
            error_ = -fs::errno_nomem;
            return;
        }
        int64_t n = mm::vm::copy_string_from_app(text_, reinterpret_cast<const char*>(address), fs::path_max);
        error_ = n < 0 ? static_cast<int>(n) : 0;
    }
    ~AppPath() { free(text_); }
    AppPath(const AppPath&) = delete;
    AppPath& operator=(const AppPath&) = delete;
    int error() const { return error_; }
    const char* get() const { return text_; }
    bool empty() const { return text_[0] == '\0'; }

private:
    char* text_ = nullptr;
    int error_ = 0;
};

// Owns one vnode reference.
struct VnodeRef {
    Vnode* node = nullptr;
    ~VnodeRef() {
        if (node) node->unref();
    }
};

inline constexpr size_t bounce_size = 64 * 1024;        // regular-file transfers per lock hold

// A kernel buffer for a transfer of `wanted` bytes: up to bounce_size, smaller when memory is
// short or fragmented (a 64 KiB buffer needs 17 contiguous pages; with the page cache's pages
// spread over a small machine's memory there may be no such run), down to one page. Empty
// (data() null) only when not even a page is free.
class BounceBuffer {
public:
    explicit BounceBuffer(size_t wanted);
    ~BounceBuffer();
    BounceBuffer(const BounceBuffer&) = delete;
    BounceBuffer& operator=(const BounceBuffer&) = delete;
    char* data() const { return data_; }
    size_t size() const { return size_; }

private:
    char* data_ = nullptr;
    size_t size_ = 0;
    bool whole_page_ = false;  // from the page allocator, not malloc
};

inline constexpr size_t max_rw_count = 0x7ffff000;      // Linux's MAX_RW_COUNT

inline constexpr int uio_maxiov = 1024;                 // iovecs per readv/writev

inline constexpr size_t getdents_max = 64 * 1024;       // kernel buffer for one getdents64

inline constexpr unsigned long fionread = 0x541b, fionbio = 0x5421, fionclex = 0x5450, fioclex = 0x5451;

inline constexpr int f_dupfd = 0, f_getfd = 1, f_setfd = 2, f_getfl = 3, f_setfl = 4, f_getlk = 5,
              f_setlk = 6, f_setlkw = 7, f_ofd_getlk = 36, f_ofd_setlk = 37, f_ofd_setlkw = 38,
              f_dupfd_cloexec = 1030, f_getpipe_sz = 1032, f_setpipe_sz = 1031;

inline constexpr int fd_cloexec = 1;

inline constexpr int16_t f_unlck = 2;

fs::Timespec file_clock();

// utimensat's UTIME_NOW and UTIME_OMIT (in a timespec's nanoseconds).
inline constexpr int64_t utime_now = (1l << 30) - 1, utime_omit = (1l << 30) - 2;
// Sets the access and modification times of what (dirfd, path) names - the descriptor itself
// for a null path - to `times` (validated; UTIME_NOW/UTIME_OMIT allowed), or to now for
// nullptr; `flags` may hold AT_SYMLINK_NOFOLLOW. 0 or -errno (file_attributes.cc).
int64_t set_file_times(int dirfd, uint64_t app_path, const fs::Timespec* times, int flags);

// ---- paths --------------------------------------------------------------------------------
// The directory a *at() call starts from (borrowed; lock held).
int start_dir(int dirfd, const char* path, Vnode** at);
// The vnode an fd-or-path call names (referenced; lock held).
int resolve(int dirfd, const char* path, bool empty_path_ok, bool follow, Vnode** out);
// The path of a directory (getcwd): length with the NUL, or -errno. Lock held.
int64_t path_of(Vnode* dir, char* buffer, size_t size);
// Splits `path` into its directory (copied to `dir`) and last component.
bool split_path(const char* path, char* dir, const char** last);

// ---- transfers ----------------------------------------------------------------------------
bool read_denied(const OpenFile* file);
bool write_denied(const OpenFile* file);
// At the file offset (offset < 0) or at `offset`; `nonblock` adds to the file's O_NONBLOCK.
int64_t file_read(OpenFile* file, fs::IoVector& data, int64_t offset, bool nonblock);
int64_t file_write(OpenFile* file, fs::IoVector& data, int64_t offset, bool nonblock);
int read_iovecs(uint64_t app_iov, uint64_t count, fs::IoSegment** out);
// readv/writev at the file offset (offset < 0), preadv/pwritev at `offset`.
int64_t vector_transfer(int fd, uint64_t app_iov, uint64_t count, bool write, int64_t offset);

// A new descriptor for `node` (the creator's reference is consumed): an open file with
// `flags` (access mode, O_NONBLOCK), close-on-exec as asked. The descriptor or -errno.
int64_t install_node(Vnode* node, int flags, bool close_on_exec);

// files_shutdown: the filesystem memfd_create's files live on goes too (file_data.cc). Lock held.
void memfd_shutdown();


}  // namespace mica::abi::files
