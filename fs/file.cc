#include <mica/fs/file.h>
#include <string.h>

namespace mica::fs {

// ---- open files ---------------------------------------------------------------------------

namespace {
// Flags that describe the open file afterwards (the rest only matter while opening).
constexpr int kept_flags = o_accmode | o_append | o_nonblock | o_dsync | o_sync | o_async |
                           o_direct | o_largefile | o_noatime | o_path | o_directory | o_nofollow;
constexpr int settable_flags = o_append | o_nonblock;  // what F_SETFL may change
}  // namespace

int OpenFile::open(Vnode* node, int flags, OpenFile** out) {
    OpenFile* file = make_object<OpenFile>(node, flags & kept_flags);
    if (!file) return -errno_nomem;
    node->ref();
    *out = file;
    return 0;
}

OpenFile::~OpenFile() {
    if (close_observer) close_observer->open_file_closing(this);
    vnode_->unref();
}

void OpenFile::set_status_flags(int flags) {
    flags_ = (flags_ & ~settable_flags) | (flags & settable_flags);
}

int64_t OpenFile::read_at(void* buffer, size_t length, uint64_t offset) {
    if (!readable() || (flags_ & o_path)) return -errno_badf;
    if (vnode_->is_directory()) return -errno_isdir;
    return vnode_->read(offset, buffer, length);
}

int64_t OpenFile::write_at(const void* buffer, size_t length, uint64_t offset) {
    if (!writable() || (flags_ & o_path)) return -errno_badf;
    return vnode_->write(offset, buffer, length);
}

int64_t OpenFile::read(void* buffer, size_t length) {
    int64_t n = read_at(buffer, length, offset_);
    if (n > 0 && vnode_->seekable()) offset_ += static_cast<uint64_t>(n);
    return n;
}

int64_t OpenFile::write(const void* buffer, size_t length) {
    // O_APPEND: every write goes to the current end (atomic under the VFS lock).
    if ((flags_ & o_append) && vnode_->seekable()) offset_ = vnode_->size;
    int64_t n = write_at(buffer, length, offset_);
    if (n > 0 && vnode_->seekable()) offset_ += static_cast<uint64_t>(n);
    return n;
}

int64_t OpenFile::pread(void* buffer, size_t length, int64_t offset) {
    if (!vnode_->seekable()) return -errno_spipe;
    if (offset < 0) return -errno_inval;
    return read_at(buffer, length, static_cast<uint64_t>(offset));
}

int64_t OpenFile::pwrite(const void* buffer, size_t length, int64_t offset) {
    if (!vnode_->seekable()) return -errno_spipe;
    if (offset < 0) return -errno_inval;
    return write_at(buffer, length, static_cast<uint64_t>(offset));
}

int64_t OpenFile::seek(int64_t offset, int whence) {
    if (!vnode_->seekable()) return -errno_spipe;
    int64_t base;
    switch (whence) {
    case seek_set: base = 0; break;
    case seek_cur: base = static_cast<int64_t>(offset_); break;
    case seek_end:
        // A directory offset is a readdir cookie: there is no "end" to count from.
        if (vnode_->is_directory()) return -errno_inval;
        base = static_cast<int64_t>(vnode_->size);
        break;
    default: return -errno_inval;
    }
    int64_t result;
    if (__builtin_add_overflow(base, offset, &result)) return offset < 0 ? -errno_inval : -errno_overflow;
    if (result < 0) return -errno_inval;
    offset_ = static_cast<uint64_t>(result);
    return result;
}

int64_t OpenFile::getdents64(void* buffer, size_t size) {
    if (flags_ & o_path) return -errno_badf;
    if (!vnode_->is_directory()) return -errno_notdir;
    auto* out = static_cast<char*>(buffer);
    size_t used = 0;
    DirEntry entry;
    for (;;) {
        int result = vnode_->readdir(offset_, &entry);
        if (result < 0) return used ? static_cast<int64_t>(used) : result;
        if (result == 0) break;
        size_t record = (dirent64_header + entry.name_length + 1 + 7) & ~size_t{7};
        if (record > size - used) {
            if (used == 0) return -errno_inval;
            break;
        }
        // Through memcpy: the caller's buffer need not be aligned.
        LinuxDirent64 header{};
        header.d_ino = entry.ino;
        header.d_off = static_cast<int64_t>(entry.next_cookie);
        header.d_reclen = static_cast<uint16_t>(record);
        header.d_type = entry.type;
        memset(out + used, 0, record);
        memcpy(out + used, &header, dirent64_header);
        memcpy(out + used + dirent64_header, entry.name, entry.name_length);
        used += record;
        offset_ = entry.next_cookie;
    }
    return static_cast<int64_t>(used);
}

int OpenFile::truncate(int64_t length) {
    if (length < 0) return -errno_inval;
    if (vnode_->is_directory()) return -errno_isdir;
    if (!writable() || !vnode_->is_regular()) return -errno_inval;  // as Linux's ftruncate
    return vnode_->truncate(static_cast<uint64_t>(length));
}

// ---- descriptor table ---------------------------------------------------------------------

FdTable::~FdTable() {
    for (int fd = 0; fd < capacity_; ++fd) {
        if (slots_[fd].file) slots_[fd].file->unref();
    }
    free(slots_);
}

int FdTable::grow_to(int fd) {
    if (fd < capacity_) return 0;
    // Grow in steps of at least 64 slots (doubling), never past the limit.
    int want = capacity_ ? capacity_ * 2 : 64;
    if (want <= fd) want = fd + 1;
    // Never past the limit, unless the descriptor itself is (fork copies descriptors that
    // were open when the limit was lowered below them).
    int cap = limit() > fd ? limit() : fd + 1;
    if (want > cap) want = cap;
    auto* grown = static_cast<Slot*>(realloc(slots_, sizeof(Slot) * static_cast<size_t>(want)));
    if (!grown) return -errno_nomem;
    memset(grown + capacity_, 0, sizeof(Slot) * static_cast<size_t>(want - capacity_));
    slots_ = grown;
    capacity_ = want;
    return 0;
}

int FdTable::lowest_free(int minimum) const {
    for (int fd = minimum, end = limit(); fd < end; ++fd) {
        if (fd >= capacity_ || !slots_[fd].file) return fd;
    }
    return -errno_mfile;
}

int FdTable::assign(int fd, OpenFile* file, bool close_on_exec) {
    if (int result = grow_to(fd); result < 0) return result;
    file->ref();
    OpenFile* previous = slots_[fd].file;
    slots_[fd] = Slot{file, close_on_exec};
    if (previous) previous->unref();  // dup2 over an open descriptor closes it silently
    return fd;
}

int FdTable::install(OpenFile* file, bool close_on_exec) { return dup_from_file(file, 0, close_on_exec); }

int FdTable::copy_to(FdTable& copy) const {
    copy.set_limit(limit());
    for (int fd = 0; fd < capacity_; ++fd) {
        if (!slots_[fd].file) continue;
        if (int r = copy.assign(fd, slots_[fd].file, slots_[fd].close_on_exec); r < 0) return r;
    }
    return 0;
}

void FdTable::swap(FdTable& other) {
    Slot* slots = slots_;
    int capacity = capacity_, limit = this->limit();
    slots_ = other.slots_;
    capacity_ = other.capacity_;
    set_limit(other.limit());
    other.slots_ = slots;
    other.capacity_ = capacity;
    other.set_limit(limit);
}

OpenFile* FdTable::get(int fd) const {
    if (fd < 0 || fd >= capacity_) return nullptr;
    return slots_[fd].file;
}

int FdTable::close(int fd) {
    OpenFile* file = get(fd);
    if (!file) return -errno_badf;
    slots_[fd] = Slot{nullptr, false};
    file->unref();
    return 0;
}

int FdTable::dup(int fd) { return dup_from(fd, 0, false); }

int FdTable::dup_from(int fd, int minimum, bool close_on_exec) {
    OpenFile* file = get(fd);
    if (!file) return -errno_badf;
    if (minimum < 0 || minimum >= limit()) return -errno_inval;
    return dup_from_file(file, minimum, close_on_exec);
}

int FdTable::dup_from_file(OpenFile* file, int minimum, bool close_on_exec) {
    int fd = lowest_free(minimum);
    if (fd < 0) return fd;
    return assign(fd, file, close_on_exec);
}

int FdTable::dup2(int old_fd, int new_fd) {
    OpenFile* file = get(old_fd);
    if (!file) return -errno_badf;
    if (new_fd < 0 || new_fd >= limit()) return -errno_badf;
    if (old_fd == new_fd) return new_fd;
    return assign(new_fd, file, false);
}

int FdTable::dup3(int old_fd, int new_fd, int flags) {
    if (flags & ~o_cloexec) return -errno_inval;
    if (old_fd == new_fd) return -errno_inval;
    OpenFile* file = get(old_fd);
    if (!file) return -errno_badf;
    if (new_fd < 0 || new_fd >= limit()) return -errno_badf;
    return assign(new_fd, file, (flags & o_cloexec) != 0);
}

int FdTable::close_on_exec(int fd) const {
    if (!get(fd)) return -errno_badf;
    return slots_[fd].close_on_exec ? 1 : 0;
}

int FdTable::set_close_on_exec(int fd, bool value) {
    if (!get(fd)) return -errno_badf;
    slots_[fd].close_on_exec = value;
    return 0;
}

void FdTable::close_all_on_exec() {
    for (int fd = 0; fd < capacity_; ++fd) {
        if (slots_[fd].file && slots_[fd].close_on_exec) close(fd);
    }
}

void FdTable::close_range(unsigned first, unsigned last, bool close_on_exec_only) {
    for (unsigned fd = first; fd <= last && fd < static_cast<unsigned>(capacity_); ++fd) {
        if (!slots_[fd].file) continue;
        if (close_on_exec_only) {
            slots_[fd].close_on_exec = true;
        } else {
            close(static_cast<int>(fd));
        }
    }
}

int FdTable::count() const {
    int n = 0;
    for (int fd = 0; fd < capacity_; ++fd) n += slots_[fd].file != nullptr;
    return n;
}

}  // namespace mica::fs
