// File system calls: descriptors, reads and writes, paths and directories, ioctl, fcntl,
// poll, and files_init (files.h). Pipes, devices and /proc are in pipe.cc, devfs.cc and
// procfs.cc.
//
// Locking: vfs_lock guards the VFS, every vnode and open file, the descriptor table and the
// working directory. A system call on a descriptor takes a reference to its open file under
// the lock (FileRef); regular files are then read and written a chunk at a time under the lock
// through a kernel bounce buffer (the filesystem code never touches application memory),
// while pipes and devices are driven outside it, since they may block or be slow.
#include <mica/bootchart.h>
#include <mica/format.h>
#include <mica/fs/cpio.h>
#include <mica/fs/ramfs.h>
#include <mica/clock.h>
#include <mica/linux/files.h>
#include <mica/linux/pipe_buffer.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <string.h>
#include "files_impl.h"

namespace mica::abi::files {

using fs::OpenFile;
using fs::Vnode;

// ---- global state -------------------------------------------------------------------------
// The one process's file state, owned here and guarded by vfs_lock (except `ready`, set
// once under it and read without it after).
sched::Mutex vfs_lock;
fs::Vfs* the_vfs = nullptr;
fs::FdTable fd_table;          // shared by every thread of the application
Vnode* cwd = nullptr;          // referenced; the root until chdir
uint32_t file_mode_mask = 022; // umask
bool ready = false;



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
        *at = path[0] == '/' ? nullptr : cwd;
        return 0;
    }
    OpenFile* file = fd_table.get(dirfd);
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
            if (!cwd) return -fs::errno_noent;
            cwd->ref();
            *out = cwd;
            return 0;
        }
        OpenFile* file = fd_table.get(dirfd);
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

// Reads into `buffer` at the file offset (offset < 0) or at `offset`.
int64_t file_read(OpenFile* file, Buffer buffer, size_t length, int64_t offset, bool nonblock) {
    // Linux's order: a descriptor not open for reading, then the whole buffer's bounds.
    if (read_denied(file)) return -fs::errno_badf;
    if (!buffer.in_bounds(length)) return -errno_fault;
    if (length > max_rw_count) length = max_rw_count;
    Vnode* node = file->vnode();
    if (is_pipe(node) || is_device(node)) {
        if (is_pipe(node)) {
            if (offset >= 0) return -fs::errno_spipe;
            return pipe_read(node, buffer, length, nonblock || (file->flags() & fs::o_nonblock));
        }
        return static_cast<Device*>(node)->transfer_read(buffer, length);
    }
    size_t chunk = length < bounce_size ? length : bounce_size;
    char* bounce = static_cast<char*>(malloc(chunk ? chunk : 1));
    if (!bounce) return -fs::errno_nomem;
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
        if (n > 0 && buffer.put(done, bounce, static_cast<size_t>(n)) < 0) {
            result = -errno_fault;
            break;
        }
        done += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < want) break;
    } while (done < length);
    free(bounce);
    return done > 0 ? static_cast<int64_t>(done) : result;
}

