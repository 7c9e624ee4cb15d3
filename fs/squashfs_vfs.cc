// squashfs vnodes (squashfs_vfs.h).
#include <mica/fs/squashfs_vfs.h>
#include <stdio.h>
#include <string.h>

namespace mica::fs {

const FileSystemType squashfs_type = {"squashfs", nullptr, squashfs_magic};

namespace {

using squashfs::Image;
using squashfs::Inode;
using squashfs::Type;

class SquashVnode;

// Live vnodes by inode number: an open-hashed table that grows by doubling.
class VnodeTable {
public:
    ~VnodeTable() { free(slots_); }
    // Calls f on every live vnode; f may remove vnodes (slots only become tombstones).
    template <typename F>
    void for_each(F f) {
        for (size_t i = 0; i < capacity_; ++i) {
            if (slots_[i] && slots_[i] != tombstone_value()) f(slots_[i]);
        }
    }
    static SquashVnode* tombstone_value() { return reinterpret_cast<SquashVnode*>(uintptr_t{1}); }
    SquashVnode* find(uint32_t number) const;
    bool insert(SquashVnode* node);
    void remove(SquashVnode* node);

private:
    bool grow();
    SquashVnode** slots_ = nullptr;  // nullptr: empty; `tombstone`: removed
    size_t capacity_ = 0, used_ = 0, live_ = 0;
};

class SquashFileSystem final : public FileSystem {
public:
    SquashFileSystem(Clock clock, Image* image, squashfs::Source* source, bool owns_source, PageCache* cache,
                     SquashfsLock lock, SquashfsReport report)
        : FileSystem(clock), image_(image), source_(source), owns_source_(owns_source), cache_(*cache), lock_(lock),
          report_(report) {
        read_only = true;
    }
    ~SquashFileSystem() override;
    Vnode* root() override;

    int init(char* error, size_t error_size);
    // The vnode of `inode` (referenced), made when none is live; `parent` is the directory
    // it was found in (nullptr for the root).
    int vnode_for(const Inode& inode, SquashVnode* parent, Vnode** out);

    Image& image() { return *image_; }
    PageCache& cache() { return cache_; }
    VnodeTable& table() { return table_; }
    void lock() {
        if (lock_.lock) lock_.lock(lock_.context);
    }
    void unlock() {
        if (lock_.unlock) lock_.unlock(lock_.context);
    }
    void report(const char* message) const {
        if (report_) report_(message);
    }

private:
    Image* image_;
    squashfs::Source* source_;
    bool owns_source_;
    PageCache& cache_;
    SquashfsLock lock_;
    SquashfsReport report_;
    VnodeTable table_;
    SquashVnode* root_ = nullptr;
};

// Holds the file system's lock for a scope.
class Locked {
public:
    explicit Locked(SquashFileSystem& fs) : fs_(fs) { fs_.lock(); }
    ~Locked() { fs_.unlock(); }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;

private:
    SquashFileSystem& fs_;
};

uint8_t dirent_type(Type type) {
    switch (type) {
    case Type::directory: return dt_dir;
    case Type::regular: return dt_reg;
    case Type::symlink: return dt_lnk;
    case Type::block_device: return dt_blk;
    case Type::char_device: return dt_chr;
    case Type::fifo: return dt_fifo;
    case Type::socket: return dt_sock;
    }
    return dt_unknown;
}

class SquashVnode final : public Vnode, public mm::FilePager {
public:
    SquashVnode(SquashFileSystem* owner, const Inode& inode, SquashVnode* parent)
        : Vnode(owner, inode.mode), inode_(inode), parent_(parent) {  // mode: type and permissions
        ino = inode.number;
        uid = inode.uid;
        gid = inode.gid;
        nlink = inode.nlink;
        size = inode.size;
        rdev = inode.rdev;
        atime = mtime = ctime = Timespec{inode.mtime, 0};
        if (parent_) parent_->ref();
    }
    ~SquashVnode() override {
        {
            Locked locked(owner());
            owner().cache().forget(pages_);
        }
        owner().table().remove(this);
        if (parent_) parent_->unref();
    }
    uint32_t number() const { return inode_.number; }
    // Kept (referenced) until the file system goes, once it has pages in the cache or is a
    // pager: the cache is keyed by the vnode, so a file closed and opened again finds its
    // pages, and mappings refer to their pager without a reference. Costs a vnode per file
    // ever read; its pages go with the cache's bound. VFS lock held.
    void pin() {
        if (pinned_) return;
        ref();
        pinned_ = true;
    }
    // The file system goes: the reference taken by pin() is dropped.
    void unpin() {
        if (!pinned_) return;
        pinned_ = false;
        unref();
    }

