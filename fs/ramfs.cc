#include <mica/fs/file_pages.h>
#include <mica/fs/ramfs.h>
#include <mica/sched/list.h>
#include <string.h>

namespace mica::fs {
namespace {

// readdir cookies: 0 is ".", 1 is "..", entries are numbered from 2 in insertion order.
constexpr uint64_t cookie_dot = 0, cookie_dotdot = 1, first_entry_cookie = 2;

// One name in a directory; the name's bytes follow the struct in the same allocation.
struct Entry {
    sched::ListNode link;
    uint64_t cookie;
    Vnode* node;  // referenced
    size_t length;
    char* name() { return reinterpret_cast<char*>(this + 1); }
    bool named(Name n) { return n.length == length && memcmp(name(), n.chars, length) == 0; }
};

Entry* new_entry(Name name, Vnode* node, uint64_t cookie) {
    auto* e = static_cast<Entry*>(malloc(sizeof(Entry) + name.length + 1));
    if (!e) return nullptr;
    e->link = {};
    e->cookie = cookie;
    e->node = node;
    e->length = name.length;
    memcpy(e->name(), name.chars, name.length);
    e->name()[name.length] = '\0';
    return e;
}

class RamFs;

class RamDir final : public Vnode {
public:
    // `parent` nullptr makes this the root (its ".." is itself).
    RamDir(FileSystem* fs, uint32_t mode, RamDir* parent)
        : Vnode(fs, s_ifdir | (mode & permission_bits)), parent_(parent ? parent : this) {
        nlink = 2;
    }
    ~RamDir() override;

    int lookup(Name name, Vnode** out) override;
    int create(Name name, uint32_t mode, Vnode** out) override;
    int mkdir(Name name, uint32_t mode, Vnode** out) override;
    int symlink(Name name, const char* target, size_t target_length, Vnode** out) override;
    int mknod(Name name, uint32_t mode, uint64_t rdev, Vnode** out) override;
    int link(Name name, Vnode* node) override;
    int unlink(Name name) override;
    int rmdir(Name name) override;
    int rename(Name old_name, Vnode* new_dir, Name new_name) override;
    int readdir(uint64_t cookie, DirEntry* out) override;

    bool empty() const { return entries_.empty(); }

private:
    using Entries = sched::List<Entry, &Entry::link>;
    Entry* find(Name name) const {
        return entries_.find([&](Entry& e) { return e.named(name); });
    }
    // Adds `node` (taking a new reference) under `name`; the node is the caller's either way.
    int add(Name name, Vnode* node);
    // Common tail of create/mkdir/symlink: `node` (nullptr = out of memory) becomes an entry.
    int adopt(Name name, Vnode* node, Vnode** out);
    // Removes entry `e` and drops its reference; adjusts link counts.
    void drop(Entry* e);
    static RamDir* as_dir(Vnode* v, FileSystem* fs) {
        return v->is_directory() && v->fs == fs ? static_cast<RamDir*>(v) : nullptr;
    }

