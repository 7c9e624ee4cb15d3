// The process's file state, paths, transfers and terminals behind the file system calls
// (file_syscalls.cc), and files_init (files.h). Pipes, devices and /proc are in pipe.cc,
// devfs.cc and procfs.cc; poll and select in poll.cc.
//
// Locking: vfs_lock guards the VFS, every vnode and open file, the descriptor table and the
// working directory. A system call on a descriptor takes a reference to its open file under
// the lock (FileRef); regular files are then read and written a chunk at a time under the lock
// through a kernel bounce buffer (the filesystem code never touches application memory),
// while pipes and devices are driven outside it, since they may block or be slow.
#include <mica/bootchart.h>
#include <mica/format.h>
#include <mica/fs/cpio.h>
#include <mica/fs/page_cache.h>
#include <mica/fs/ramfs.h>
#include <mica/clock.h>
#include <mica/linux/files.h>
#include <mica/linux/pipe_buffer.h>
#include <mica/linux/syscall.h>
#include <mica/mm/file_pager.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <string.h>
#include "files_impl.h"

namespace mica::abi::files {

using fs::OpenFile;
using fs::Vnode;

// ---- global state -------------------------------------------------------------------------
// Owned here and guarded by vfs_lock (except `ready`, set once under it and read without it
// after): the VFS, and the kernel's file state - the standard descriptors and the root that
// the first process starts with, and what kernel threads use. Each process has its own
// (processes.cc keeps the pointer; see FilesState).
sched::Mutex vfs_lock;
fs::Vfs* the_vfs = nullptr;
FilesState kernel_files;
bool ready = false;

FilesState& state() {
    void* mine = current_process_files();
    return mine ? *static_cast<FilesState*>(mine) : kernel_files;
}



fs::Timespec file_clock() {
    // The wall clock (an RTC reading at boot plus the uptime; the epoch at boot without one).
    uint64_t ns = clock::realtime_ns();
    return fs::Timespec{static_cast<int64_t>(ns / 1000000000), static_cast<int64_t>(ns % 1000000000)};
}




// The directory a *at() call starts from (borrowed; the lock must be held). Absolute paths
// ignore dirfd, as on Linux.
int start_dir(int dirfd, const char* path, Vnode** at) {
    if (!the_vfs) return -fs::errno_noent;
    if (path[0] == '/' || dirfd == fs::at_fdcwd) {
        *at = path[0] == '/' ? nullptr : state().cwd;
        return 0;
    }
    OpenFile* file = descriptors().get(dirfd);
    if (!file) return -fs::errno_badf;
    if (!file->vnode()->is_directory()) return -fs::errno_notdir;
    *at = file->vnode();
    return 0;
}

// The vnode an fd-or-path call names (referenced): the dirfd itself for an empty path with
// AT_EMPTY_PATH, else the path from dirfd. Lock held.
int resolve(int dirfd, const char* path, bool empty_path_ok, bool follow, Vnode** out) {
    if (path[0] == '\0') {
        if (!empty_path_ok) return -fs::errno_noent;
        if (dirfd == fs::at_fdcwd) {
            if (!state().cwd) return -fs::errno_noent;
            state().cwd->ref();
            *out = state().cwd;
            return 0;
        }
        OpenFile* file = descriptors().get(dirfd);
        if (!file) return -fs::errno_badf;
        file->vnode()->ref();
        *out = file->vnode();
        return 0;
    }
    Vnode* at;
    if (int r = start_dir(dirfd, path, &at); r < 0) return r;
    return the_vfs->lookup(at, path, follow, out);
}

// ---- transfers ----------------------------------------------------------------------------

bool read_denied(const OpenFile* file) { return !file->readable() || (file->flags() & fs::o_path); }
bool write_denied(const OpenFile* file) { return !file->writable() || (file->flags() & fs::o_path); }

// Linux's access_ok over a transfer's application buffers, before anything moves (kernel
// buffers always pass).
static bool in_bounds(const fs::IoVector& data) {
    if (!data.app()) return true;
    for (size_t i = 0; i < data.segment_count(); ++i) {
        if (!mm::vm::access_ok(data.segment(i).base, data.segment(i).length)) return false;
    }
    return true;
}

BounceBuffer::BounceBuffer(size_t wanted) {
    size_t size = wanted == 0 ? 1 : wanted < bounce_size ? wanted : bounce_size;
    if (size < mm::page_size) {  // a small object: a slab's, never short of contiguous pages
        data_ = static_cast<char*>(malloc(size));
        size_ = data_ ? size : 0;
        return;
    }
    for (; size > mm::page_size; size /= 2) {
        if ((data_ = static_cast<char*>(malloc(size)))) {
            size_ = size;
            return;
        }
    }
    if ((data_ = static_cast<char*>(mm::alloc_pages(0)))) size_ = mm::page_size, whole_page_ = true;
}

BounceBuffer::~BounceBuffer() {
    if (whole_page_) mm::free_pages(data_, 0);
    else free(data_);
}

// Reads into `data` at the file offset (offset < 0) or at `offset`. Streams (pipes,
// devices, sockets, eventfd...) transfer outside the VFS lock, straight into `data`; file
// data goes through a kernel bounce buffer a chunk at a time under the lock.
int64_t file_read(OpenFile* file, fs::IoVector& data, int64_t offset, bool nonblock) {
    // Linux's order: a descriptor not open for reading, then the whole buffer's bounds.
    if (read_denied(file)) return -fs::errno_badf;
    if (!in_bounds(data)) return -errno_fault;
    Vnode* node = file->vnode();
    if (node->is_stream()) {
        if (offset >= 0 && !node->seekable()) return -fs::errno_spipe;
        return node->read_stream(data, nonblock || (file->flags() & fs::o_nonblock));
    }
    size_t length = data.remaining() < max_rw_count ? data.remaining() : max_rw_count;
    BounceBuffer buffer(length);
    char* bounce = buffer.data();
    if (!bounce) return -fs::errno_nomem;
    size_t chunk = buffer.size();
    size_t done = 0;
    int64_t result = 0;
    do {
        size_t want = length - done < chunk ? length - done : chunk;
        int64_t n;
        {
            Guard guard(vfs_lock);
            n = offset < 0 ? file->read(bounce, want) : file->pread(bounce, want, offset + static_cast<int64_t>(done));
        }
        if (n < 0) {
            result = n;
            break;
        }
        if (n > 0) {
            int64_t put = data.put(bounce, static_cast<size_t>(n));
            if (put != n) {
                // A bad address part way: what reached the application counts (and the file
                // offset goes back to just after it, as the data after it was never read).
                if (offset < 0) {
                    Guard guard(vfs_lock);
                    file->seek((put > 0 ? put : 0) - n, fs::seek_cur);
                }
                if (put > 0) done += static_cast<size_t>(put);
                result = -errno_fault;
                break;
            }
        }
        done += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < want) break;
    } while (done < length);
    return done > 0 ? static_cast<int64_t>(done) : result;
}

