// System calls on open files beyond reading and writing (files.def): copy_file_range,
// fallocate, fadvise64, flock, sync/syncfs, close_range and memfd_create, on the file state
// of files.cc (files_impl.h).
//
// flock: validated as Linux validates it, then granted. The locks are not recorded, so two
// processes that both take LOCK_EX on one file both get it (as fcntl's record locks in
// file_syscalls.cc): programs that rely on them to exclude each other are not protected.
#include <mica/fs/ramfs.h>
#include <mica/linux/files.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <string.h>
#include "files_impl.h"

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;
using fs::OpenFile;
using fs::Vnode;

namespace {
constexpr int64_t e_overflow = 75;

// An open file for a call that refuses O_PATH descriptors (Linux's fdget), or null.
class UsableFile {
public:
    explicit UsableFile(int fd) : ref_(fd) {}
    OpenFile* get() const { return ref_ && !(ref_->flags() & fs::o_path) ? ref_.get() : nullptr; }

private:
    FileRef ref_;
};

// ---- copy_file_range ----------------------------------------------------------------------
// Copies `count` bytes from `in` at `pos_in` to `out` at `pos_out` a chunk at a time through
// a kernel buffer: the bytes copied (fewer at the input's end), or -errno when none were.
int64_t copy_between(OpenFile* in, int64_t pos_in, OpenFile* out, int64_t pos_out, size_t count) {
    BounceBuffer buffer(count);
    char* bounce = buffer.data();
    if (!bounce) return -fs::errno_nomem;
    size_t chunk = buffer.size();
    size_t done = 0;
    int64_t error = 0;
    while (done < count) {
        size_t want = count - done < chunk ? count - done : chunk;
        fs::IoVector input(bounce, want, false);
        int64_t n = file_read(in, input, pos_in + static_cast<int64_t>(done), false);
        if (n <= 0) {
            error = n;
            break;
        }
        fs::IoVector output(bounce, static_cast<size_t>(n), false);
        int64_t written = file_write(out, output, pos_out + static_cast<int64_t>(done), false);
        if (written < 0) {
            error = written;
            break;
        }
        done += static_cast<size_t>(written);
        if (written < n || static_cast<size_t>(n) < want) break;
    }
    return done > 0 ? static_cast<int64_t>(done) : error;
}

// ---- memfd --------------------------------------------------------------------------------
// memfd files live on a ramfs instance that is never mounted (Linux's internal shm mount).
// Owned here, created with the first memfd and guarded by vfs_lock.
fs::FileSystem* memfd_fs = nullptr;
}  // namespace

namespace mica::abi::files {
void memfd_shutdown() {
    delete memfd_fs;
    memfd_fs = nullptr;
}
}  // namespace mica::abi::files

