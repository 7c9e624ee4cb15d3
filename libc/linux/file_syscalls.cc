// The file system calls (files.def) on the file state and helpers of files.cc
// (files_impl.h): descriptors, transfers, stat, reading directories, pipes, ioctl.
// path_syscalls.cc has the calls on names (mkdir, unlink, rename, links, access, chdir).
#include <mica/trace/trace.h>
#include <mica/clock.h>
#include <mica/format.h>
#include <mica/linux/files.h>
#include <mica/linux/pipe_buffer.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
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
// read/write/pread/pwrite: Linux checks the descriptor's mode, then the whole application
// buffer (access_ok), and only then clamps the count to MAX_RW_COUNT. The count to transfer,
// or -errno.
int64_t buffer_count(OpenFile* file, bool write, uint64_t buffer, uint64_t count) {
    if (write ? write_denied(file) : read_denied(file)) return -fs::errno_badf;
    if (!mm::vm::access_ok(buffer, count)) return -errno_fault;
    return static_cast<int64_t>(count < max_rw_count ? count : max_rw_count);
}

int64_t open_path(int dirfd, const char* path, int flags, uint64_t mode) {
    Guard guard(vfs_lock);
    Vnode* at;
    if (int r = start_dir(dirfd, path, &at); r < 0) return r;
    OpenFile* file;
    if (int r = the_vfs->open(at, path, flags, masked_mode(mode), &file); r < 0) return r;
    int fd = descriptors().install(file, (flags & fs::o_cloexec) != 0);
    file->unref();
    return fd;
}

int64_t do_openat(int dirfd, uint64_t app_path, int flags, uint64_t mode) {
    constexpr int o_tmpfile = 020000000;
    if (flags & o_tmpfile) return -errno_opnotsupp;
    AppPath path(app_path);
    if (path.error()) return path.error();
    int64_t r = open_path(dirfd, path.get(), flags, mode);
    TRACE(vfs_open, path.get(), static_cast<unsigned>(flags), r);
    return r;
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

int64_t do_truncate_fd(int fd, int64_t length) {
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    Guard guard(vfs_lock);
    return file->truncate(length);
}

int64_t do_fcntl(int fd, int command, uint64_t arg) {
    Guard guard(vfs_lock);
    OpenFile* file = descriptors().get(fd);
    if (!file) return -fs::errno_badf;
    switch (command) {
    case f_dupfd: return descriptors().dup_from(fd, static_cast<int>(arg), false);
    case f_dupfd_cloexec: return descriptors().dup_from(fd, static_cast<int>(arg), true);
    case f_getfd: return descriptors().close_on_exec(fd) == 1 ? fd_cloexec : 0;
    case f_setfd: return descriptors().set_close_on_exec(fd, (arg & fd_cloexec) != 0);
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
    return descriptors().dup3(old_fd, new_fd, flags);
}

int64_t do_pipe2(uint64_t app_fds, int flags) {
    if (flags & ~(fs::o_cloexec | fs::o_nonblock | fs::o_direct)) return -fs::errno_inval;
    int32_t fds[2];
    {
        Guard guard(vfs_lock);
        OpenFile *reader, *writer;
        if (int r = pipe_create(flags, &reader, &writer); r < 0) return r;
        bool cloexec = (flags & fs::o_cloexec) != 0;
        fds[0] = descriptors().install(reader, cloexec);
        fds[1] = fds[0] < 0 ? -1 : descriptors().install(writer, cloexec);
        reader->unref();
        writer->unref();
        if (fds[1] < 0) {
            if (fds[0] >= 0) descriptors().close(fds[0]);
            return fds[0] < 0 ? fds[0] : fds[1];
        }
    }
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(app_fds), fds, sizeof(fds)) < 0) {
        Guard guard(vfs_lock);
        descriptors().close(fds[0]);
        descriptors().close(fds[1]);
        return -errno_fault;
    }
    return 0;
}

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
    int64_t count = buffer_count(file.get(), false, args[1], args[2]);
    if (count < 0) return count;
    fs::IoVector data(reinterpret_cast<void*>(args[1]), static_cast<size_t>(count), true);
    int64_t r = file_read(file.get(), data, -1, false);
    TRACE(vfs_read, args[0], args[2], r);
    return r;
}

