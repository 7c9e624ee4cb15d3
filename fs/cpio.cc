#include <mica/fs/cpio.h>
#include <mica/fs/ramfs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

namespace mica::fs {
namespace {

constexpr char magic_newc[] = "070701";
constexpr char magic_crc[] = "070702";  // newc with a checksum of the data in `check`
constexpr size_t magic_length = 6, field_digits = 8, alignment = 4;
constexpr char trailer[] = "TRAILER!!!";
constexpr uint32_t parent_mode = 0755;  // directories the archive does not list itself

// The header fields after the magic, in archive order.
enum Field { ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check, field_count };
constexpr const char* field_names[field_count] = {"ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
                                                  "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check"};

size_t align_up(size_t value) { return (value + alignment - 1) & ~(alignment - 1); }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One regular file with several links: where its first name went.
struct LinkedFile {
    uint32_t ino, devmajor, devminor;
    char* path;
};

class Unpacker {
public:
    Unpacker(Vfs& vfs, Vnode* at, const uint8_t* data, size_t size, CpioReport* report)
        : vfs_(vfs), at_(at), data_(data), size_(size), report_(report) {}
    ~Unpacker() {
        for (size_t i = 0; i < linked_count_; ++i) free(linked_[i].path);
        free(linked_);
        free(path_);
    }
    int run();

private:
    int fail(int error, const char* format, ...) __attribute__((format(printf, 3, 4)));
    int parse_header(const uint8_t* header, uint32_t* fields);
    int normalize(const char* name, size_t length);
    int make_parents();
    int clear_path(bool keep_directory);
    int set_attributes(const uint32_t* fields, bool follow);
    int add_directory(const uint32_t* fields);
    int add_file(const uint32_t* fields, const uint8_t* content);
    int add_symlink(const uint32_t* fields, const uint8_t* content);
    int write_content(const uint8_t* content, size_t length, bool truncate);
    LinkedFile* find_linked(const uint32_t* fields);
    int remember_linked(const uint32_t* fields);