// copy_file_range(fd_in, off_in, fd_out, off_out, len, flags), in Linux's order of checks:
// the descriptors, the offsets, the flags, then the files (regular, on one filesystem -
// -EXDEV across filesystems, as Linux 5.19 and later answer without a filesystem's own
// copy - not overlapping within one file).
int64_t sys_copy_file_range(const uint64_t* args) {
    UsableFile in(fd_arg(args[0])), out(fd_arg(args[2]));
    if (!in.get() || !out.get()) return -fs::errno_badf;
    int64_t pos_in, pos_out;
    if (args[1]) {
        if (mm::vm::copy_from_app(&pos_in, reinterpret_cast<const void*>(args[1]), sizeof pos_in)) return -errno_fault;
    } else {
        Guard guard(vfs_lock);
        pos_in = static_cast<int64_t>(in.get()->offset());
    }
    if (args[3]) {
        if (mm::vm::copy_from_app(&pos_out, reinterpret_cast<const void*>(args[3]), sizeof pos_out)) return -errno_fault;
    } else {
        Guard guard(vfs_lock);
        pos_out = static_cast<int64_t>(out.get()->offset());
    }
    if (static_cast<uint32_t>(args[5]) != 0) return -fs::errno_inval;
    Vnode *source = in.get()->vnode(), *target = out.get()->vnode();
    if (source->is_directory() || target->is_directory()) return -fs::errno_isdir;
    if (!source->is_regular() || !target->is_regular()) return -fs::errno_inval;
    if (read_denied(in.get()) || write_denied(out.get()) || (out.get()->flags() & fs::o_append)) return -fs::errno_badf;
    if (source->fs != target->fs) return -fs::errno_xdev;
    uint64_t count = args[4];
    int64_t end;
    if (count > static_cast<uint64_t>(INT64_MAX) || __builtin_add_overflow(pos_in, static_cast<int64_t>(count), &end) ||
        __builtin_add_overflow(pos_out, static_cast<int64_t>(count), &end)) {
        return -e_overflow;  // an offset would wrap
    }
    {
        Guard guard(vfs_lock);
        uint64_t size = source->size;
        count = pos_in >= 0 && static_cast<uint64_t>(pos_in) < size ? (count < size - pos_in ? count : size - pos_in) : 0;
        if (source == target && pos_out + static_cast<int64_t>(count) > pos_in && pos_out < pos_in + static_cast<int64_t>(count)) {
            return -fs::errno_inval;
        }
    }
    if (pos_in < 0 || pos_out < 0) return -fs::errno_inval;
    if (count > max_rw_count) count = max_rw_count;
    if (count == 0) return 0;
    int64_t copied = copy_between(in.get(), pos_in, out.get(), pos_out, count);
    if (copied <= 0) return copied;
    pos_in += copied;
    pos_out += copied;
    // Pointers get the new offsets; otherwise the files' own offsets move.
    if (args[1]) {
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &pos_in, sizeof pos_in)) return -errno_fault;
    } else {
        Guard guard(vfs_lock);
        in.get()->seek(pos_in, fs::seek_set);
    }
    if (args[3]) {
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), &pos_out, sizeof pos_out)) return -errno_fault;
    } else {
        Guard guard(vfs_lock);
        out.get()->seek(pos_out, fs::seek_set);
    }
    return copied;
}