int64_t sys_write(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    int64_t count = buffer_count(file.get(), true, args[1], args[2]);
    if (count < 0) return count;
    fs::IoVector data(reinterpret_cast<void*>(args[1]), static_cast<size_t>(count), true);
    int64_t r = file_write(file.get(), data, -1, false);
    TRACE(vfs_write, args[0], args[2], r);
    return abi::write_raises_sigpipe(file->vnode()) ? abi::sigpipe_on_epipe(r) : r;
}

int64_t sys_readv(const uint64_t* args) { return vector_transfer(fd_arg(args[0]), args[1], args[2], false, -1); }
int64_t sys_writev(const uint64_t* args) {
    int64_t r = vector_transfer(fd_arg(args[0]), args[1], args[2], true, -1);
    if (r != -32) return r;
    FileRef file(fd_arg(args[0]));
    return file && abi::write_raises_sigpipe(file->vnode()) ? abi::sigpipe_on_epipe(r) : r;
}

// preadv/pwritev(fd, iov, count, pos_l, pos_h): on 64-bit architectures the offset is pos_l
// alone (Linux's pos_from_hilo shifts pos_h out).
int64_t sys_preadv(const uint64_t* args) {
    auto offset = static_cast<int64_t>(args[3]);
    if (offset < 0) return -fs::errno_inval;
    return vector_transfer(fd_arg(args[0]), args[1], args[2], false, offset);
}
int64_t sys_pwritev(const uint64_t* args) {
    auto offset = static_cast<int64_t>(args[3]);
    if (offset < 0) return -fs::errno_inval;
    return vector_transfer(fd_arg(args[0]), args[1], args[2], true, offset);
}

int64_t sys_pread64(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    auto offset = static_cast<int64_t>(args[3]);
    if (offset < 0) return file->vnode()->seekable() ? -fs::errno_inval : -fs::errno_spipe;
    int64_t count = buffer_count(file.get(), false, args[1], args[2]);
    if (count < 0) return count;
    fs::IoVector data(reinterpret_cast<void*>(args[1]), static_cast<size_t>(count), true);
    return file_read(file.get(), data, offset, false);
}

int64_t sys_pwrite64(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    auto offset = static_cast<int64_t>(args[3]);
    if (offset < 0) return file->vnode()->seekable() ? -fs::errno_inval : -fs::errno_spipe;
    int64_t count = buffer_count(file.get(), true, args[1], args[2]);
    if (count < 0) return count;
    fs::IoVector data(reinterpret_cast<void*>(args[1]), static_cast<size_t>(count), true);
    return file_write(file.get(), data, offset, false);
}

int64_t sys_open(const uint64_t* args) {
    return do_openat(fs::at_fdcwd, args[0], static_cast<int>(args[1]), args[2]);
}
int64_t sys_openat(const uint64_t* args) {
    return do_openat(fd_arg(args[0]), args[1], static_cast<int>(args[2]), args[3]);
}

int64_t sys_close(const uint64_t* args) {
    TRACE(vfs_close, args[0]);
    Guard guard(vfs_lock);
    return descriptors().close(fd_arg(args[0]));
}