    Entries entries_;
    RamDir* parent_;  // not referenced (a parent outlives its linked children); nullptr once removed
    uint64_t next_cookie_ = first_entry_cookie;
};

class RamFile final : public Vnode {
public:
    RamFile(FileSystem* fs, uint32_t mode) : Vnode(fs, s_ifreg | (mode & permission_bits)) {}
    int64_t read(uint64_t offset, void* buffer, size_t length) override;
    int64_t write(uint64_t offset, const void* buffer, size_t length) override;
    int truncate(uint64_t length) override;
    int fallocate(int mode, uint64_t offset, uint64_t length) override;
    bool has_mappable_pages() const override { return true; }
    void* mappable_page(uint64_t index) override { return index * data_page_size < size ? data_.page(index) : nullptr; }

private:
    FilePages data_;
};

class RamSymlink final : public Vnode {
public:
    RamSymlink(FileSystem* fs, char* target, size_t length)
        : Vnode(fs, s_iflnk | 0777), target_(target) {
        size = length;
    }
    ~RamSymlink() override { free(target_); }
    int64_t readlink(char* buffer, size_t length) override {
        size_t n = length < size ? length : size;
        memcpy(buffer, target_, n);
        return static_cast<int64_t>(n);
    }

private:
    char* target_;  // owned, size bytes
};

// A special file: a name with a type and nothing else (a bound AF_UNIX socket's name; the
// socket itself lives in net/ and finds its listener through this vnode).
class RamSpecial final : public Vnode {
public:
    RamSpecial(FileSystem* fs, uint32_t mode, uint64_t device) : Vnode(fs, mode) { rdev = device; }
    bool openable() const override { return false; }
};

class RamFs final : public FileSystem {
public:
    explicit RamFs(Clock clock) : FileSystem(clock) {}
    ~RamFs() override {
        if (root_) root_->unref();
    }
    Vnode* root() override { return root_; }
    RamDir* root_ = nullptr;
};

// --- directories -------------------------------------------------------------------------

RamDir::~RamDir() {
    while (Entry* e = entries_.pop_front()) {
        // A subdirectory kept alive by someone else (a cwd) must not point back at us.
        if (RamDir* d = as_dir(e->node, fs)) d->parent_ = nullptr;
        e->node->unref();
        free(e);
    }
}

int RamDir::lookup(Name name, Vnode** out) {
    Vnode* found;
    if (name.is_dot()) {
        found = this;
    } else if (name.is_dotdot()) {
        if (!parent_) return -errno_noent;  // this directory was removed
        found = parent_;
    } else {
        Entry* e = find(name);
        if (!e) return -errno_noent;
        found = e->node;
    }
    found->ref();
    *out = found;
    return 0;
}

int RamDir::add(Name name, Vnode* node) {
    if (!parent_) return -errno_noent;  // no new entries in a removed directory
    if (name.length == 0 || name.length > name_max) return name.length ? -errno_nametoolong : -errno_noent;
    if (name.is_dot() || name.is_dotdot() || find(name)) return -errno_exist;
    Entry* e = new_entry(name, node, next_cookie_);
    if (!e) return -errno_nomem;
    ++next_cookie_;
    node->ref();
    entries_.push_back(*e);
    touch_modified();
    return 0;
}

int RamDir::adopt(Name name, Vnode* node, Vnode** out) {
    if (!node) return -errno_nomem;
    int result = add(name, node);
    if (result == 0 && out) {
        *out = node;  // the creator's reference goes to the caller
    } else {
        node->unref();
    }
    return result;
}

int RamDir::create(Name name, uint32_t mode, Vnode** out) {
    if (find(name)) return -errno_exist;
    return adopt(name, make_object<RamFile>(fs, mode), out);
}

int RamDir::mkdir(Name name, uint32_t mode, Vnode** out) {
    if (find(name)) return -errno_exist;
    int result = adopt(name, make_object<RamDir>(fs, mode, this), out);
    if (result == 0) ++nlink;  // the new directory's ".."
    return result;
}

int RamDir::symlink(Name name, const char* target, size_t target_length, Vnode** out) {
    if (find(name)) return -errno_exist;
    auto* copy = static_cast<char*>(malloc(target_length ? target_length : 1));
    if (!copy) return -errno_nomem;
    memcpy(copy, target, target_length);
    RamSymlink* link = make_object<RamSymlink>(fs, copy, target_length);
    if (!link) free(copy);
    return adopt(name, link, out);
}

int RamDir::mknod(Name name, uint32_t mode, uint64_t rdev, Vnode** out) {
    uint32_t type = mode & s_ifmt;
    if (type != s_ifsock && type != s_ififo && type != s_ifchr && type != s_ifblk) return -errno_inval;
    if (find(name)) return -errno_exist;
    return adopt(name, make_object<RamSpecial>(fs, type | (mode & permission_bits), rdev), out);
}

int RamDir::link(Name name, Vnode* node) {
    if (node->fs != fs) return -errno_xdev;
    if (node->is_directory()) return -errno_perm;
    if (node->nlink == 0) return -errno_noent;  // no resurrection of unlinked files
    int result = add(name, node);
    if (result == 0) {
        ++node->nlink;
        node->touch_changed();
    }
    return result;
}

void RamDir::drop(Entry* e) {
    Entries::remove(*e);
    Vnode* node = e->node;
    free(e);
    if (RamDir* d = as_dir(node, fs)) {
        d->nlink = 0;
        d->parent_ = nullptr;
        --nlink;
    } else {
        --node->nlink;
    }
    node->touch_changed();
    touch_modified();
    node->unref();
}

int RamDir::unlink(Name name) {
    Entry* e = find(name);
    if (!e) return -errno_noent;
    if (e->node->is_directory()) return -errno_isdir;
    drop(e);
    return 0;
}

int RamDir::rmdir(Name name) {
    Entry* e = find(name);
    if (!e) return -errno_noent;
    RamDir* d = as_dir(e->node, fs);
    if (!d) return -errno_notdir;
    if (!d->empty()) return -errno_notempty;
    drop(e);
    return 0;
}

int RamDir::rename(Name old_name, Vnode* new_dir_node, Name new_name) {
    RamDir* new_dir = new_dir_node->fs == fs ? as_dir(new_dir_node, fs) : nullptr;
    if (!new_dir) return new_dir_node->fs == fs ? -errno_notdir : -errno_xdev;
    if (!new_dir->parent_) return -errno_noent;
    if (new_name.length > name_max) return -errno_nametoolong;
    Entry* from = find(old_name);
    if (!from) return -errno_noent;
    Entry* to = new_dir->find(new_name);
    if (to && to->node == from->node) return 0;  // two names of one file: nothing to do
    RamDir* moving_dir = as_dir(from->node, fs);
    if (to) {
        RamDir* replaced_dir = as_dir(to->node, fs);
        if (moving_dir && !replaced_dir) return -errno_notdir;
        if (!moving_dir && replaced_dir) return -errno_isdir;
        if (replaced_dir && !replaced_dir->empty()) return -errno_notempty;
    }
    // Allocate first, so that failing changes nothing.
    Entry* moved = new_entry(new_name, from->node, new_dir->next_cookie_);
    if (!moved) return -errno_nomem;
    ++new_dir->next_cookie_;
    if (to) new_dir->drop(to);
    Entries::remove(*from);
    free(from);
    new_dir->entries_.push_back(*moved);
    if (moving_dir && new_dir != this) {
        --nlink;
        ++new_dir->nlink;
        moving_dir->parent_ = new_dir;
    }
    touch_modified();
    new_dir->touch_modified();
    moved->node->touch_changed();
    return 0;
}

int RamDir::readdir(uint64_t cookie, DirEntry* out) {
    auto fill = [&](Vnode* node, const char* name, size_t length, uint64_t next) {
        out->ino = node->ino;
        out->type = dtype_of(node->mode);
        out->next_cookie = next;
        out->name_length = length;
        memcpy(out->name, name, length);
        out->name[length] = '\0';
        return 1;
    };
    if (cookie == cookie_dot) return fill(this, ".", 1, cookie_dotdot);
    if (cookie == cookie_dotdot) return fill(parent_ ? parent_ : this, "..", 2, first_entry_cookie);
    Entry* e = entries_.find([&](Entry& x) { return x.cookie >= cookie; });
    if (!e) return 0;
    return fill(e->node, e->name(), e->length, e->cookie + 1);
}

// --- files -------------------------------------------------------------------------------

int64_t RamFile::read(uint64_t offset, void* buffer, size_t length) {
    if (offset >= size) return 0;
    uint64_t n = size - offset < length ? size - offset : length;
    data_.read(offset, buffer, n);
    return static_cast<int64_t>(n);
}

int64_t RamFile::write(uint64_t offset, const void* buffer, size_t length) {
    if (length == 0) return 0;
    if (offset > ramfs_max_file_bytes || length > ramfs_max_file_bytes - offset) return -errno_fbig;
    uint64_t end = offset + length;
    if (end > size) {
        if (int result = data_.reserve(end); result < 0) return result;
    }
    // A hole between the old end and `offset` has no pages: it reads as zeros.
    int result = data_.write(offset, buffer, length);
    if (end > size) size = end;
    touch_modified();
    if (result < 0) {
        // Out of memory part way: the pages written stay (a short write), the size covers
        // them; Linux's tmpfs reports ENOSPC-like failures the same way.
        return result;
    }
    return static_cast<int64_t>(length);
}

int RamFile::truncate(uint64_t length) {
    if (length > ramfs_max_file_bytes) return -errno_fbig;
    if (int result = data_.resize(length); result < 0) return result;
    size = length;
    touch_modified();
    return 0;
}

// As Linux's tmpfs (shmem_fallocate): space is allocated now, so later writes to the range
// cannot fail for lack of memory; punching zeroes the range and frees its whole pages.
int RamFile::fallocate(int mode, uint64_t offset, uint64_t length) {
    constexpr int keep_size = 1, punch_hole = 2;
    if (offset > ramfs_max_file_bytes || length > ramfs_max_file_bytes - offset) return -errno_fbig;
    uint64_t end = offset + length;
    if (mode & punch_hole) {
        if (offset < size) data_.punch(offset, (end < size ? end : size) - offset);
        touch_modified();
        return 0;
    }
    int result = data_.allocate(offset, length);
    if (result == -errno_nomem) return -errno_nospc;  // tmpfs: the filesystem is full
    if (result < 0) return result;
    if (!(mode & keep_size) && end > size) size = end;
    touch_changed();
    if (!(mode & keep_size)) touch_modified();
    return 0;
}

}  // namespace

Vnode* ramfs_new_file(FileSystem* fs, uint32_t mode) { return make_object<RamFile>(fs, mode); }

int ramfs_create(Clock clock, FileSystem** out) {
    RamFs* fs = make_object<RamFs>(clock);
    if (!fs) return -errno_nomem;
    fs->root_ = make_object<RamDir>(fs, 0755u, nullptr);
    if (!fs->root_) {
        delete fs;
        return -errno_nomem;
    }
    *out = fs;
    return 0;
}

// Presented as tmpfs (statfs's f_type): Mica's ramfs is what Linux's tmpfs is - memory-backed,
// bounded by the machine's memory, with fallocate - and an initramfs root is a tmpfs on Linux.
const FileSystemType ramfs_type{"ramfs", ramfs_create, tmpfs_magic};

}  // namespace mica::fs