int64_t file_write(OpenFile* file, fs::IoVector& data, int64_t offset, bool nonblock) {
    if (write_denied(file)) return -fs::errno_badf;
    if (!in_bounds(data)) return -errno_fault;
    Vnode* node = file->vnode();
    if (node->is_stream()) {
        if (offset >= 0 && !node->seekable()) return -fs::errno_spipe;
        return node->write_stream(data, nonblock || (file->flags() & fs::o_nonblock));
    }
    size_t length = data.remaining() < max_rw_count ? data.remaining() : max_rw_count;
    BounceBuffer buffer(length);
    char* bounce = buffer.data();
    if (!bounce) return -fs::errno_nomem;
    size_t chunk = buffer.size();
    size_t done = 0;
    int64_t result = 0;
    do {
        size_t want = length - done < chunk ? length - done : chunk;
        if (want > 0) {
            int64_t got = data.get(bounce, want);
            if (got <= 0) {
                result = got < 0 ? got : -errno_fault;
                break;
            }
            want = static_cast<size_t>(got);  // less after a fault part way: write what came
        }
        int64_t n;
        {
            Guard guard(vfs_lock);
            n = offset < 0 ? file->write(bounce, want) : file->pwrite(bounce, want, offset + static_cast<int64_t>(done));
        }
        if (n < 0) {
            result = n;
            break;
        }
        done += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < want || data.remaining() == 0) break;
    } while (done < length);
    return done > 0 ? static_cast<int64_t>(done) : result;
}