    int lookup(Name name, Vnode** out) override {
        if (!is_directory()) return -errno_notdir;
        if (name.is_dot() || (name.is_dotdot() && !parent_)) {
            ref();
            *out = this;
            return 0;
        }
        if (name.is_dotdot()) {
            parent_->ref();
            *out = parent_;
            return 0;
        }
        Inode child;
        {
            Locked locked(owner());
            if (int r = owner().image().lookup(inode_, name.chars, name.length, &child); r < 0) return failed(r);
        }
        return owner().vnode_for(child, this, out);
    }
    int readdir(uint64_t cookie, DirEntry* out) override {
        if (!is_directory()) return -errno_notdir;
        if (cookie < 2) {
            SquashVnode* target = cookie == 0 || !parent_ ? this : parent_;
            out->ino = target->ino;
            out->type = dt_dir;
            out->next_cookie = cookie + 1;
            out->name_length = cookie + 1;
            memcpy(out->name, "..", cookie + 1);
            out->name[cookie + 1] = '\0';
            return 1;
        }
        squashfs::Entry entry;
        Locked locked(owner());
        int r = owner().image().readdir(inode_, cookie - 2, &entry);
        if (r <= 0) return r < 0 ? failed(r) : 0;
        out->ino = entry.inode_number;
        out->type = dirent_type(entry.type);
        out->next_cookie = entry.next_cookie + 2;
        out->name_length = entry.name_length;
        memcpy(out->name, entry.name, entry.name_length + 1);
        return 1;
    }
    int64_t readlink(char* buffer, size_t length) override {
        if (!is_symlink()) return -errno_inval;
        Locked locked(owner());
        int64_t r = owner().image().readlink(inode_, buffer, length);
        return r < 0 ? failed(static_cast<int>(r)) : r;
    }
    int64_t read(uint64_t offset, void* buffer, size_t length) override {
        if (is_directory()) return -errno_isdir;
        if (!is_regular()) return -errno_inval;
        if (offset >= size) return 0;
        if (length > size - offset) length = static_cast<size_t>(size - offset);
        Locked locked(owner());
        size_t done = 0;
        while (done < length) {
            uint64_t at = offset + done;
            void* page;
            if (int r = cached_page(at / data_page_size, &page); r < 0) return done ? static_cast<int64_t>(done) : r;
            size_t within = static_cast<size_t>(at % data_page_size);
            size_t n = data_page_size - within;
            if (n > length - done) n = length - done;
            memcpy(static_cast<char*>(buffer) + done, static_cast<char*>(page) + within, n);
            done += n;
        }
        if (pages_.pages()) pin();
        return static_cast<int64_t>(done);
    }
    bool has_mappable_pages() const override { return is_regular(); }
    void* mappable_page(uint64_t index) override { return owner().cache().find(pages_, index); }
    int prepare_pages(uint64_t first, uint64_t count) override {
        Locked locked(owner());
        int r = hold_pages(first, count, nullptr);
        if (pages_.pages()) pin();
        return r;
    }
    mm::FilePager* pager() override {
        if (!is_regular()) return nullptr;
        pin();  // mappings refer to it without a reference
        return this;
    }
    int with_pages(uint64_t first, size_t count, bool read, Use use, void* context) override {
        constexpr size_t chunk = PageCache::map_chunk_pages;
        void* pages[chunk];
        Locked locked(owner());
        for (size_t done = 0; done < count;) {
            size_t n = count - done < chunk ? count - done : chunk;
            if (read) {
                if (int r = hold_pages(first + done, n, pages); r < 0) return r;
            } else {
                for (size_t i = 0; i < n; ++i) pages[i] = owner().cache().find(pages_, first + done + i);
            }
            use(pages, n, context);
            done += n;
        }
        return 0;
    }
    uint64_t page_count() const override { return (size + data_page_size - 1) / data_page_size; }
    bool openable() const override { return is_regular() || is_directory() || is_symlink(); }

