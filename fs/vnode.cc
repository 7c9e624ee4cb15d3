#include <mica/fs/vnode.h>
#include <string.h>

namespace mica::fs {

bool Name::equals(const char* text) const {
    return strlen(text) == length && memcmp(chars, text, length) == 0;
}

Name name_of(const char* text) { return Name{text, strlen(text)}; }

Vnode::Vnode(FileSystem* owner, uint32_t type_and_mode) : mode(type_and_mode), fs(owner) {
    if (owner) {
        ino = owner->allocate_ino();
        atime = mtime = ctime = owner->now();
    }
}

void Vnode::touch_modified() {
    mtime = ctime = fs ? fs->now() : Timespec{};
}

void Vnode::touch_changed() { ctime = fs ? fs->now() : Timespec{}; }

// Defaults: the operation does not apply to this kind of vnode. Directory operations on a
// non-directory are -ENOTDIR; a directory that does not support one (a read-only filesystem)
// says -EPERM.
namespace {
int directory_only(const Vnode& v) { return v.is_directory() ? -errno_perm : -errno_notdir; }
}  // namespace

int Vnode::lookup(Name, Vnode**) { return is_directory() ? -errno_noent : -errno_notdir; }
int Vnode::create(Name, uint32_t, Vnode**) { return directory_only(*this); }
int Vnode::mkdir(Name, uint32_t, Vnode**) { return directory_only(*this); }
int Vnode::symlink(Name, const char*, size_t, Vnode**) { return directory_only(*this); }
int Vnode::mknod(Name, uint32_t, uint64_t, Vnode**) { return directory_only(*this); }
int Vnode::link(Name, Vnode*) { return directory_only(*this); }
int Vnode::unlink(Name) { return directory_only(*this); }
int Vnode::rmdir(Name) { return directory_only(*this); }
int Vnode::rename(Name, Vnode*, Name) { return directory_only(*this); }
int Vnode::readdir(uint64_t, DirEntry*) { return -errno_notdir; }
int64_t Vnode::readlink(char*, size_t) { return -errno_inval; }
int64_t Vnode::read(uint64_t, void*, size_t) { return is_directory() ? -errno_isdir : -errno_inval; }
int64_t Vnode::write(uint64_t, const void*, size_t) { return is_directory() ? -errno_isdir : -errno_inval; }
int Vnode::truncate(uint64_t) { return is_directory() ? -errno_isdir : -errno_inval; }
int Vnode::fallocate(int, uint64_t, uint64_t) { return -errno_opnotsupp; }
int64_t Vnode::read_stream(IoVector&, bool) { return -errno_inval; }
int64_t Vnode::write_stream(IoVector&, bool) { return -errno_inval; }

namespace {
constexpr int64_t block_size = 4096;   // st_blksize: the page size
constexpr int64_t stat_block = 512;    // st_blocks counts 512-byte units

template <typename Stat>
void fill(const Vnode& node, Stat* out) {
    memset(out, 0, sizeof *out);
    out->st_dev = node.fs ? node.fs->dev : 0;
    out->st_ino = node.ino;
    out->st_nlink = node.nlink;
    out->st_mode = node.mode;
    out->st_uid = node.uid;
    out->st_gid = node.gid;
    out->st_rdev = node.rdev;
    // A block device's size is its capacity (for SEEK_END), but stat says 0 as Linux's
    // devtmpfs inode does (BLKGETSIZE64 gives the capacity).
    out->st_size = is_blk(node.mode) ? 0 : static_cast<int64_t>(node.size);
    out->st_blksize = block_size;
    out->st_blocks = node.is_regular() || node.is_symlink()
                         ? (static_cast<int64_t>(node.size) + stat_block - 1) / stat_block
                         : 0;
    out->st_atime_sec = node.atime.sec;
    out->st_atime_nsec = node.atime.nsec;
    out->st_mtime_sec = node.mtime.sec;
    out->st_mtime_nsec = node.mtime.nsec;
    out->st_ctime_sec = node.ctime.sec;
    out->st_ctime_nsec = node.ctime.nsec;
}
}  // namespace

void fill_stat(const Vnode& node, StatX86_64* out) { fill(node, out); }
void fill_stat(const Vnode& node, StatGeneric* out) { fill(node, out); }

}  // namespace mica::fs