// fallocate(fd, mode, offset, len): Linux's vfs_fallocate checks, then the filesystem's
// (ramfs: allocate or punch, as tmpfs; elsewhere -EOPNOTSUPP). Space is memory: asking for
// more than can be had is -ENOSPC up front (mm::vm::can_commit, as mmap's accounting), rather
// than letting the file take the pages the kernel needs.
int64_t sys_fallocate(const uint64_t* args) {
    constexpr int keep_size = 1, punch_hole = 2, collapse_range = 8, zero_range = 0x10, insert_range = 0x20,
                  unshare_range = 0x40, known = 0x7f;
    UsableFile file(fd_arg(args[0]));
    if (!file.get()) return -fs::errno_badf;
    int mode = static_cast<int>(args[1]);
    auto offset = static_cast<int64_t>(args[2]), length = static_cast<int64_t>(args[3]);
    if (offset < 0 || length <= 0) return -fs::errno_inval;
    if (mode & ~known) return -fs::errno_opnotsupp;
    if ((mode & (punch_hole | zero_range)) == (punch_hole | zero_range)) return -fs::errno_opnotsupp;
    if ((mode & punch_hole) && !(mode & keep_size)) return -fs::errno_opnotsupp;
    if ((mode & collapse_range) && (mode & ~collapse_range)) return -fs::errno_inval;
    if ((mode & insert_range) && (mode & ~insert_range)) return -fs::errno_inval;
    if ((mode & unshare_range) && (mode & ~(unshare_range | keep_size))) return -fs::errno_inval;
    if (write_denied(file.get())) return -fs::errno_badf;
    Vnode* node = file.get()->vnode();
    if (is_pipe(node)) return -fs::errno_spipe;
    if (node->is_directory()) return -fs::errno_isdir;
    if (!node->is_regular()) return -fs::errno_nodev;
    int64_t end;
    if (__builtin_add_overflow(offset, length, &end)) return -fs::errno_fbig;
    if (mode & ~(keep_size | punch_hole)) return -fs::errno_opnotsupp;  // tmpfs has only these
    if (!(mode & punch_hole)) {
        uint64_t pages = (static_cast<uint64_t>(length) + 4095) / 4096 + 1;
        if (!mm::vm::can_commit(pages)) return -fs::errno_nospc;
    }
    Guard guard(vfs_lock);
    return node->fallocate(mode, static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
}

// fadvise64(fd, offset, len, advice): advice about a page cache Mica does not have, checked as
// Linux checks it for a memory-backed filesystem, then ignored.
int64_t sys_fadvise64(const uint64_t* args) {
    constexpr uint64_t last_advice = 5;  // NORMAL RANDOM SEQUENTIAL WILLNEED DONTNEED NOREUSE
    UsableFile file(fd_arg(args[0]));
    if (!file.get()) return -fs::errno_badf;
    if (is_pipe(file.get()->vnode())) return -fs::errno_spipe;
    if (static_cast<int64_t>(args[2]) < 0) return -fs::errno_inval;
    if (static_cast<uint32_t>(args[3]) > last_advice) return -fs::errno_inval;
    return 0;
}

int64_t sys_flock(const uint64_t* args) {
    constexpr uint32_t lock_sh = 1, lock_ex = 2, lock_nb = 4, lock_un = 8, lock_mand = 32;
    auto command = static_cast<uint32_t>(args[1]);
    if (command & lock_mand) return 0;  // Linux ignores the long-broken mandatory locks
    uint32_t type = command & ~lock_nb;
    if (type != lock_sh && type != lock_ex && type != lock_un) return -fs::errno_inval;
    UsableFile file(fd_arg(args[0]));
    return file.get() ? 0 : -fs::errno_badf;
}

// Everything lives in memory: there is nothing to write back.
int64_t sys_sync(const uint64_t*) { return 0; }
int64_t sys_syncfs(const uint64_t* args) {
    UsableFile file(fd_arg(args[0]));
    return file.get() ? 0 : -fs::errno_badf;
}

// close_range(first, last, flags): CLOSE_RANGE_CLOEXEC marks instead of closing.
// CLOSE_RANGE_UNSHARE is accepted: a process's threads share one table here, as threads made
// with CLONE_FILES do, and the closing applies to it.
int64_t sys_close_range(const uint64_t* args) {
    constexpr uint32_t close_range_unshare = 2, close_range_cloexec = 4;
    auto first = static_cast<uint32_t>(args[0]), last = static_cast<uint32_t>(args[1]);
    auto flags = static_cast<uint32_t>(args[2]);
    if (flags & ~(close_range_unshare | close_range_cloexec)) return -fs::errno_inval;
    if (first > last) return -fs::errno_inval;
    Guard guard(vfs_lock);
    descriptors().close_range(first, last, flags & close_range_cloexec);
    return 0;
}

// memfd_create(name, flags): an anonymous regular file in memory, mode 0777 (0666 with
// MFD_NOEXEC_SEAL), as Linux's. Seals are not implemented (F_ADD_SEALS is -EINVAL);
// huge pages are not available (-ENOSYS, as a Linux without hugetlbfs answers).
int64_t sys_memfd_create(const uint64_t* args) {
    constexpr uint32_t mfd_cloexec = 1, mfd_allow_sealing = 2, mfd_hugetlb = 4, mfd_noexec_seal = 8, mfd_exec = 0x10,
                       all = mfd_cloexec | mfd_allow_sealing | mfd_hugetlb | mfd_noexec_seal | mfd_exec,
                       huge_sizes = 0x3fu << 26;
    constexpr size_t name_max = 249;  // MFD_NAME_MAX_LEN, before the "memfd:" prefix
    auto flags = static_cast<uint32_t>(args[1]);
    if (flags & ~(all | ((flags & mfd_hugetlb) ? huge_sizes : 0))) return -fs::errno_inval;
    if ((flags & mfd_exec) && (flags & mfd_noexec_seal)) return -fs::errno_inval;
    char name[name_max + 1];
    int64_t n = mm::vm::copy_string_from_app(name, reinterpret_cast<const char*>(args[0]), sizeof name);
    if (n == -errno_fault) return -errno_fault;
    if (n < 0) return -fs::errno_inval;  // no NUL within the limit
    if (flags & mfd_hugetlb) return -fs::errno_nosys;
    Vnode* node;
    {
        Guard guard(vfs_lock);
        if (!memfd_fs) {
            if (int r = fs::ramfs_create(file_clock, &memfd_fs); r < 0) return r;
            memfd_fs->type = &fs::ramfs_type;
        }
        node = fs::ramfs_new_file(memfd_fs, (flags & mfd_noexec_seal) ? 0666 : 0777);
        if (node) node->nlink = 0;  // no name links to it, as Linux reports
    }
    if (!node) return -fs::errno_nomem;
    return install_node(node, fs::o_rdwr | fs::o_largefile, (flags & mfd_cloexec) != 0);
}
