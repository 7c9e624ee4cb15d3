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
#include "files_internal.h"

namespace mica::abi::files {
namespace {

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

using Guard = sched::LockGuard<sched::Mutex>;

constexpr size_t bounce_size = 64 * 1024;        // regular-file transfers per lock hold
constexpr size_t max_rw_count = 0x7ffff000;      // Linux's MAX_RW_COUNT
constexpr int uio_maxiov = 1024;                 // iovecs per readv/writev
constexpr size_t getdents_max = 64 * 1024;       // kernel buffer for one getdents64

fs::Timespec file_clock() {
    // The wall clock (an RTC reading at boot plus the uptime; the epoch at boot without one).
    uint64_t ns = clock::realtime_ns();
    return fs::Timespec{static_cast<int64_t>(ns / 1000000000), static_cast<int64_t>(ns % 1000000000)};
}

// A reference to the open file behind a descriptor, taken and dropped under the lock.
class FileRef {
public:
    explicit FileRef(int fd) {
        Guard guard(vfs_lock);
        file_ = fd_table.get(fd);
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
    if (length > max_rw_count) length = max_rw_count;
    Vnode* node = file->vnode();
    if (is_pipe(node) || is_device(node)) {
        if (read_denied(file)) return -fs::errno_badf;
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
    if (length > max_rw_count) length = max_rw_count;
    Vnode* node = file->vnode();
    if (is_pipe(node) || is_device(node)) {
        if (write_denied(file)) return -fs::errno_badf;
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

struct IoVec {
    uint64_t base;
    uint64_t length;
};

// readv/writev/preadv-style: the iovecs in order, stopping at the first short transfer.
int64_t vector_transfer(int fd, uint64_t app_iov, uint64_t count, bool write) {
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    if (write ? write_denied(file.get()) : read_denied(file.get())) return -fs::errno_badf;
    if (count > static_cast<uint64_t>(uio_maxiov)) return -fs::errno_inval;
    if (count == 0) return 0;
    auto* iov = static_cast<IoVec*>(malloc(count * sizeof(IoVec)));
    if (!iov) return -fs::errno_nomem;
    int64_t result = 0;
    if (mm::vm::copy_from_app(iov, reinterpret_cast<const void*>(app_iov), count * sizeof(IoVec)) < 0) {
        result = -errno_fault;
    } else {
        uint64_t total = 0;
        for (uint64_t i = 0; i < count; ++i) {
            if (iov[i].length > static_cast<uint64_t>(INT64_MAX) || __builtin_add_overflow(total, iov[i].length, &total) ||
                total > static_cast<uint64_t>(INT64_MAX)) {
                result = -fs::errno_inval;
                break;
            }
        }
        size_t done = 0;
        for (uint64_t i = 0; result == 0 && i < count && done < max_rw_count; ++i) {
            if (iov[i].length == 0) continue;
            Buffer buffer{reinterpret_cast<char*>(iov[i].base), true};
            // After some data, a read must not block for more (a pipe that ran dry).
            int64_t n = write ? file_write(file.get(), buffer, iov[i].length, -1)
                              : file_read(file.get(), buffer, iov[i].length, -1, done > 0);
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

struct PollFd {
    int32_t fd;
    int16_t events;
    int16_t revents;
};

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
// Linux's struct termios as the kernel passes it (asm-generic/termbits.h: NCCS 19; the same
// on x86_64 and aarch64) and struct winsize.
struct KernelTermios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);
struct WinSize {
    uint16_t rows, cols, xpixel, ypixel;
};

constexpr unsigned long tcgets = 0x5401, tcsets = 0x5402, tcsetsw = 0x5403, tcsetsf = 0x5404,
                        tiocgpgrp = 0x540f, tiocspgrp = 0x5410, tiocgwinsz = 0x5413,
                        tiocswinsz = 0x5414, fionread = 0x541b, fionbio = 0x5421,
                        fionclex = 0x5450, fioclex = 0x5451;

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
constexpr uint16_t terminal_rows = 24, terminal_cols = 80;

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
constexpr int f_dupfd = 0, f_getfd = 1, f_setfd = 2, f_getfl = 3, f_setfl = 4, f_getlk = 5,
              f_setlk = 6, f_setlkw = 7, f_ofd_getlk = 36, f_ofd_setlk = 37, f_ofd_setlkw = 38,
              f_dupfd_cloexec = 1030, f_getpipe_sz = 1032, f_setpipe_sz = 1031;
constexpr int fd_cloexec = 1;
constexpr int16_t f_unlck = 2;

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

}  // namespace

// ---- shared helpers -----------------------------------------------------------------------

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

// ---- system calls -------------------------------------------------------------------------

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;
using fs::OpenFile;
using fs::Vnode;

namespace {
int fd_arg(uint64_t value) { return static_cast<int>(value); }
Buffer app_buffer(uint64_t address) { return Buffer{reinterpret_cast<char*>(address), true}; }
uint32_t masked_mode(uint64_t mode) { return static_cast<uint32_t>(mode) & 07777 & ~file_mode_mask; }

int64_t do_openat(int dirfd, uint64_t app_path, int flags, uint64_t mode) {
    constexpr int o_tmpfile = 020000000;
    if (flags & o_tmpfile) return -errno_opnotsupp;
    AppPath path(app_path);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    Vnode* at;
    if (int r = start_dir(dirfd, path.get(), &at); r < 0) return r;
    OpenFile* file;
    if (int r = the_vfs->open(at, path.get(), flags, masked_mode(mode), &file); r < 0) return r;
    int fd = fd_table.install(file, (flags & fs::o_cloexec) != 0);
    file->unref();
    return fd;
}

int64_t do_stat(int dirfd, uint64_t app_path, uint64_t app_stat, int flags) {
    if (flags & ~(fs::at_symlink_nofollow | fs::at_empty_path | 0x800 /* AT_NO_AUTOMOUNT */)) return -fs::errno_inval;
    AppPath path(app_path);
    if (path.error()) return path.error();
    fs::LinuxStat st;
    {
        Guard guard(vfs_lock);
        VnodeRef node;
        int r = resolve(dirfd, path.get(), flags & fs::at_empty_path, !(flags & fs::at_symlink_nofollow), &node.node);
        if (r < 0) return r;
        fs::fill_stat(*node.node, &st);
    }
    return mm::vm::copy_to_app(reinterpret_cast<void*>(app_stat), &st, sizeof(st));
}

int64_t do_mkdirat(int dirfd, uint64_t app_path, uint64_t mode) {
    AppPath path(app_path);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    Vnode* at;
    if (int r = start_dir(dirfd, path.get(), &at); r < 0) return r;
    return the_vfs->mkdir(at, path.get(), masked_mode(mode));
}

int64_t do_unlinkat(int dirfd, uint64_t app_path, int flags) {
    if (flags & ~fs::at_removedir) return -fs::errno_inval;
    AppPath path(app_path);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    Vnode* at;
    if (int r = start_dir(dirfd, path.get(), &at); r < 0) return r;
    return (flags & fs::at_removedir) ? the_vfs->rmdir(at, path.get()) : the_vfs->unlink(at, path.get());
}

constexpr unsigned rename_noreplace = 1, rename_exchange = 2, rename_whiteout = 4;

int64_t do_renameat(int old_dirfd, uint64_t app_old, int new_dirfd, uint64_t app_new, unsigned flags) {
    if (flags & ~(rename_noreplace | rename_exchange | rename_whiteout)) return -fs::errno_inval;
    if ((flags & rename_noreplace) && (flags & rename_exchange)) return -fs::errno_inval;
    if (flags & (rename_exchange | rename_whiteout)) return -fs::errno_inval;  // not supported
    AppPath old_path(app_old), new_path(app_new);
    if (old_path.error()) return old_path.error();
    if (new_path.error()) return new_path.error();
    Guard guard(vfs_lock);
    Vnode *old_at, *new_at;
    if (int r = start_dir(old_dirfd, old_path.get(), &old_at); r < 0) return r;
    if (int r = start_dir(new_dirfd, new_path.get(), &new_at); r < 0) return r;
    if (flags & rename_noreplace) {
        VnodeRef existing;
        if (the_vfs->lookup(new_at, new_path.get(), false, &existing.node) == 0) return -fs::errno_exist;
    }
    return the_vfs->rename(old_at, old_path.get(), new_at, new_path.get());
}

int64_t do_symlinkat(uint64_t app_target, int dirfd, uint64_t app_path) {
    AppPath target(app_target), path(app_path);
    if (target.error()) return target.error();
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    Vnode* at;
    if (int r = start_dir(dirfd, path.get(), &at); r < 0) return r;
    return the_vfs->symlink(target.get(), at, path.get());
}

int64_t do_readlinkat(int dirfd, uint64_t app_path, uint64_t app_buffer_address, int64_t size) {
    if (size <= 0) return -fs::errno_inval;
    AppPath path(app_path);
    if (path.error()) return path.error();
    size_t capacity = static_cast<size_t>(size) < fs::path_max ? static_cast<size_t>(size) : fs::path_max;
    char* text = static_cast<char*>(malloc(capacity));
    if (!text) return -fs::errno_nomem;
    int64_t n;
    {
        Guard guard(vfs_lock);
        Vnode* at;
        n = start_dir(dirfd, path.get(), &at);
        if (n == 0) n = the_vfs->readlink(at, path.get(), text, capacity);
    }
    if (n > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(app_buffer_address), text, static_cast<size_t>(n)) < 0) {
        n = -errno_fault;
    }
    free(text);
    return n;
}

int64_t do_linkat(int old_dirfd, uint64_t app_old, int new_dirfd, uint64_t app_new, int flags) {
    if (flags & ~(fs::at_symlink_follow | fs::at_empty_path)) return -fs::errno_inval;
    AppPath old_path(app_old, (flags & fs::at_empty_path) != 0), new_path(app_new);
    if (old_path.error()) return old_path.error();
    if (new_path.error()) return new_path.error();
    Guard guard(vfs_lock);
    Vnode *old_at = nullptr, *new_at;
    if (!old_path.empty()) {
        if (int r = start_dir(old_dirfd, old_path.get(), &old_at); r < 0) return r;
    }
    if (int r = start_dir(new_dirfd, new_path.get(), &new_at); r < 0) return r;
    if (!(flags & (fs::at_symlink_follow | fs::at_empty_path))) {
        return the_vfs->link(old_at, old_path.get(), new_at, new_path.get());
    }
    // Linking what a symlink points to, or an open file: resolve the node, then add the
    // name in the new directory the way Vfs::link does.
    VnodeRef node;
    if (int r = resolve(old_dirfd, old_path.get(), (flags & fs::at_empty_path) != 0, true, &node.node); r < 0) return r;
    if (node.node->is_directory()) return -fs::errno_perm;
    char* dir_path = static_cast<char*>(malloc(fs::path_max));
    if (!dir_path) return -fs::errno_nomem;
    const char* last;
    int64_t result;
    if (!split_path(new_path.get(), dir_path, &last)) {
        result = -fs::errno_noent;
    } else {
        VnodeRef dir, existing;
        result = the_vfs->lookup(new_at, dir_path, true, &dir.node);
        fs::Name name = fs::name_of(last);
        if (result == 0 && !dir.node->is_directory()) result = -fs::errno_notdir;
        if (result == 0 && (name.is_dot() || name.is_dotdot() || dir.node->lookup(name, &existing.node) == 0)) {
            result = -fs::errno_exist;
        }
        if (result == 0 && name.length > fs::name_max) result = -fs::errno_nametoolong;
        if (result == 0 && dir.node->fs != node.node->fs) result = -fs::errno_xdev;
        if (result == 0) result = dir.node->link(name, node.node);
    }
    free(dir_path);
    return result;
}

constexpr int f_ok = 0, x_ok = 1, w_ok = 2, r_ok = 4, at_eaccess = 0x200;

int64_t do_faccessat(int dirfd, uint64_t app_path, uint64_t mode, int flags) {
    if (mode & ~static_cast<uint64_t>(f_ok | x_ok | w_ok | r_ok)) return -fs::errno_inval;
    if (flags & ~(at_eaccess | fs::at_symlink_nofollow | fs::at_empty_path)) return -fs::errno_inval;
    AppPath path(app_path, (flags & fs::at_empty_path) != 0);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    VnodeRef node;
    int r = resolve(dirfd, path.get(), flags & fs::at_empty_path, !(flags & fs::at_symlink_nofollow), &node.node);
    if (r < 0) return r;
    // The application runs as root: reading and writing are allowed; executing needs an
    // execute bit on anything but a directory.
    if ((mode & x_ok) && !node.node->is_directory() && !(node.node->mode & 0111)) return -fs::errno_acces;
    return 0;
}

int64_t do_truncate_fd(int fd, int64_t length) {
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    Guard guard(vfs_lock);
    return file->truncate(length);
}

int64_t do_fcntl(int fd, int command, uint64_t arg) {
    Guard guard(vfs_lock);
    OpenFile* file = fd_table.get(fd);
    if (!file) return -fs::errno_badf;
    switch (command) {
    case f_dupfd: return fd_table.dup_from(fd, static_cast<int>(arg), false);
    case f_dupfd_cloexec: return fd_table.dup_from(fd, static_cast<int>(arg), true);
    case f_getfd: return fd_table.close_on_exec(fd) == 1 ? fd_cloexec : 0;
    case f_setfd: return fd_table.set_close_on_exec(fd, (arg & fd_cloexec) != 0);
    case f_getfl: return file->flags();
    case f_setfl:
        file->set_status_flags(static_cast<int>(arg));
        return 0;
    case f_getlk:
    case f_ofd_getlk: {
        // No other process can hold a lock: report the range unlocked.
        int16_t type = f_unlck;
        return mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &type, sizeof(type));
    }
    case f_setlk:
    case f_setlkw:
    case f_ofd_setlk:
    case f_ofd_setlkw: {
        // Locks only matter between processes; there is one. Check the argument is readable.
        int16_t type;
        return mm::vm::copy_from_app(&type, reinterpret_cast<const void*>(arg), sizeof(type));
    }
    case f_getpipe_sz: return is_pipe(file->vnode()) ? static_cast<int64_t>(pipe_capacity) : -fs::errno_badf;
    case f_setpipe_sz: return is_pipe(file->vnode()) ? static_cast<int64_t>(pipe_capacity) : -fs::errno_badf;
    default: return -fs::errno_inval;
    }
}

int64_t do_dup3(int old_fd, int new_fd, int flags) {
    Guard guard(vfs_lock);
    return fd_table.dup3(old_fd, new_fd, flags);
}

int64_t do_pipe2(uint64_t app_fds, int flags) {
    if (flags & ~(fs::o_cloexec | fs::o_nonblock | fs::o_direct)) return -fs::errno_inval;
    int32_t fds[2];
    {
        Guard guard(vfs_lock);
        OpenFile *reader, *writer;
        if (int r = pipe_create(flags, &reader, &writer); r < 0) return r;
        bool cloexec = (flags & fs::o_cloexec) != 0;
        fds[0] = fd_table.install(reader, cloexec);
        fds[1] = fds[0] < 0 ? -1 : fd_table.install(writer, cloexec);
        reader->unref();
        writer->unref();
        if (fds[1] < 0) {
            if (fds[0] >= 0) fd_table.close(fds[0]);
            return fds[0] < 0 ? fds[0] : fds[1];
        }
    }
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(app_fds), fds, sizeof(fds)) < 0) {
        Guard guard(vfs_lock);
        fd_table.close(fds[0]);
        fd_table.close(fds[1]);
        return -errno_fault;
    }
    return 0;
}

struct LinuxTimespec {
    int64_t sec;
    int64_t nsec;
};

// struct statx (linux/stat.h), 256 bytes.
struct StatxTimestamp {
    int64_t sec;
    uint32_t nsec;
    int32_t reserved;
};
struct Statx {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, spare0;
    uint64_t ino, size, blocks, attributes_mask;
    StatxTimestamp atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t mnt_id;
    uint32_t dio_mem_align, dio_offset_align;
    uint64_t spare3[12];
};
static_assert(sizeof(Statx) == 256 && offsetof(Statx, atime) == 64 && offsetof(Statx, rdev_major) == 128);
constexpr uint32_t statx_basic_stats = 0x7ff;
constexpr int at_statx_sync_type = 0x6000;

uint32_t dev_major(uint64_t dev) { return static_cast<uint32_t>((dev >> 8) & 0xfff); }
uint32_t dev_minor(uint64_t dev) { return static_cast<uint32_t>((dev & 0xff) | ((dev >> 12) & 0xfff00)); }

}  // namespace

int64_t sys_read(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    return file_read(file.get(), app_buffer(args[1]), args[2], -1, false);
}

int64_t sys_write(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    return file_write(file.get(), app_buffer(args[1]), args[2], -1);
}

int64_t sys_readv(const uint64_t* args) { return vector_transfer(fd_arg(args[0]), args[1], args[2], false); }
int64_t sys_writev(const uint64_t* args) { return vector_transfer(fd_arg(args[0]), args[1], args[2], true); }

int64_t sys_pread64(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    auto offset = static_cast<int64_t>(args[3]);
    if (offset < 0) return is_pipe(file->vnode()) ? -fs::errno_spipe : -fs::errno_inval;
    return file_read(file.get(), app_buffer(args[1]), args[2], offset, false);
}

int64_t sys_pwrite64(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    auto offset = static_cast<int64_t>(args[3]);
    if (offset < 0) return is_pipe(file->vnode()) ? -fs::errno_spipe : -fs::errno_inval;
    return file_write(file.get(), app_buffer(args[1]), args[2], offset);
}

int64_t sys_open(const uint64_t* args) {
    return do_openat(fs::at_fdcwd, args[0], static_cast<int>(args[1]), args[2]);
}
int64_t sys_openat(const uint64_t* args) {
    return do_openat(fd_arg(args[0]), args[1], static_cast<int>(args[2]), args[3]);
}

int64_t sys_close(const uint64_t* args) {
    Guard guard(vfs_lock);
    return fd_table.close(fd_arg(args[0]));
}

int64_t sys_lseek(const uint64_t* args) {
    Guard guard(vfs_lock);
    OpenFile* file = fd_table.get(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    return file->seek(static_cast<int64_t>(args[1]), static_cast<int>(args[2]));
}

int64_t sys_fstat(const uint64_t* args) {
    fs::LinuxStat st;
    {
        Guard guard(vfs_lock);
        OpenFile* file = fd_table.get(fd_arg(args[0]));
        if (!file) return -fs::errno_badf;
        fs::fill_stat(*file->vnode(), &st);
    }
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &st, sizeof(st));
}

int64_t sys_stat(const uint64_t* args) { return do_stat(fs::at_fdcwd, args[0], args[1], 0); }
int64_t sys_lstat(const uint64_t* args) { return do_stat(fs::at_fdcwd, args[0], args[1], fs::at_symlink_nofollow); }
int64_t sys_newfstatat(const uint64_t* args) {
    return do_stat(fd_arg(args[0]), args[1], args[2], static_cast<int>(args[3]));
}

int64_t sys_statx(const uint64_t* args) {
    int dirfd = fd_arg(args[0]);
    int flags = static_cast<int>(args[2]);
    if (flags & ~(fs::at_symlink_nofollow | fs::at_empty_path | 0x800 | at_statx_sync_type)) return -fs::errno_inval;
    if ((flags & at_statx_sync_type) == at_statx_sync_type) return -fs::errno_inval;
    AppPath path(args[1], (flags & fs::at_empty_path) != 0);
    if (path.error()) return path.error();
    fs::LinuxStat st;
    {
        Guard guard(vfs_lock);
        VnodeRef node;
        int r = resolve(dirfd, path.get(), flags & fs::at_empty_path, !(flags & fs::at_symlink_nofollow), &node.node);
        if (r < 0) return r;
        fs::fill_stat(*node.node, &st);
    }
    Statx sx{};
    sx.mask = statx_basic_stats;
    sx.blksize = static_cast<uint32_t>(st.st_blksize);
    sx.nlink = static_cast<uint32_t>(st.st_nlink);
    sx.uid = st.st_uid;
    sx.gid = st.st_gid;
    sx.mode = static_cast<uint16_t>(st.st_mode);
    sx.ino = st.st_ino;
    sx.size = static_cast<uint64_t>(st.st_size);
    sx.blocks = static_cast<uint64_t>(st.st_blocks);
    sx.atime = StatxTimestamp{static_cast<int64_t>(st.st_atime_sec), static_cast<uint32_t>(st.st_atime_nsec), 0};
    sx.mtime = StatxTimestamp{static_cast<int64_t>(st.st_mtime_sec), static_cast<uint32_t>(st.st_mtime_nsec), 0};
    sx.ctime = StatxTimestamp{static_cast<int64_t>(st.st_ctime_sec), static_cast<uint32_t>(st.st_ctime_nsec), 0};
    sx.rdev_major = dev_major(st.st_rdev);
    sx.rdev_minor = dev_minor(st.st_rdev);
    sx.dev_major = dev_major(st.st_dev);
    sx.dev_minor = dev_minor(st.st_dev);
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[4]), &sx, sizeof(sx));
}

int64_t sys_getdents64(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    size_t size = args[2] < getdents_max ? static_cast<size_t>(args[2]) : getdents_max;
    char* records = static_cast<char*>(malloc(size ? size : 1));
    if (!records) return -fs::errno_nomem;
    int64_t n;
    {
        Guard guard(vfs_lock);
        n = file->getdents64(records, size);
    }
    if (n > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), records, static_cast<size_t>(n)) < 0) {
        n = -errno_fault;
    }
    free(records);
    return n;
}