    // Read-only: what would change the tree or a file.
    int create(Name, uint32_t, Vnode**) override { return read_only_or_notdir(); }
    int mkdir(Name, uint32_t, Vnode**) override { return read_only_or_notdir(); }
    int symlink(Name, const char*, size_t, Vnode**) override { return read_only_or_notdir(); }
    int mknod(Name, uint32_t, uint64_t, Vnode**) override { return read_only_or_notdir(); }
    int link(Name, Vnode*) override { return read_only_or_notdir(); }
    int unlink(Name) override { return read_only_or_notdir(); }
    int rmdir(Name) override { return read_only_or_notdir(); }
    int rename(Name, Vnode*, Name) override { return read_only_or_notdir(); }
    int64_t write(uint64_t, const void*, size_t) override { return is_directory() ? -errno_isdir : -errno_rofs; }
    int truncate(uint64_t) override { return is_directory() ? -errno_isdir : -errno_rofs; }
    int fallocate(int, uint64_t, uint64_t) override { return -errno_rofs; }

private:
    SquashFileSystem& owner() const { return *static_cast<SquashFileSystem*>(fs); }
    int read_only_or_notdir() const { return is_directory() ? -errno_rofs : -errno_notdir; }
    // A corrupt image reads as an I/O error, as on Linux; the reader's message goes to the
    // console once per failure so the user learns which file and why.
    int failed(int error) const {
        if (error == -errno_io) {
            char message[160];
            snprintf(message, sizeof message, "squashfs: inode %u: %s", static_cast<unsigned>(inode_.number),
                     owner().image().last_error());
            owner().report(message);
        }
        return error;
    }
    static int fill_pages(void* context, uint64_t first, void* const* pages, size_t count) {
        auto* self = static_cast<SquashVnode*>(context);
        int r = self->owner().image().read_pages(self->inode_, first * data_page_size, data_page_size, pages,
                                                  static_cast<unsigned>(count));
        return r < 0 ? self->failed(r) : 0;
    }
    // The page, read on a miss together with the missing pages of the rest of its squashfs
    // block (at most map_chunk_pages of it, around the page) in one pass over the block: the
    // block is decompressed once for all of them, where page-at-a-time misses later would
    // decompress it again for each (the reader keeps no decompressed block on small machines).
    // Only the page when memory is short.
    int cached_page(uint64_t index, void** page) {
        PageCache& cache = owner().cache();
        uint64_t first = index, count = 1;
        if (!cache.find(pages_, index) && !cache.short_of_memory()) {
            uint64_t per_block = owner().image().block_size() / data_page_size;
            if (per_block > PageCache::map_chunk_pages) per_block = PageCache::map_chunk_pages;
            if (per_block == 0) per_block = 1;
            first = index - index % per_block;
            uint64_t file_pages = page_count();
            count = file_pages - first < per_block ? file_pages - first : per_block;
        }
        return cache.get_range(pages_, index, first, static_cast<size_t>(count), fill_pages, this, page);
    }
    // Pages [first, first + count) (at most PageCache::map_chunk_pages) in the cache at once,
    // their addresses in `out` (nullptr past the end of the file) when not nullptr; lock held.
    // A fill that ran out of memory may have evicted pages got earlier in the loop (the
    // cache's note): a second pass puts them back, then every page must be there.
    int hold_pages(uint64_t first, uint64_t count, void** out) {
        uint64_t file_pages = page_count();
        for (int pass = 0; pass < 2; ++pass) {
            bool all = true;
            for (uint64_t i = first; i < first + count && i < file_pages; ++i) {
                if (owner().cache().find(pages_, i)) continue;
                all = false;
                void* page;
                if (int r = cached_page(i, &page); r < 0) return r;
            }
            if (all) break;
        }
        for (uint64_t i = 0; i < count; ++i) {
            void* page = first + i < file_pages ? owner().cache().find(pages_, first + i) : nullptr;
            if (!page && first + i < file_pages) return -errno_nomem;
            if (out) out[i] = page;
        }
        return 0;
    }