    Vfs& vfs_;
    Vnode* at_;
    const uint8_t* data_;
    size_t size_;
    CpioReport* report_;
    size_t index_ = 0;   // member number, for messages
    size_t offset_ = 0;  // of the member's header
    char* path_ = nullptr;  // the member's normalized name, relative to at_ ("" = at_ itself)
    LinkedFile* linked_ = nullptr;
    size_t linked_count_ = 0;
};

int Unpacker::fail(int error, const char* format, ...) {
    int n = snprintf(report_->error, sizeof report_->error, "cpio: member %zu at offset %zu: ", index_, offset_);
    if (n < 0) n = 0;
    if (static_cast<size_t>(n) < sizeof report_->error) {
        va_list args;
        va_start(args, format);
        vsnprintf(report_->error + n, sizeof report_->error - static_cast<size_t>(n), format, args);
        va_end(args);
    }
    return error;
}

int Unpacker::parse_header(const uint8_t* header, uint32_t* fields) {
    if (memcmp(header, magic_newc, magic_length) != 0 && memcmp(header, magic_crc, magic_length) != 0) {
        char shown[magic_length + 1];
        for (size_t i = 0; i < magic_length; ++i) {
            shown[i] = header[i] >= 0x20 && header[i] < 0x7f ? static_cast<char>(header[i]) : '?';
        }
        shown[magic_length] = '\0';
        return fail(-errno_inval, "bad magic \"%s\" (expected 070701 or 070702: a newc archive)", shown);
    }
    for (int f = 0; f < field_count; ++f) {
        uint32_t value = 0;
        const uint8_t* digits = header + magic_length + f * field_digits;
        for (size_t i = 0; i < field_digits; ++i) {
            int d = hex_digit(static_cast<char>(digits[i]));
            if (d < 0) return fail(-errno_inval, "field %s is not hexadecimal", field_names[f]);
            value = value << 4 | static_cast<uint32_t>(d);
        }
        fields[f] = value;
    }
    return 0;
}

// Strips leading "/" and "./", drops "." components and repeated slashes; ".." is refused.
int Unpacker::normalize(const char* name, size_t length) {
    size_t out = 0;
    size_t i = 0;
    while (i < length) {
        while (i < length && name[i] == '/') ++i;
        size_t start = i;
        while (i < length && name[i] != '/') ++i;
        size_t component = i - start;
        if (component == 0 || (component == 1 && name[start] == '.')) continue;
        if (component == 2 && name[start] == '.' && name[start + 1] == '.') {
            return fail(-errno_inval, "name \"%s\" escapes the archive root with \"..\"", name);
        }
        if (component > name_max) return fail(-errno_nametoolong, "a component of \"%s\" is longer than %zu bytes", name, name_max);
        if (out) path_[out++] = '/';
        memcpy(path_ + out, name + start, component);
        out += component;
    }
    path_[out] = '\0';
    return 0;
}

// Creates the missing directories above path_.
int Unpacker::make_parents() {
    for (char* slash = strchr(path_, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int result = vfs_.mkdir(at_, path_, parent_mode);
        if (result == -errno_exist) {
            Vnode* existing;
            result = vfs_.lookup(at_, path_, true, &existing);
            if (result == 0) {
                if (!existing->is_directory()) result = -errno_notdir;
                existing->unref();
            }
        }
        if (result < 0) {
            fail(result, "cannot create parent directory \"%s\" (error %d)", path_, -result);
            *slash = '/';
            return result;
        }
        *slash = '/';
    }
    return 0;
}

// Makes room at path_: an existing non-directory is removed; an existing directory is kept if
// `keep_directory`, else removed when empty.
int Unpacker::clear_path(bool keep_directory) {
    Vnode* existing;
    int result = vfs_.lookup(at_, path_, false, &existing);
    if (result == -errno_noent) return 0;
    if (result < 0) return fail(result, "cannot look up \"%s\" (error %d)", path_, -result);
    bool directory = existing->is_directory();
    existing->unref();
    if (directory && keep_directory) return 0;
    result = directory ? vfs_.rmdir(at_, path_) : vfs_.unlink(at_, path_);
    if (result < 0) return fail(result, "cannot replace existing \"%s\" (error %d)", path_, -result);
    return 0;
}

int Unpacker::set_attributes(const uint32_t* fields, bool follow) {
    Vnode* node;
    // An empty path_ is the target directory itself (the archive's "." member).
    int result = vfs_.lookup(at_, path_[0] ? path_ : ".", follow, &node);
    if (result < 0) return fail(result, "cannot find \"%s\" just created (error %d)", path_, -result);
    if (!node->is_symlink()) node->mode = (node->mode & s_ifmt) | (fields[mode] & permission_bits);
    node->uid = fields[uid];
    node->gid = fields[gid];
    node->mtime = Timespec{static_cast<int64_t>(fields[mtime]), 0};
    node->atime = node->mtime;
    node->unref();
    return 0;
}

int Unpacker::add_directory(const uint32_t* fields) {
    if (path_[0]) {  // "" or "." is the target directory itself: only its attributes change
        if (int result = clear_path(true); result < 0) return result;
        int result = vfs_.mkdir(at_, path_, fields[mode] & permission_bits);
        if (result < 0 && result != -errno_exist) return fail(result, "cannot create directory \"%s\" (error %d)", path_, -result);
    }
    return set_attributes(fields, false);
}

int Unpacker::write_content(const uint8_t* content, size_t length, bool truncate) {
    OpenFile* file;
    int result = vfs_.open(at_, path_, o_wronly | (truncate ? o_trunc : 0) | o_nofollow, 0, &file);
    if (result < 0) return fail(result, "cannot open \"%s\" (error %d)", path_, -result);
    int64_t written = length ? file->write(content, length) : 0;
    file->unref();
    if (written == -errno_fbig) {
        return fail(static_cast<int>(written), "\"%s\" is larger than a ramfs file can be (%llu bytes)", path_,
                    static_cast<unsigned long long>(ramfs_max_file_bytes));
    }
    if (written < 0) return fail(static_cast<int>(written), "cannot write \"%s\" (error %d)", path_, static_cast<int>(-written));
    report_->bytes += length;
    return 0;
}

LinkedFile* Unpacker::find_linked(const uint32_t* fields) {
    for (size_t i = 0; i < linked_count_; ++i) {
        LinkedFile& l = linked_[i];
        if (l.ino == fields[ino] && l.devmajor == fields[devmajor] && l.devminor == fields[devminor]) return &l;
    }
    return nullptr;
}

int Unpacker::remember_linked(const uint32_t* fields) {
    auto* grown = static_cast<LinkedFile*>(realloc(linked_, sizeof(LinkedFile) * (linked_count_ + 1)));
    if (!grown) return fail(-errno_nomem, "out of memory recording a hard link");
    linked_ = grown;
    size_t length = strlen(path_);
    char* copy = static_cast<char*>(malloc(length + 1));
    if (!copy) return fail(-errno_nomem, "out of memory recording a hard link");
    memcpy(copy, path_, length + 1);
    linked_[linked_count_++] = LinkedFile{fields[ino], fields[devmajor], fields[devminor], copy};
    return 0;
}

int Unpacker::add_file(const uint32_t* fields, const uint8_t* content) {
    if (!path_[0]) return fail(-errno_inval, "a regular file cannot replace the root directory");
    if (int result = clear_path(false); result < 0) return result;
    LinkedFile* first = fields[nlink] > 1 ? find_linked(fields) : nullptr;
    if (first) {
        int result = vfs_.link(at_, first->path, at_, path_);
        if (result < 0) return fail(result, "cannot link \"%s\" to \"%s\" (error %d)", path_, first->path, -result);
        // GNU cpio stores the data with the last name; the earlier ones are empty.
        if (fields[filesize]) {
            if (int r = write_content(content, fields[filesize], true); r < 0) return r;
        }
    } else {
        OpenFile* file;
        int result = vfs_.open(at_, path_, o_wronly | o_creat | o_excl, fields[mode] & permission_bits, &file);
        if (result < 0) return fail(result, "cannot create \"%s\" (error %d)", path_, -result);
        file->unref();
        if (fields[filesize]) {
            if (int r = write_content(content, fields[filesize], false); r < 0) return r;
        }
        if (fields[nlink] > 1) {
            if (int r = remember_linked(fields); r < 0) return r;
        }
    }
    return set_attributes(fields, false);
}

int Unpacker::add_symlink(const uint32_t* fields, const uint8_t* content) {
    size_t length = fields[filesize];
    if (!path_[0]) return fail(-errno_inval, "a symlink cannot replace the root directory");
    if (length == 0) return fail(-errno_inval, "symlink \"%s\" has an empty target", path_);
    if (length >= path_max) return fail(-errno_nametoolong, "symlink \"%s\" target is %zu bytes (limit %zu)", path_, length, path_max - 1);
    if (memchr(content, '\0', length)) return fail(-errno_inval, "symlink \"%s\" target contains a NUL byte", path_);
    if (int result = clear_path(false); result < 0) return result;
    char* target = static_cast<char*>(malloc(length + 1));
    if (!target) return fail(-errno_nomem, "out of memory for symlink \"%s\"", path_);
    memcpy(target, content, length);
    target[length] = '\0';
    int result = vfs_.symlink(target, at_, path_);
    free(target);
    if (result < 0) return fail(result, "cannot create symlink \"%s\" (error %d)", path_, -result);
    return set_attributes(fields, false);
}

int Unpacker::run() {
    path_ = static_cast<char*>(malloc(path_max));
    if (!path_) return fail(-errno_nomem, "out of memory");
    for (;; ++index_) {
        if (offset_ == size_) return fail(-errno_inval, "archive ends without a TRAILER!!! member");
        if (size_ - offset_ < cpio_header_size) {
            return fail(-errno_inval, "truncated header (%zu bytes left, a header is %zu)", size_ - offset_, cpio_header_size);
        }
        uint32_t fields[field_count];
        const uint8_t* header = data_ + offset_;
        if (int result = parse_header(header, fields); result < 0) return result;

        size_t name_size = fields[namesize];
        size_t name_offset = offset_ + cpio_header_size;
        if (name_size < 2) return fail(-errno_inval, "empty name (namesize %zu)", name_size);
        if (name_size > path_max) return fail(-errno_nametoolong, "name of %zu bytes is longer than %zu", name_size, path_max);
        if (name_size > size_ - name_offset) return fail(-errno_inval, "truncated name (namesize %zu, %zu bytes left)", name_size, size_ - name_offset);
        const char* name = reinterpret_cast<const char*>(data_ + name_offset);
        if (name[name_size - 1] != '\0' || memchr(name, '\0', name_size - 1)) {
            return fail(-errno_inval, "name is not NUL-terminated at namesize %zu", name_size);
        }
        size_t data_offset = align_up(name_offset + name_size);
        if (data_offset > size_) {
            // Only the padding is missing: fine for an empty last member (the trailer).
            if (fields[filesize]) return fail(-errno_inval, "truncated after the name of \"%s\"", name);
            data_offset = size_;
        }
        size_t data_size = fields[filesize];
        if (data_size > size_ - data_offset) {
            return fail(-errno_inval, "data of \"%s\" (%zu bytes) runs past the end of the archive (%zu bytes left)", name,
                        data_size, size_ - data_offset);
        }
        const uint8_t* content = data_ + data_offset;
        if (name_size == sizeof trailer && memcmp(name, trailer, sizeof trailer) == 0) return 0;

        if (header[magic_length - 1] == '2') {  // 070702: check is the sum of the data bytes
            uint32_t sum = 0;
            for (size_t i = 0; i < data_size; ++i) sum += content[i];
            if (sum != fields[check]) return fail(-errno_inval, "checksum of \"%s\" is %08x, header says %08x", name, sum, fields[check]);
        }
        if (int result = normalize(name, name_size - 1); result < 0) return result;
        if (path_[0]) {
            if (int result = make_parents(); result < 0) return result;
        }
        int result = 0;
        bool created = true;
        switch (fields[mode] & s_ifmt) {
        case s_ifdir: result = add_directory(fields); break;
        case s_ifreg: result = add_file(fields, content); break;
        case s_iflnk: result = add_symlink(fields, content); break;
        case s_ifchr:
        case s_ifblk:
        case s_ififo:
        case s_ifsock:
            ++report_->skipped;
            created = false;
            break;
        default: return fail(-errno_inval, "\"%s\" has unknown file type 0%o", name, fields[mode] & s_ifmt);
        }
        if (result < 0) return result;
        if (created) ++report_->entries;
        // The last member's padding may be missing; anything else past the end was caught above.
        size_t next = align_up(data_offset + data_size);
        offset_ = next < size_ ? next : size_;
    }
}

}  // namespace

int cpio_unpack(Vfs& vfs, Vnode* at, const void* archive, size_t size, CpioReport* report) {
    *report = CpioReport{};
    Unpacker unpacker(vfs, at, static_cast<const uint8_t*>(archive), size, report);
    return unpacker.run();
}

}  // namespace mica::fs