int64_t sys_mkdir(const uint64_t* args) { return do_mkdirat(fs::at_fdcwd, args[0], args[1]); }
int64_t sys_mkdirat(const uint64_t* args) { return do_mkdirat(fd_arg(args[0]), args[1], args[2]); }
int64_t sys_unlink(const uint64_t* args) { return do_unlinkat(fs::at_fdcwd, args[0], 0); }
int64_t sys_rmdir(const uint64_t* args) { return do_unlinkat(fs::at_fdcwd, args[0], fs::at_removedir); }
int64_t sys_unlinkat(const uint64_t* args) {
    return do_unlinkat(fd_arg(args[0]), args[1], static_cast<int>(args[2]));
}
int64_t sys_rename(const uint64_t* args) { return do_renameat(fs::at_fdcwd, args[0], fs::at_fdcwd, args[1], 0); }
int64_t sys_renameat(const uint64_t* args) {
    return do_renameat(fd_arg(args[0]), args[1], fd_arg(args[2]), args[3], 0);
}
int64_t sys_renameat2(const uint64_t* args) {
    return do_renameat(fd_arg(args[0]), args[1], fd_arg(args[2]), args[3], static_cast<unsigned>(args[4]));
}
int64_t sys_symlink(const uint64_t* args) { return do_symlinkat(args[0], fs::at_fdcwd, args[1]); }
int64_t sys_symlinkat(const uint64_t* args) { return do_symlinkat(args[0], fd_arg(args[1]), args[2]); }
int64_t sys_readlink(const uint64_t* args) {
    return do_readlinkat(fs::at_fdcwd, args[0], args[1], static_cast<int32_t>(args[2]));
}
int64_t sys_readlinkat(const uint64_t* args) {
    return do_readlinkat(fd_arg(args[0]), args[1], args[2], static_cast<int32_t>(args[3]));
}
int64_t sys_link(const uint64_t* args) { return do_linkat(fs::at_fdcwd, args[0], fs::at_fdcwd, args[1], 0); }
int64_t sys_linkat(const uint64_t* args) {
    return do_linkat(fd_arg(args[0]), args[1], fd_arg(args[2]), args[3], static_cast<int>(args[4]));
}
int64_t sys_access(const uint64_t* args) { return do_faccessat(fs::at_fdcwd, args[0], args[1], 0); }
int64_t sys_faccessat(const uint64_t* args) { return do_faccessat(fd_arg(args[0]), args[1], args[2], 0); }
int64_t sys_faccessat2(const uint64_t* args) {
    return do_faccessat(fd_arg(args[0]), args[1], args[2], static_cast<int>(args[3]));
}