    Inode inode_;
    SquashVnode* parent_;  // referenced; nullptr for the root
    PageCache::File pages_;
    bool pinned_ = false;  // pin()
};

SquashVnode* const tombstone = VnodeTable::tombstone_value();

size_t slot_hash(uint32_t number, size_t capacity) { return (number * 0x9e3779b1u) & (capacity - 1); }

SquashVnode* VnodeTable::find(uint32_t number) const {
    if (!capacity_) return nullptr;
    for (size_t i = slot_hash(number, capacity_), n = 0; n < capacity_; i = (i + 1) & (capacity_ - 1), ++n) {
        SquashVnode* s = slots_[i];
        if (!s) return nullptr;
        if (s != tombstone && s->number() == number) return s;
    }
    return nullptr;
}

bool VnodeTable::grow() {
    size_t capacity = capacity_ ? capacity_ * 2 : 64;
    while (live_ * 2 >= capacity) capacity *= 2;
    auto** fresh = static_cast<SquashVnode**>(calloc(capacity, sizeof(SquashVnode*)));
    if (!fresh) return false;
    for (size_t i = 0; i < capacity_; ++i) {
        SquashVnode* s = slots_[i];
        if (!s || s == tombstone) continue;
        size_t j = slot_hash(s->number(), capacity);
        while (fresh[j]) j = (j + 1) & (capacity - 1);
        fresh[j] = s;
    }
    free(slots_);
    slots_ = fresh;
    capacity_ = capacity;
    used_ = live_;
    return true;
}

bool VnodeTable::insert(SquashVnode* node) {
    if ((used_ + 1) * 2 > capacity_ && !grow()) return false;
    size_t i = slot_hash(node->number(), capacity_);
    while (slots_[i] && slots_[i] != tombstone) i = (i + 1) & (capacity_ - 1);
    if (!slots_[i]) ++used_;
    slots_[i] = node;
    ++live_;
    return true;
}

void VnodeTable::remove(SquashVnode* node) {
    if (!capacity_) return;
    for (size_t i = slot_hash(node->number(), capacity_), n = 0; n < capacity_; i = (i + 1) & (capacity_ - 1), ++n) {
        if (!slots_[i]) return;
        if (slots_[i] == node) {
            slots_[i] = tombstone;
            --live_;
            return;
        }
    }
}

Vnode* SquashFileSystem::root() { return root_; }

SquashFileSystem::~SquashFileSystem() {
    table_.for_each([](SquashVnode* node) { node->unpin(); });
    if (root_) root_->unref();
    delete image_;
    if (owns_source_) delete source_;
}

int SquashFileSystem::init(char* error, size_t error_size) {
    Inode inode;
    lock();
    int root_result = image_->root(&inode);
    unlock();
    if (int r = root_result; r < 0) {
        if (error && error_size) snprintf(error, error_size, "root inode: %s", image_->last_error());
        return r;
    }
    if (inode.type != Type::directory) {
        if (error && error_size) snprintf(error, error_size, "the root inode is not a directory");
        return -errno_io;
    }
    Vnode* root;
    if (int r = vnode_for(inode, nullptr, &root); r < 0) {
        if (error && error_size) snprintf(error, error_size, "out of memory");
        return r;
    }
    root_ = static_cast<SquashVnode*>(root);
    return 0;
}

int SquashFileSystem::vnode_for(const Inode& inode, SquashVnode* parent, Vnode** out) {
    if (SquashVnode* live = table_.find(inode.number)) {
        live->ref();
        *out = live;
        return 0;
    }
    auto* node = make_object<SquashVnode>(this, inode, inode.type == Type::directory ? parent : nullptr);
    if (!node) return -errno_nomem;
    if (!table_.insert(node)) {
        node->unref();
        return -errno_nomem;
    }
    *out = node;
    return 0;
}

}  // namespace

int squashfs_create(Clock clock, squashfs::Image* image, squashfs::Source* source, bool owns_source,
                    PageCache& cache, SquashfsLock lock, SquashfsReport report, FileSystem** out, char* error,
                    size_t error_size) {
    auto* fs = make_object<SquashFileSystem>(clock, image, source, owns_source, &cache, lock, report);
    if (!fs) {
        delete image;
        if (owns_source) delete source;
        return -errno_nomem;
    }
    if (int r = fs->init(error, error_size); r < 0) {
        delete fs;
        return r;
    }
    *out = fs;
    return 0;
}

}  // namespace mica::fs