int64_t file_write(OpenFile* file, Buffer buffer, size_t length, int64_t offset) {
    if (write_denied(file)) return -fs::errno_badf;
    if (!buffer.in_bounds(length)) return -errno_fault;
    if (length > max_rw_count) length = max_rw_count;
    Vnode* node = file->vnode();
    if (is_pipe(node) || is_device(node)) {
        if (is_pipe(node)) {
            if (offset >= 0) return -fs::errno_spipe;
            return pipe_write(node, buffer, length, file->flags() & fs::o_nonblock);
        }
        return static_cast<Device*>(node)->transfer_write(buffer, length);
    }
    size_t chunk = length < bounce_size ? length : bounce_size;
    char* bounce = static_cast<char*>(malloc(chunk ? chunk : 1));
    if (!bounce) return -fs::errno_nomem;
    size_t done = 0;
    int64_t result = 0;
    do {
        size_t want = length - done < chunk ? length - done : chunk;
        if (want > 0 && buffer.get(done, bounce, want) < 0) {
            result = -errno_fault;
            break;
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
        if (static_cast<size_t>(n) < want) break;
    } while (done < length);
    free(bounce);
    return done > 0 ? static_cast<int64_t>(done) : result;
}


// readv/writev (offset < 0: at the file offset) and preadv/pwritev (at `offset`, which the
// file keeps): the iovecs in order, stopping at the first short transfer.
int64_t vector_transfer(int fd, uint64_t app_iov, uint64_t count, bool write, int64_t offset) {
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    if (write ? write_denied(file.get()) : read_denied(file.get())) return -fs::errno_badf;
    if (offset >= 0 && is_pipe(file->vnode())) return -fs::errno_spipe;
    if (count > static_cast<uint64_t>(uio_maxiov)) return -fs::errno_inval;
    if (count == 0) return 0;
    auto* iov = static_cast<IoVec*>(malloc(count * sizeof(IoVec)));
    if (!iov) return -fs::errno_nomem;
    int64_t result = 0;
    if (mm::vm::copy_from_app(iov, reinterpret_cast<const void*>(app_iov), count * sizeof(IoVec)) < 0) {
        result = -errno_fault;
    } else {
        // As Linux imports a vector: a negative length (as ssize_t) is EINVAL, then each
        // element's bounds (access_ok) EFAULT. A total past SSIZE_MAX cannot follow from
        // lengths that pass access_ok; the transfer stops at MAX_RW_COUNT anyway.
        for (uint64_t i = 0; i < count; ++i) {
            if (iov[i].length > static_cast<uint64_t>(INT64_MAX)) result = -fs::errno_inval;
        }
        for (uint64_t i = 0; result == 0 && i < count; ++i) {
            if (!mm::vm::access_ok(iov[i].base, iov[i].length)) result = -errno_fault;
        }
        size_t done = 0;
        for (uint64_t i = 0; result == 0 && i < count && done < max_rw_count; ++i) {
            if (iov[i].length == 0) continue;
            Buffer buffer{reinterpret_cast<char*>(iov[i].base), true};
            // After some data, a read must not block for more (a pipe that ran dry).
            int64_t at = offset < 0 ? -1 : offset + static_cast<int64_t>(done);
            int64_t n = write ? file_write(file.get(), buffer, iov[i].length, at)
                              : file_read(file.get(), buffer, iov[i].length, at, done > 0);
            if (n < 0) {
                if (done == 0) result = n;
                break;
            }
            done += static_cast<size_t>(n);
            if (static_cast<uint64_t>(n) < iov[i].length) break;
        }
        if (result == 0) result = static_cast<int64_t>(done);
    }
    free(iov);
    return result;
}

// ---- poll ---------------------------------------------------------------------------------
// Owned here: the notification counter pollers sleep on.
sched::Mutex poll_lock;
sched::CondVar poll_changed;
uint64_t poll_generation = 0;


unsigned poll_mask(OpenFile* file) {
    Vnode* node = file->vnode();
    if (is_pipe(node)) return pipe_poll(node);
    if (is_device(node)) return static_cast<Device*>(node)->poll();
    return pollin | pollrdnorm | pollout | pollwrnorm;  // files never block
}

int scan(PollFd* fds, size_t count) {
    Guard guard(vfs_lock);
    int ready_count = 0;
    for (size_t i = 0; i < count; ++i) {
        fds[i].revents = 0;
        if (fds[i].fd < 0) continue;
        OpenFile* file = fd_table.get(fds[i].fd);
        unsigned mask = file ? poll_mask(file) : pollnval;
        mask &= static_cast<uint16_t>(fds[i].events) | pollerr | pollhup | pollnval;
        fds[i].revents = static_cast<int16_t>(mask);
        if (mask) ++ready_count;
    }
    return ready_count;
}

// timeout_ns < 0: no timeout.
int64_t do_poll(uint64_t app_fds, uint64_t count, int64_t timeout_ns) {
    if (count > static_cast<uint64_t>(fd_table.limit())) return -fs::errno_inval;
    PollFd* fds = nullptr;
    if (count > 0) {
        fds = static_cast<PollFd*>(malloc(count * sizeof(PollFd)));
        if (!fds) return -fs::errno_nomem;
        if (mm::vm::copy_from_app(fds, reinterpret_cast<const void*>(app_fds), count * sizeof(PollFd)) < 0) {
            free(fds);
            return -errno_fault;
        }
    }
    uint64_t deadline = timeout_ns < 0 ? 0 : now_ns() + static_cast<uint64_t>(timeout_ns);
    int ready_count;
    for (;;) {
        uint64_t generation;
        {
            Guard guard(poll_lock);
            generation = poll_generation;
        }
        ready_count = scan(fds, count);
        if (ready_count > 0 || timeout_ns == 0) break;
        uint64_t wait_ns = 0;  // 0: until notified
        if (timeout_ns > 0) {
            uint64_t now = now_ns();
            if (now >= deadline) break;
            wait_ns = deadline - now;
        }
        Guard guard(poll_lock);
        if (poll_generation == generation) poll_changed.wait(poll_lock, wait_ns);
    }
    int64_t result = ready_count;
    if (count > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(app_fds), fds, count * sizeof(PollFd)) < 0) {
        result = -errno_fault;
    }
    free(fds);
    return result;
}

// ---- terminal ioctls ----------------------------------------------------------------------


// A terminal in the state a fresh Linux tty has ("stty sane"): 38400 baud, 8 bits, canonical
// mode with echo, output CR-LF translation.
KernelTermios default_termios() {
    KernelTermios t{};
    t.c_iflag = 0x0500;  // ICRNL | IXON
    t.c_oflag = 0x0005;  // OPOST | ONLCR
    t.c_cflag = 0x00bf;  // B38400 | CS8 | CREAD | HUPCL
    t.c_lflag = 0x8a3b;  // ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    const uint8_t cc[] = {3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0};
    memcpy(t.c_cc, cc, sizeof(cc));
    return t;
}