int64_t sys_getcwd(const uint64_t* args) {
    size_t size = static_cast<size_t>(args[1]);
    if (size == 0) return -fs::errno_range;
    char* text = static_cast<char*>(malloc(fs::path_max));
    if (!text) return -fs::errno_nomem;
    int64_t n;
    {
        Guard guard(vfs_lock);
        n = cwd ? path_of(cwd, text, fs::path_max) : -fs::errno_noent;
    }
    if (n > 0 && static_cast<size_t>(n) > size) n = -fs::errno_range;
    if (n > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(args[0]), text, static_cast<size_t>(n)) < 0) {
        n = -errno_fault;
    }
    free(text);
    return n;  // the length including the NUL, as the system call (not libc) returns it
}

namespace {
int64_t change_directory(Vnode* node) {  // lock held; takes over the reference
    if (!node->is_directory()) {
        node->unref();
        return -fs::errno_notdir;
    }
    if (cwd) cwd->unref();
    cwd = node;
    return 0;
}
}  // namespace

int64_t sys_chdir(const uint64_t* args) {
    AppPath path(args[0]);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    Vnode* node;
    if (int r = resolve(fs::at_fdcwd, path.get(), false, true, &node); r < 0) return r;
    return change_directory(node);
}

int64_t sys_fchdir(const uint64_t* args) {
    Guard guard(vfs_lock);
    OpenFile* file = fd_table.get(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    file->vnode()->ref();
    return change_directory(file->vnode());
}

int64_t sys_umask(const uint64_t* args) {
    return __atomic_exchange_n(&file_mode_mask, static_cast<uint32_t>(args[0]) & 0777, __ATOMIC_RELAXED);
}

int64_t sys_ftruncate(const uint64_t* args) { return do_truncate_fd(fd_arg(args[0]), static_cast<int64_t>(args[1])); }

int64_t sys_truncate(const uint64_t* args) {
    auto length = static_cast<int64_t>(args[1]);
    if (length < 0) return -fs::errno_inval;
    AppPath path(args[0]);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    return the_vfs->truncate(path.get()[0] == '/' ? nullptr : cwd, path.get(), length);
}

// utimensat(dirfd, path, times[2], flags): times nullptr means now; UTIME_NOW and
// UTIME_OMIT per entry; a null path means the descriptor itself (futimens).
int64_t sys_utimensat(const uint64_t* args) {
    constexpr int64_t utime_now = (1l << 30) - 1, utime_omit = (1l << 30) - 2;
    fs::Timespec times[2];
    if (args[2]) {
        if (mm::vm::copy_from_app(times, reinterpret_cast<void*>(args[2]), sizeof times)) return -errno_fault;
        for (const fs::Timespec& t : times) {
            if (t.nsec != utime_now && t.nsec != utime_omit && (t.nsec < 0 || t.nsec >= 1000000000)) {
                return -fs::errno_inval;
            }
        }
    } else {
        times[0].nsec = times[1].nsec = utime_now;
    }
    int flags = static_cast<int>(args[3]);
    if (flags & ~fs::at_symlink_nofollow) return -fs::errno_inval;
    Guard guard(vfs_lock);
    Vnode* node = nullptr;
    if (!args[1]) {
        OpenFile* file = fd_table.get(fd_arg(args[0]));
        if (!file) return -fs::errno_badf;
        node = file->vnode();
        node->ref();
    } else {
        AppPath path(args[1]);
        if (path.error()) return path.error();
        if (int r = resolve(fd_arg(args[0]), path.get(), false, !(flags & fs::at_symlink_nofollow), &node); r < 0) return r;
    }
    VnodeRef held{node};
    fs::Timespec now = file_clock();
    if (times[0].nsec != utime_omit) node->atime = times[0].nsec == utime_now ? now : times[0];
    if (times[1].nsec != utime_omit) node->mtime = times[1].nsec == utime_now ? now : times[1];
    node->ctime = now;
    return 0;
}

// Everything lives in memory: there is nothing to flush.
int64_t sys_fsync(const uint64_t* args) {
    Guard guard(vfs_lock);
    return fd_table.get(fd_arg(args[0])) ? 0 : -fs::errno_badf;
}
int64_t sys_fdatasync(const uint64_t* args) { return sys_fsync(args); }

int64_t sys_ioctl(const uint64_t* args) {
    int fd = fd_arg(args[0]);
    unsigned long request = static_cast<unsigned long>(args[1]) & 0xffffffffu;
    uint64_t arg = args[2];
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    Vnode* node = file->vnode();
    switch (request) {
    case fionbio: {
        int32_t on;
        if (mm::vm::copy_from_app(&on, reinterpret_cast<const void*>(arg), sizeof(on)) < 0) return -errno_fault;
        Guard guard(vfs_lock);
        int flags = file->flags();
        file->set_status_flags(on ? flags | fs::o_nonblock : flags & ~fs::o_nonblock);
        return 0;
    }
    case fioclex:
    case fionclex: {
        Guard guard(vfs_lock);
        return fd_table.set_close_on_exec(fd, request == fioclex);
    }
    case fionread: {
        int32_t available;
        if (is_pipe(node)) {
            available = static_cast<int32_t>(pipe_available(node));
        } else if (node->is_regular()) {
            Guard guard(vfs_lock);
            available = node->size > file->offset() ? static_cast<int32_t>(node->size - file->offset()) : 0;
        } else if (is_device(node) && static_cast<Device*>(node)->is_terminal()) {
            available = 0;  // no console input yet
        } else {
            return -errno_notty;
        }
        return mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &available, sizeof(available));
    }
    default: break;
    }
    if (is_device(node) && static_cast<Device*>(node)->is_terminal()) return terminal_ioctl(request, arg);
    return -errno_notty;
}