// Copies and checks an iovec array from the application: the segments (heap, the caller's
// to free) or -errno: -EINVAL for too many or a total beyond SSIZE_MAX, -EFAULT.
int read_iovecs(uint64_t app_iov, uint64_t count, fs::IoSegment** out) {
    *out = nullptr;
    if (count > static_cast<uint64_t>(uio_maxiov)) return -fs::errno_inval;
    if (count == 0) return 0;
    auto* iov = static_cast<fs::IoSegment*>(malloc(count * sizeof(fs::IoSegment)));
    if (!iov) return -fs::errno_nomem;
    if (mm::vm::copy_from_app(iov, reinterpret_cast<const void*>(app_iov), count * sizeof(fs::IoSegment)) < 0) {
        free(iov);
        return -static_cast<int>(errno_fault);
    }
    // As Linux imports a vector: a negative length (as ssize_t) is EINVAL, then each
    // element's bounds (access_ok) EFAULT. Elements that pass access_ok lie inside the
    // address space, so their total cannot pass SSIZE_MAX; transfers stop at MAX_RW_COUNT.
    for (uint64_t i = 0; i < count; ++i) {
        if (iov[i].length > static_cast<uint64_t>(INT64_MAX)) {
            free(iov);
            return -fs::errno_inval;
        }
    }
    for (uint64_t i = 0; i < count; ++i) {
        if (!mm::vm::access_ok(iov[i].base, iov[i].length)) {
            free(iov);
            return -static_cast<int>(errno_fault);
        }
    }
    // Kernel threads (the in-kernel tests) skip access_ok: keep the total in range for them.
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; ++i) {
        if (__builtin_add_overflow(total, iov[i].length, &total) || total > static_cast<uint64_t>(INT64_MAX)) {
            free(iov);
            return -fs::errno_inval;
        }
    }
    *out = iov;
    return 0;
}

// readv/writev (offset < 0: at the file offset) and preadv/pwritev (at `offset`, which the
// file keeps): one transfer over all the iovecs (a stream sees them as one request, so a
// socket keeps message boundaries and a pipe write of at most PIPE_BUF stays atomic).
int64_t vector_transfer(int fd, uint64_t app_iov, uint64_t count, bool write, int64_t offset) {
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    if (write ? write_denied(file.get()) : read_denied(file.get())) return -fs::errno_badf;
    fs::IoSegment* iov;
    if (int r = read_iovecs(app_iov, count, &iov); r < 0) return r;
    if (count == 0) return 0;
    fs::IoVector data(iov, count, true);
    int64_t result = write ? file_write(file.get(), data, offset, false) : file_read(file.get(), data, offset, false);
    free(iov);
    return result;
}

int64_t install_node(Vnode* node, int flags, bool close_on_exec) {
    Guard guard(vfs_lock);
    OpenFile* file;
    int result = OpenFile::open(node, flags, &file);
    node->unref();  // the open file holds it now (or nothing does)
    if (result < 0) return result;
    int fd = descriptors().install(file, close_on_exec);
    file->unref();
    return fd;
}

// ---- fcntl constants ----------------------------------------------------------------------

// ---- getcwd -------------------------------------------------------------------------------
// The path of `dir`, by walking ".." up to the root and finding each directory's name in its
// parent (the VFS keeps no names). Lock held. The length including the NUL, or -errno.
int64_t path_of(Vnode* dir, char* buffer, size_t size) {
    Vnode* root = the_vfs->root();
    size_t start = size - 1;  // the path is built backwards, ending at buffer[size - 1]
    buffer[start] = '\0';
    VnodeRef current;
    dir->ref();
    current.node = dir;
    fs::DirEntry* entry = static_cast<fs::DirEntry*>(malloc(sizeof(fs::DirEntry)));
    if (!entry) return -fs::errno_nomem;
    int64_t result = 0;
    while (current.node != root) {
        VnodeRef parent;
        if (int r = the_vfs->lookup(current.node, "..", false, &parent.node); r < 0) {
            result = r;
            break;
        }
        if (parent.node == current.node) break;
        bool found = false;
        for (uint64_t cookie = 0;;) {
            int r = parent.node->readdir(cookie, entry);
            if (r <= 0) break;
            cookie = entry->next_cookie;
            if (fs::name_of(entry->name).is_dot() || fs::name_of(entry->name).is_dotdot()) continue;
            VnodeRef child;
            if (the_vfs->lookup(parent.node, entry->name, false, &child.node) < 0) continue;
            if (child.node == current.node) {
                found = true;
                break;
            }
        }
        if (!found) {
            result = -fs::errno_noent;  // removed, like Linux's "(unreachable)"
            break;
        }
        if (entry->name_length + 1 > start) {
            result = -fs::errno_range;
            break;
        }
        start -= entry->name_length;
        memcpy(buffer + start, entry->name, entry->name_length);
        buffer[--start] = '/';
        parent.node->ref();
        current.node->unref();
        current.node = parent.node;
    }
    free(entry);
    if (result < 0) return result;
    if (start == size - 1) buffer[--start] = '/';
    size_t length = size - start;
    memmove(buffer, buffer + start, length);
    return static_cast<int64_t>(length);
}

