// The path system calls (files.def) on the file state and helpers of files.cc
// (files_impl.h): directories and names (mkdir, unlink, rename, symlink, readlink, link),
// access checks, the working directory and the umask. file_syscalls.cc has the calls on
// descriptors.
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

}  // namespace

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
        n = state().cwd ? path_of(state().cwd, text, fs::path_max) : -fs::errno_noent;
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
    if (state().cwd) state().cwd->unref();
    state().cwd = node;
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
    OpenFile* file = descriptors().get(fd_arg(args[0]));
    if (!file) return -fs::errno_badf;
    file->vnode()->ref();
    return change_directory(file->vnode());
}

int64_t sys_umask(const uint64_t* args) {
    return __atomic_exchange_n(&state().umask, static_cast<uint32_t>(args[0]) & 0777, __ATOMIC_RELAXED);
}