int64_t sys_pipe(const uint64_t* args) { return do_pipe2(args[0], 0); }
int64_t sys_pipe2(const uint64_t* args) { return do_pipe2(args[0], static_cast<int>(args[1])); }

int64_t sys_dup(const uint64_t* args) {
    Guard guard(vfs_lock);
    return fd_table.dup(fd_arg(args[0]));
}
int64_t sys_dup2(const uint64_t* args) {
    Guard guard(vfs_lock);
    return fd_table.dup2(fd_arg(args[0]), fd_arg(args[1]));
}
int64_t sys_dup3(const uint64_t* args) {
    return do_dup3(fd_arg(args[0]), fd_arg(args[1]), static_cast<int>(args[2]));
}

int64_t sys_fcntl(const uint64_t* args) {
    return do_fcntl(fd_arg(args[0]), static_cast<int>(args[1]), args[2]);
}

int64_t sys_poll(const uint64_t* args) {
    auto timeout_ms = static_cast<int32_t>(args[2]);
    return do_poll(args[0], args[1], timeout_ms < 0 ? -1 : int64_t{timeout_ms} * 1000000);
}

int64_t sys_ppoll(const uint64_t* args) {
    // The signal mask (args[3]) is ignored: signals are not delivered during the wait.
    int64_t timeout_ns = -1;
    if (args[2]) {
        LinuxTimespec ts;
        if (mm::vm::copy_from_app(&ts, reinterpret_cast<const void*>(args[2]), sizeof(ts)) < 0) return -errno_fault;
        if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000) return -fs::errno_inval;
        timeout_ns = ts.sec > INT64_MAX / 1000000000 - 1 ? INT64_MAX : ts.sec * 1000000000 + ts.nsec;
    }
    return do_poll(args[0], args[1], timeout_ns);
}