int64_t terminal_ioctl(unsigned long request, uint64_t arg) {
    void* app = reinterpret_cast<void*>(arg);
    switch (request) {
    case tcgets: {
        KernelTermios t = default_termios();
        return mm::vm::copy_to_app(app, &t, sizeof(t));
    }
    case tcsets:
    case tcsetsw:
    case tcsetsf: {
        // Accepted and ignored: output is a serial console with fixed settings.
        KernelTermios t;
        return mm::vm::copy_from_app(&t, app, sizeof(t));
    }
    case tiocgwinsz: {
        WinSize w{terminal_rows, terminal_cols, 0, 0};
        return mm::vm::copy_to_app(app, &w, sizeof(w));
    }
    case tiocswinsz: {
        WinSize w;
        return mm::vm::copy_from_app(&w, app, sizeof(w));
    }
    case tiocgpgrp: {
        int32_t group = 1;  // the application is process 1
        return mm::vm::copy_to_app(app, &group, sizeof(group));
    }
    case tiocspgrp: {
        int32_t group;
        return mm::vm::copy_from_app(&group, app, sizeof(group));
    }
    default: return -errno_notty;
    }
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

bool Buffer::in_bounds(size_t length) const {
    return !app || mm::vm::access_ok(reinterpret_cast<uintptr_t>(data), length);
}

int Buffer::put(size_t at, const void* source, size_t length) const {
    if (!app) {
        memcpy(data + at, source, length);
        return 0;
    }
    return mm::vm::copy_to_app(data + at, source, length) < 0 ? -static_cast<int>(errno_fault) : 0;
}

int Buffer::get(size_t at, void* target, size_t length) const {
    if (!app) {
        memcpy(target, data + at, length);
        return 0;
    }
    return mm::vm::copy_from_app(target, data + at, length) < 0 ? -static_cast<int>(errno_fault) : 0;
}

void poll_notify() {
    Guard guard(poll_lock);
    ++poll_generation;
    poll_changed.broadcast();
}

uint64_t now_ns() { return bootchart::ns_since_entry(); }

}  // namespace mica::abi::files

// ---- files.h ------------------------------------------------------------------------------

namespace mica::abi {

using namespace files;

fs::Vfs& vfs() { return *the_vfs; }
sched::Mutex& vfs_mutex() { return vfs_lock; }
bool files_ready() { return __atomic_load_n(&ready, __ATOMIC_ACQUIRE); }

int files_init(const void* archive, size_t size, char* error, size_t error_size) {
    Guard guard(vfs_lock);
    if (ready) return 0;
    auto fail = [&](int result, const char* what) {
        if (error && error_size) fmt::snprintf(error, error_size, "%s: error %d", what, -result);
        return result;
    };
    if (!the_vfs) {
        the_vfs = new fs::Vfs(file_clock);
        the_vfs->register_filesystem(&fs::ramfs_type);
        the_vfs->register_filesystem(&devfs_type);
        the_vfs->register_filesystem(&procfs_type);
        if (int r = the_vfs->mount("ramfs", nullptr, "/"); r < 0) return fail(r, "mounting the root ramfs");
    }
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
    const Dir dirs[] = {{"/dev", 0755, "devfs"}, {"/proc", 0555, "procfs"}, {"/tmp", 01777, nullptr}};
    for (const Dir& d : dirs) {
        int r = the_vfs->mkdir(nullptr, d.path, d.mode);
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
        if (!fd_table.get(fd)) result = fd_table.install(console, false);
    }
    console->unref();
    if (result < 0) return fail(result, "standard descriptors");
    if (!cwd) {
        cwd = the_vfs->root();
        cwd->ref();
    }
    __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    return 0;
}

namespace {
struct SavedFiles {
    fs::FdTable table;
    Vnode* cwd;
    uint32_t umask;
};
}  // namespace

void* files_fork() {
    Guard guard(vfs_lock);
    auto* saved = new SavedFiles{};
    if (fd_table.copy_to(saved->table) != 0) {
        delete saved;
        return nullptr;
    }
    saved->cwd = cwd;
    if (cwd) cwd->ref();
    saved->umask = file_mode_mask;
    return saved;
}

void files_restore(void* opaque) {
    auto* saved = static_cast<SavedFiles*>(opaque);
    {
        Guard guard(vfs_lock);
        fd_table.swap(saved->table);
        if (cwd) cwd->unref();
        cwd = saved->cwd;
        file_mode_mask = saved->umask;
        delete saved;  // closes what the child still had open, as close() does, under the lock
    }
    poll_notify();
}

void files_exec() {
    Guard guard(vfs_lock);
    fd_table.close_all_on_exec();
}

void files_shutdown() {
    Guard guard(vfs_lock);
    if (!ready) return;
    // Descriptors first (open files hold vnodes), then the working directory, then the mounts.
    fd_table.~FdTable();
    new (&fd_table) fs::FdTable();
    if (cwd) cwd->unref();
    cwd = nullptr;
    delete the_vfs;
    the_vfs = nullptr;
    __atomic_store_n(&ready, false, __ATOMIC_RELEASE);
}

int files_read_whole(const char* path, void** data, size_t* size) {
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    OpenFile* file;
    if (int r = the_vfs->open(path[0] == '/' ? nullptr : cwd, path, fs::o_rdonly, 0, &file); r < 0) return r;
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
