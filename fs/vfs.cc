#include <mica/fs/vfs.h>
#include <string.h>

namespace mica::fs {
namespace {

// Owns one vnode reference and drops it when it goes out of scope.
class Held {
public:
    Held() = default;
    explicit Held(Vnode* node) : node_(node) {}
    ~Held() { reset(nullptr); }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

    Vnode* get() const { return node_; }
    Vnode* operator->() const { return node_; }
    Vnode* release() {
        Vnode* node = node_;
        node_ = nullptr;
        return node;
    }
    void reset(Vnode* node) {
        if (node_) node_->unref();
        node_ = node;
    }
    // Takes a new reference to `node`.
    void share(Vnode* node) {
        if (node) node->ref();
        reset(node);
    }
    // For functions that return a referenced vnode through Vnode**.
    Vnode** out() {
        reset(nullptr);
        return &node_;
    }

private:
    Vnode* node_ = nullptr;
};

// A heap buffer freed at scope exit: path buffers come from the heap because kernel stacks are
// small and a lookup needs two of path_max bytes.
struct Scratch {
    char* bytes = nullptr;
    ~Scratch() { free(bytes); }
    bool allocate(size_t size) {
        if (!bytes) bytes = static_cast<char*>(malloc(size));
        return bytes != nullptr;
    }
};

constexpr Name dotdot{"..", 2};

bool is_dot_or_dotdot(Name name) { return name.is_dot() || name.is_dotdot(); }

// The target of symlink `link` as a NUL-terminated string in `buffer`: 0 or -errno.
int read_target(Vnode* link, Scratch* buffer) {
    if (!buffer->allocate(path_max + 1)) return -errno_nomem;
    int64_t n = link->readlink(buffer->bytes, path_max);
    if (n < 0) return static_cast<int>(n);
    if (n == 0) return -errno_noent;  // Linux: an empty target resolves to nothing
    if (static_cast<size_t>(n) >= path_max) return -errno_nametoolong;
    buffer->bytes[n] = '\0';
    return 0;
}

}  // namespace

// ---- registry and mounts ------------------------------------------------------------------

Vfs::~Vfs() {
    // Newest first: a mount's covered directory belongs to an older mount's filesystem.
    while (!mounts_.empty()) {
        Mount* newest = nullptr;
        mounts_.for_each([&](Mount& m) { newest = &m; });
        decltype(mounts_)::remove(*newest);
        newest->root->unref();
        if (newest->covered) newest->covered->unref();
        delete newest->fs;
        free(newest);
    }
}

int Vfs::register_filesystem(const FileSystemType* type) {
    if (filesystem_type(type->name)) return -errno_exist;
    for (auto& slot : types_) {
        if (!slot) {
            slot = type;
            return 0;
        }
    }
    return -errno_nospc;
}

const FileSystemType* Vfs::filesystem_type(const char* name) const {
    for (const FileSystemType* type : types_) {
        if (type && strcmp(type->name, name) == 0) return type;
    }
    return nullptr;
}

Vnode* Vfs::root() const {
    Mount* first = mounts_.front();
    return first ? first->root : nullptr;
}

Mount* Vfs::mount_covering(const Vnode* node) const {
    return mounts_.find([&](const Mount& m) { return m.covered == node; });
}

Mount* Vfs::mount_rooted_at(const Vnode* node) const {
    return mounts_.find([&](const Mount& m) { return m.root == node; });
}

int Vfs::mount(const char* type_name, Vnode* at, const char* path) {
    const FileSystemType* type = filesystem_type(type_name);
    if (!type) return -errno_nodev;
    FileSystem* fs = nullptr;
    if (int result = type->create(clock_, &fs); result < 0) return result;
    return mount_instance(fs, type, at, path);
}

int Vfs::mount_instance(FileSystem* fs, const FileSystemType* type, Vnode* at, const char* path) {
    Held target;
    if (mounts_.empty()) {
        if (strcmp(path, "/") != 0) {
            delete fs;
            return -errno_noent;  // nothing to look up in yet
        }
    } else {
        // Lookup crosses into what is mounted there already: a second mount stacks on top.
        int links = 0;
        int result = walk(at, path, true, &links, target.out());
        if (result == 0 && !target->is_directory()) result = -errno_notdir;
        if (result < 0) {
            delete fs;
            return result;
        }
    }
    auto* m = static_cast<Mount*>(malloc(sizeof(Mount)));
    if (!m) {
        delete fs;
        return -errno_nomem;
    }
    fs->dev = next_dev_++;
    fs->type = type;
    m->fs = fs;
    m->root = fs->root();
    m->root->ref();
    m->covered = target.release();
    m->link = {};
    mounts_.push_back(*m);
    return 0;
}

// ---- path walking -------------------------------------------------------------------------

int Vfs::lookup_entry(Vnode* dir, Name name, Vnode** out) {
    if (!dir->is_directory()) return -errno_notdir;
    return dir->lookup(name, out);
}

int Vfs::step(Vnode* dir, Name name, Vnode** out) {
    if (!dir->is_directory()) return -errno_notdir;
    if (name.is_dot()) {
        dir->ref();
        *out = dir;
        return 0;
    }
    Vnode* top = root();
    if (name.is_dotdot()) {
        // ".." of a mounted root is ".." of the directory the mount covers (repeatedly, for
        // mounts stacked on mounts); ".." of the root is the root.
        Vnode* from = dir;
        while (from != top) {
            Mount* m = mount_rooted_at(from);
            if (!m || !m->covered) break;
            from = m->covered;
        }
        if (from == top) {
            top->ref();
            *out = top;
            return 0;
        }
        return from->lookup(name, out);
    }
    Vnode* child;
    if (int result = dir->lookup(name, &child); result < 0) return result;
    // Going down: a directory with something mounted on it shows the mounted root.
    while (Mount* m = mount_covering(child)) {
        m->root->ref();
        child->unref();
        child = m->root;
    }
    *out = child;
    return 0;
}

int Vfs::walk_parent(Vnode* at, const char* path, int* links, Parent* out) {
    size_t length = strnlen(path, path_max);
    if (length == 0) return -errno_noent;
    if (length >= path_max) return -errno_nametoolong;
    Vnode* top = root();
    if (!top) return -errno_noent;
    // The path being resolved, rewritten in place when an intermediate symlink is expanded
    // (its target replaces the components up to and including the link); then the target.
    Scratch scratch;
    if (!scratch.allocate(2 * path_max)) return -errno_nomem;
    char* buffer = scratch.bytes;
    char* target = scratch.bytes + path_max;
    memcpy(buffer, path, length + 1);

    Held current;
    current.share(path[0] == '/' || !at ? top : at);
    size_t position = 0;
    for (;;) {
        while (position < length && buffer[position] == '/') ++position;
        if (position == length) {
            // Nothing but slashes ("/"): the path names the directory itself.
            if (!current->is_directory()) return -errno_notdir;
            out->length = 0;
            out->trailing_slash = true;
            out->dir = current.release();
            return 0;
        }
        size_t start = position;
        while (position < length && buffer[position] != '/') ++position;
        size_t end = position;
        if (end - start > name_max) return -errno_nametoolong;
        size_t next = end;
        while (next < length && buffer[next] == '/') ++next;
        if (!current->is_directory()) return -errno_notdir;
        Name name{buffer + start, end - start};
        if (next == length) {  // the last component: stop before it
            memcpy(out->name, name.chars, name.length);
            out->name[name.length] = '\0';
            out->length = name.length;
            out->trailing_slash = end < length;
            out->dir = current.release();
            return 0;
        }
        Held child;
        if (int result = step(current.get(), name, child.out()); result < 0) return result;
        if (!child->is_symlink()) {
            current.reset(child.release());
            continue;
        }
        // An intermediate symlink is always followed.
        if (++*links > max_symlinks) return -errno_loop;
        int64_t n = child->readlink(target, path_max);
        if (n < 0) return static_cast<int>(n);
        if (n == 0) return -errno_noent;
        size_t target_length = static_cast<size_t>(n);
        size_t rest = length - end;  // starts with '/'
        if (target_length + rest >= path_max) return -errno_nametoolong;
        memmove(buffer + target_length, buffer + end, rest + 1);
        memcpy(buffer, target, target_length);
        length = target_length + rest;
        position = 0;
        if (buffer[0] == '/') current.share(top);
        // else: relative to the directory holding the link, which `current` still is
    }
}

int Vfs::walk(Vnode* at, const char* path, bool follow, int* links, Vnode** out) {
    Held start;
    start.share(at);
    Scratch target;
    const char* current = path;
    bool must_be_directory = false;
    for (;;) {
        Parent parent;
        if (int result = walk_parent(start.get(), current, links, &parent); result < 0) return result;
        Held node;
        if (parent.length == 0) {
            node.share(parent.dir);
        } else if (int result = step(parent.dir, parent.last(), node.out()); result < 0) {
            return result;
        }
        // A trailing slash follows a final symlink even with O_NOFOLLOW (as Linux does).
        if (node->is_symlink() && (follow || parent.trailing_slash)) {
            if (++*links > max_symlinks) return -errno_loop;
            if (int result = read_target(node.get(), &target); result < 0) return result;
            must_be_directory |= parent.trailing_slash;
            start.share(parent.dir);
            current = target.bytes;  // walk_parent copies it before read_target reuses it
            continue;
        }
        if ((must_be_directory || parent.trailing_slash) && !node->is_directory()) return -errno_notdir;
        *out = node.release();
        return 0;
    }
}

bool Vfs::is_mount_point_or_root(const Vnode* node) const {
    return mount_covering(node) || mount_rooted_at(node);
}

int Vfs::is_ancestor(Vnode* ancestor, Vnode* dir) {
    // Up through ".." inside one filesystem until its root (whose ".." is itself).
    Held current;
    current.share(dir);
    for (;;) {
        if (current.get() == ancestor) return 1;
        Vnode* up;
        if (int result = current->lookup(dotdot, &up); result < 0) return result;
        if (up == current.get()) {
            up->unref();
            return 0;
        }
        current.reset(up);
    }
}

// ---- operations ---------------------------------------------------------------------------

int Vfs::lookup(Vnode* at, const char* path, bool follow, Vnode** out) {
    int links = 0;
    return walk(at, path, follow, &links, out);
}

int Vfs::open(Vnode* at, const char* path, int flags, uint32_t mode, OpenFile** out) {
    int access = flags & o_accmode;
    if (access == o_accmode) return -errno_inval;
    bool writable = access == o_wronly || access == o_rdwr;
    int links = 0;
    Held node;
    bool created = false;
    if (flags & o_creat) {
        // Walk to the parent, then create or use the last component; a symlink there is
        // followed (creating its target if dangling) unless O_EXCL or O_NOFOLLOW.
        Held start;
        start.share(at);
        Scratch target;
        const char* current = path;
        for (;;) {
            Parent parent;
            if (int result = walk_parent(start.get(), current, &links, &parent); result < 0) return result;
            if (parent.length == 0 || is_dot_or_dotdot(parent.last())) return -errno_isdir;
            Held child;
            int result = step(parent.dir, parent.last(), child.out());
            if (result == -errno_noent) {
                if (parent.trailing_slash) return -errno_isdir;
                result = parent.dir->create(parent.last(), mode & permission_bits, node.out());
                if (result < 0) return result;
                created = true;
                break;
            }
            if (result < 0) return result;
            if (flags & o_excl) return -errno_exist;
            if (child->is_symlink()) {
                if (flags & o_nofollow) return -errno_loop;
                if (++links > max_symlinks) return -errno_loop;
                if (int r = read_target(child.get(), &target); r < 0) return r;
                start.share(parent.dir);
                current = target.bytes;
                continue;
            }
            if (parent.trailing_slash && !child->is_directory()) return -errno_notdir;
            node.reset(child.release());
            break;
        }
    } else {
        if (int result = walk(at, path, !(flags & o_nofollow), &links, node.out()); result < 0) return result;
        if (node->is_symlink() && !(flags & o_path)) return -errno_loop;
    }
    if ((flags & o_directory) && !node->is_directory()) return -errno_notdir;
    if (!node->openable() && !(flags & o_path)) return -errno_nxio;
    if (node->is_directory() && (writable || (flags & o_creat))) return -errno_isdir;
    if (node->fs->read_only && (writable || (flags & o_trunc)) && node->is_regular()) return -errno_rofs;
    if ((flags & o_trunc) && writable && node->is_regular() && !created && node->size != 0) {
        if (int result = node->truncate(0); result < 0) return result;
    }
    return OpenFile::open(node.get(), flags, out);
}

// mkdir, symlink and link: the parent of a name that must not exist yet (-EEXIST if it
// does, or if the last component is "." or "..").
int Vfs::parent_of_new_entry(Vnode* at, const char* path, Parent* parent) {
    int links = 0;
    if (int result = walk_parent(at, path, &links, parent); result < 0) return result;
    if (parent->length == 0 || is_dot_or_dotdot(parent->last())) return -errno_exist;
    Held existing;
    if (lookup_entry(parent->dir, parent->last(), existing.out()) == 0) return -errno_exist;
    return 0;
}

int Vfs::mkdir(Vnode* at, const char* path, uint32_t mode) {
    Parent parent;
    if (int result = parent_of_new_entry(at, path, &parent); result < 0) return result;
    return parent.dir->mkdir(parent.last(), mode & permission_bits, nullptr);
}

int Vfs::symlink(const char* target, Vnode* at, const char* path) {
    size_t target_length = strnlen(target, path_max);
    if (target_length == 0) return -errno_noent;
    if (target_length >= path_max) return -errno_nametoolong;
    Parent parent;
    if (int result = parent_of_new_entry(at, path, &parent); result < 0) return result;
    if (parent.trailing_slash) return -errno_noent;  // "name/" would have to be a directory
    return parent.dir->symlink(parent.last(), target, target_length, nullptr);
}

int Vfs::mknod(Vnode* at, const char* path, uint32_t mode, uint64_t rdev, Vnode** out) {
    Parent parent;
    if (int result = parent_of_new_entry(at, path, &parent); result < 0) return result;
    if (parent.trailing_slash) return -errno_noent;
    return parent.dir->mknod(parent.last(), mode, rdev, out);
}

int64_t Vfs::readlink(Vnode* at, const char* path, char* buffer, size_t size) {
    if (size == 0) return -errno_inval;
    Held node;
    if (int result = lookup(at, path, false, node.out()); result < 0) return result;
    if (!node->is_symlink()) return -errno_inval;
    return node->readlink(buffer, size);
}

int Vfs::link(Vnode* old_at, const char* old_path, Vnode* new_at, const char* new_path) {
    Held node;
    if (int result = lookup(old_at, old_path, false, node.out()); result < 0) return result;
    if (node->is_directory()) return -errno_perm;
    Parent parent;
    if (int result = parent_of_new_entry(new_at, new_path, &parent); result < 0) return result;
    if (parent.trailing_slash) return -errno_noent;
    if (parent.dir->fs != node->fs) return -errno_xdev;
    return parent.dir->link(parent.last(), node.get());
}

int Vfs::unlink(Vnode* at, const char* path) {
    int links = 0;
    Parent parent;
    if (int result = walk_parent(at, path, &links, &parent); result < 0) return result;
    if (parent.length == 0 || is_dot_or_dotdot(parent.last())) return -errno_isdir;
    Held child;
    if (int result = lookup_entry(parent.dir, parent.last(), child.out()); result < 0) return result;
    if (child->is_directory()) return -errno_isdir;
    if (parent.trailing_slash) return -errno_notdir;
    return parent.dir->unlink(parent.last());
}

int Vfs::rmdir(Vnode* at, const char* path) {
    int links = 0;
    Parent parent;
    if (int result = walk_parent(at, path, &links, &parent); result < 0) return result;
    if (parent.length == 0) return -errno_busy;
    if (parent.last().is_dot()) return -errno_inval;
    if (parent.last().is_dotdot()) return -errno_notempty;
    Held child;
    if (int result = lookup_entry(parent.dir, parent.last(), child.out()); result < 0) return result;
    if (!child->is_directory()) return -errno_notdir;
    if (is_mount_point_or_root(child.get())) return -errno_busy;
    return parent.dir->rmdir(parent.last());
}

int Vfs::rename(Vnode* old_at, const char* old_path, Vnode* new_at, const char* new_path) {
    int links = 0;
    Parent from, to;
    if (int result = walk_parent(old_at, old_path, &links, &from); result < 0) return result;
    links = 0;
    if (int result = walk_parent(new_at, new_path, &links, &to); result < 0) return result;
    if (from.length == 0 || to.length == 0 || is_dot_or_dotdot(from.last()) ||
        is_dot_or_dotdot(to.last())) {
        return -errno_busy;
    }
    Held moving;
    if (int result = lookup_entry(from.dir, from.last(), moving.out()); result < 0) return result;
    if (from.dir->fs != to.dir->fs) return -errno_xdev;
    if (is_mount_point_or_root(moving.get())) return -errno_busy;
    bool moving_directory = moving->is_directory();
    if (!moving_directory && (from.trailing_slash || to.trailing_slash)) return -errno_notdir;
    Held replaced;
    int found = lookup_entry(to.dir, to.last(), replaced.out());
    if (found < 0 && found != -errno_noent) return found;
    if (found == 0) {
        if (replaced.get() == moving.get()) return 0;  // both names already link one file
        if (is_mount_point_or_root(replaced.get())) return -errno_busy;
        if (moving_directory && !replaced->is_directory()) return -errno_notdir;
        if (!moving_directory && replaced->is_directory()) return -errno_isdir;
    }
    if (moving_directory) {
        // A directory cannot move below itself: the new parent must not descend from it.
        int inside = is_ancestor(moving.get(), to.dir);
        if (inside < 0) return inside;
        if (inside) return -errno_inval;
    }
    return from.dir->rename(from.last(), to.dir, to.last());
}

int Vfs::stat(Vnode* at, const char* path, bool follow, LinuxStat* out) {
    Held node;
    if (int result = lookup(at, path, follow, node.out()); result < 0) return result;
    fill_stat(*node.get(), out);
    return 0;
}

int Vfs::truncate(Vnode* at, const char* path, int64_t length) {
    if (length < 0) return -errno_inval;
    Held node;
    if (int result = lookup(at, path, true, node.out()); result < 0) return result;
    if (node->is_directory()) return -errno_isdir;
    if (!node->is_regular()) return -errno_inval;
    return node->truncate(static_cast<uint64_t>(length));
}

}  // namespace mica::fs