int64_t sys_sendfile(const uint64_t* args) {
    FileRef out(fd_arg(args[0])), in(fd_arg(args[1]));
    if (!out || !in) return -fs::errno_badf;
    if (read_denied(in.get()) || write_denied(out.get())) return -fs::errno_badf;
    if (is_pipe(in->vnode())) return -fs::errno_inval;  // Linux wants an mmap-able input
    int64_t offset = -1;
    if (args[2]) {
        if (mm::vm::copy_from_app(&offset, reinterpret_cast<const void*>(args[2]), sizeof(offset)) < 0) return -errno_fault;
        if (offset < 0) return -fs::errno_inval;
    }
    size_t count = args[3] < max_rw_count ? static_cast<size_t>(args[3]) : max_rw_count;
    constexpr size_t chunk = 16 * 1024;
    char* bounce = static_cast<char*>(malloc(chunk));
    if (!bounce) return -fs::errno_nomem;
    size_t done = 0;
    int64_t error = 0;
    while (done < count) {
        size_t want = count - done < chunk ? count - done : chunk;
        Buffer kernel{bounce, false};
        int64_t n = file_read(in.get(), kernel, want, offset < 0 ? -1 : offset + static_cast<int64_t>(done), false);
        if (n <= 0) {
            error = n;
            break;
        }
        int64_t written = file_write(out.get(), kernel, static_cast<size_t>(n), -1);
        if (written < 0) {
            error = written;
            break;
        }
        done += static_cast<size_t>(written);
        if (written < n) {
            // The output took less: give the rest back to a file-offset input.
            if (offset < 0) {
                Guard guard(vfs_lock);
                in->seek(written - n, fs::seek_cur);
            }
            break;
        }
        if (static_cast<size_t>(n) < want) break;
    }
    free(bounce);
    if (offset >= 0) {
        int64_t next = offset + static_cast<int64_t>(done);
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &next, sizeof(next)) < 0) return -errno_fault;
    }
    return done > 0 ? static_cast<int64_t>(done) : error;
}