// Splits `path` into its directory part (in `dir`, "." when none) and last component;
// false for a trailing slash or no last component.
bool split_path(const char* path, char* dir, const char** last) {
    size_t length = strlen(path);
    if (length == 0 || path[length - 1] == '/') return false;
    const char* slash = strrchr(path, '/');
    if (!slash) {
        memcpy(dir, ".", 2);
        *last = path;
    } else {
        size_t n = static_cast<size_t>(slash - path);
        if (n == 0) n = 1;  // "/name": the root
        memcpy(dir, path, n);
        dir[n] = '\0';
        *last = slash + 1;
    }
    return true;
}


// ---- shared helpers -----------------------------------------------------------------------

uint64_t now_ns() { return bootchart::ns_since_entry(); }

}  // namespace mica::abi::files

// ---- files.h ------------------------------------------------------------------------------

namespace mica::abi {

using namespace files;

fs::Vfs& vfs() { return *the_vfs; }
sched::Mutex& vfs_mutex() { return vfs_lock; }
bool files_ready() { return __atomic_load_n(&ready, __ATOMIC_ACQUIRE); }

int files_init(const void* archive, size_t size, char* error, size_t error_size, const RootFileSystem* root) {
    Guard guard(vfs_lock);
    if (ready) {
        if (root) delete root->fs;
        return 0;
    }
    auto fail = [&](int result, const char* what) {
        if (error && error_size) fmt::snprintf(error, error_size, "%s: error %d", what, -result);
        return result;
    };
    if (!the_vfs) {
        the_vfs = new fs::Vfs(file_clock);
        the_vfs->register_filesystem(&fs::ramfs_type);
        the_vfs->register_filesystem(&devfs_type);
        the_vfs->register_filesystem(&procfs_type);
        int r = root ? the_vfs->mount_instance(root->fs, root->type, nullptr, "/") : the_vfs->mount("ramfs", nullptr, "/");
        if (r < 0) return fail(r, root ? "mounting the root file system" : "mounting the root ramfs");
    } else if (root) {
        delete root->fs;
        return fail(-fs::errno_busy, "the root file system is mounted already");
    }
    // A read-only root (a disk image) gets a ramfs on /tmp; it cannot take an archive.
    bool read_only_root = the_vfs->root()->fs->read_only;
    if (read_only_root && size > 0) return fail(-fs::errno_rofs, "a boot archive cannot be unpacked into a read-only root");
    if (size > 0) {
        fs::CpioReport report;
        if (int r = fs::cpio_unpack(*the_vfs, nullptr, archive, size, &report); r < 0) {
            if (error && error_size) fmt::snprintf(error, error_size, "boot archive: %s", report.error);
            return r;
        }
    }
    struct Dir {
        const char* path;
        uint32_t mode;
        const char* filesystem;
    };
    const Dir dirs[] = {{"/dev", 0755, "devfs"}, {"/proc", 0555, "procfs"},
                        {"/tmp", 01777, read_only_root ? "ramfs" : nullptr}};
    for (const Dir& d : dirs) {
        int r = the_vfs->mkdir(nullptr, d.path, d.mode);
        if (r == -fs::errno_rofs) {
            if (error && error_size) {
                fmt::snprintf(error, error_size, "the root image has no %s directory to mount on (tools/mkimage makes "
                              "/dev, /proc and /tmp; add them to a tree given to mksquashfs)", d.path);
            }
            return r;
        }
        if (r < 0 && r != -fs::errno_exist) return fail(r, d.path);
        if (d.filesystem) {
            if (int m = the_vfs->mount(d.filesystem, nullptr, d.path); m < 0) return fail(m, d.path);
        }
    }
    // Standard input, output and error: one open file description, as init's console.
    OpenFile* console = nullptr;
    if (int r = the_vfs->open(nullptr, "/dev/console", fs::o_rdwr, 0, &console); r < 0) {
        return fail(r, "/dev/console");
    }
    int result = 0;
    for (int fd = 0; fd < 3 && result >= 0; ++fd) {
        if (!descriptors().get(fd)) result = descriptors().install(console, false);
    }
    console->unref();
    if (result < 0) return fail(result, "standard descriptors");
    if (!state().cwd) {
        state().cwd = the_vfs->root();
        state().cwd->ref();
    }
    __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    return 0;
}

void* files_copy() {
    Guard guard(vfs_lock);
    auto* copy = new FilesState{};
    if (!copy) return nullptr;
    if (state().table.copy_to(copy->table) != 0) {
        delete copy;
        return nullptr;
    }
    copy->cwd = state().cwd;
    if (copy->cwd) copy->cwd->ref();
    copy->umask = state().umask;
    return copy;
}

void files_free(void* opaque) {
    auto* files = static_cast<FilesState*>(opaque);
    if (!files) return;
    Guard guard(vfs_lock);
    if (files->cwd) files->cwd->unref();
    delete files;  // closes every descriptor, as close() does, under the lock
}

void files_set_descriptor_limit(void* files, int limit) { static_cast<FilesState*>(files)->table.set_limit(limit); }

void files_exec() {
    Guard guard(vfs_lock);
    descriptors().close_all_on_exec();
}

void files_shutdown() {
    Guard guard(vfs_lock);
    if (!ready) return;
    // Descriptors first (open files hold vnodes), then the working directory, then the mounts.
    descriptors().~FdTable();
    new (&descriptors()) fs::FdTable();
    if (state().cwd) state().cwd->unref();
    state().cwd = nullptr;
    delete the_vfs;
    the_vfs = nullptr;
    memfd_shutdown();
    __atomic_store_n(&ready, false, __ATOMIC_RELEASE);
}

int files_lookup(const char* path, fs::Vnode** out) {
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    Vnode* at;
    if (int r = start_dir(fs::at_fdcwd, path, &at); r < 0) return r;
    return the_vfs->lookup(at, path, true, out);
}

int files_mknod(const char* path, uint32_t mode, fs::Vnode** out) {
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    Vnode* at;
    if (int r = start_dir(fs::at_fdcwd, path, &at); r < 0) return r;
    uint32_t masked = (mode & fs::s_ifmt) | (mode & 07777 & ~state().umask);
    return the_vfs->mknod(at, path, masked, 0, out);
}

int files_unlink(const char* path) {
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    Vnode* at;
    if (int r = start_dir(fs::at_fdcwd, path, &at); r < 0) return r;
    return the_vfs->unlink(at, path);
}

void files_release(fs::OpenFile** files, int count) {
    Guard guard(vfs_lock);
    for (int i = 0; i < count; ++i) files[i]->unref();
}

int files_open_regular(const char* path, fs::OpenFile** out, uint64_t* size) {
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    OpenFile* file;
    if (int r = the_vfs->open(path[0] == '/' ? nullptr : state().cwd, path, fs::o_rdonly, 0, &file); r < 0) return r;
    if (!file->vnode()->is_regular()) {
        file->unref();
        return -fs::errno_acces;
    }
    *out = file;
    *size = file->vnode()->size;
    return 0;
}

int64_t files_read_at(fs::OpenFile* file, void* buffer, size_t length, uint64_t offset) {
    Guard guard(vfs_lock);
    size_t done = 0;
    while (done < length) {
        int64_t n = file->pread(static_cast<char*>(buffer) + done, length - done, static_cast<int64_t>(offset + done));
        if (n < 0) return n;
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return static_cast<int64_t>(done);
}

int files_read_whole(const char* path, void** data, size_t* size) {
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    OpenFile* file;
    if (int r = the_vfs->open(path[0] == '/' ? nullptr : state().cwd, path, fs::o_rdonly, 0, &file); r < 0) return r;
    int64_t result = 0;
    if (!file->vnode()->is_regular()) {
        result = -fs::errno_acces;
    } else {
        // Until end of file, not just st_size bytes: /proc files report size 0.
        size_t capacity = file->vnode()->size + 1, done = 0;
        char* buffer = static_cast<char*>(malloc(capacity));
        while (buffer) {
            if (done == capacity) {
                char* grown = static_cast<char*>(realloc(buffer, capacity * 2));
                if (!grown) {
                    free(buffer);
                    buffer = nullptr;
                    break;
                }
                buffer = grown;
                capacity *= 2;
            }
            int64_t n = file->read(buffer + done, capacity - done);
            if (n < 0) {
                result = n;
                break;
            }
            if (n == 0) break;
            done += static_cast<size_t>(n);
        }
        if (!buffer) {
            result = -fs::errno_nomem;
        } else if (result < 0) {
            free(buffer);
        } else {
            *data = buffer;
            *size = done;
        }
    }
    file->unref();
    return static_cast<int>(result);
}

}  // namespace mica::abi