int64_t sys_lseek(const uint64_t* args) {
    Guard guard(vfs_lock);
    OpenFile* file = descriptors().get(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    return file->seek(static_cast<int64_t>(args[1]), static_cast<int>(args[2]));
}

int64_t sys_fstat(const uint64_t* args) {
    fs::LinuxStat st;
    {
        Guard guard(vfs_lock);
        OpenFile* file = descriptors().get(fd_arg(args[0]));
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
    // Linux's count is an unsigned int held in an int: from 2^31 on, no record fits (EINVAL,
    // or 0 at the end of the directory). A bad buffer is EFAULT from the copy.
    uint32_t count = static_cast<uint32_t>(args[2]);
    size_t size = count > INT32_MAX ? 0 : count < getdents_max ? count : getdents_max;
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

int64_t sys_ftruncate(const uint64_t* args) { return do_truncate_fd(fd_arg(args[0]), static_cast<int64_t>(args[1])); }

int64_t sys_truncate(const uint64_t* args) {
    auto length = static_cast<int64_t>(args[1]);
    if (length < 0) return -fs::errno_inval;
    AppPath path(args[0]);
    if (path.error()) return path.error();
    Guard guard(vfs_lock);
    if (!the_vfs) return -fs::errno_noent;
    return the_vfs->truncate(path.get()[0] == '/' ? nullptr : state().cwd, path.get(), length);
}

// Files live in memory: there is nothing to flush but a disk's write cache.
int64_t sys_fsync(const uint64_t* args) {
    FileRef file(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    if (is_block_node(file->vnode())) return block_node_flush(file->vnode());
    return 0;
}
int64_t sys_fdatasync(const uint64_t* args) { return sys_fsync(args); }

int64_t sys_ioctl(const uint64_t* args) {
    int fd = fd_arg(args[0]);
    unsigned long request = static_cast<unsigned long>(args[1]) & 0xffffffffu;
    uint64_t arg = args[2];
    FileRef file(fd);
    if (!file) return -fs::errno_badf;
    Vnode* node = file->vnode();
    if (request != fionbio && request != fioclex && request != fionclex && net::Socket::is_socket(node)) {
        return static_cast<net::Socket*>(node)->ioctl(request, arg);  // SIOCINQ (FIONREAD), SIOCOUTQ...
    }
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
        return descriptors().set_close_on_exec(fd, request == fioclex);
    }
    case fionread: {
        int32_t available;
        if (is_pipe(node)) {
            available = static_cast<int32_t>(pipe_available(node));
        } else if (node->is_regular()) {
            Guard guard(vfs_lock);
            available = node->size > file->offset() ? static_cast<int32_t>(node->size - file->offset()) : 0;
        } else if (is_device(node) && static_cast<Device*>(node)->is_terminal()) {
            available = static_cast<int32_t>(tty_available());
        } else {
            return -errno_notty;
        }
        return mm::vm::copy_to_app(reinterpret_cast<void*>(arg), &available, sizeof(available));
    }
    default: break;
    }
    if (is_device(node) && static_cast<Device*>(node)->is_terminal()) return tty_ioctl(request, arg);
    if (is_block_node(node)) return block_node_ioctl(node, request, arg);
    return -errno_notty;
}

int64_t sys_pipe(const uint64_t* args) { return do_pipe2(args[0], 0); }
int64_t sys_pipe2(const uint64_t* args) { return do_pipe2(args[0], static_cast<int>(args[1])); }

int64_t sys_dup(const uint64_t* args) {
    Guard guard(vfs_lock);
    return descriptors().dup(fd_arg(args[0]));
}
int64_t sys_dup2(const uint64_t* args) {
    Guard guard(vfs_lock);
    return descriptors().dup2(fd_arg(args[0]), fd_arg(args[1]));
}
int64_t sys_dup3(const uint64_t* args) {
    return do_dup3(fd_arg(args[0]), fd_arg(args[1]), static_cast<int>(args[2]));
}

int64_t sys_fcntl(const uint64_t* args) {
    return do_fcntl(fd_arg(args[0]), static_cast<int>(args[1]), args[2]);
}

int64_t sys_sendfile(const uint64_t* args) {
    FileRef out(fd_arg(args[0])), in(fd_arg(args[1]));
    if (!out || !in) return -fs::errno_badf;
    if (read_denied(in.get()) || write_denied(out.get())) return -fs::errno_badf;
    if (!in->vnode()->seekable()) return -fs::errno_inval;  // Linux wants an mmap-able input
    int64_t offset = -1;
    if (args[2]) {
        if (mm::vm::copy_from_app(&offset, reinterpret_cast<const void*>(args[2]), sizeof(offset)) < 0) return -errno_fault;
        if (offset < 0) return -fs::errno_inval;
    }
    size_t count = args[3] < max_rw_count ? static_cast<size_t>(args[3]) : max_rw_count;
    BounceBuffer buffer(16 * 1024);
    char* bounce = buffer.data();
    if (!bounce) return -fs::errno_nomem;
    size_t chunk = buffer.size();
    size_t done = 0;
    int64_t error = 0;
    while (done < count) {
        size_t want = count - done < chunk ? count - done : chunk;
        fs::IoVector input(bounce, want, false);
        int64_t n = file_read(in.get(), input, offset < 0 ? -1 : offset + static_cast<int64_t>(done), false);
        if (n <= 0) {
            error = n;
            break;
        }
        fs::IoVector output(bounce, static_cast<size_t>(n), false);
        int64_t written = file_write(out.get(), output, -1, false);
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
    if (offset >= 0) {
        int64_t next = offset + static_cast<int64_t>(done);
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &next, sizeof(next)) < 0) return -errno_fault;
    }
    return done > 0 ? static_cast<int64_t>(done) : error;
}
