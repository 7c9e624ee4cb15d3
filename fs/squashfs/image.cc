// Opening a squashfs image: the superblock's checks, the tables' extents (each table must end
// where the next one starts, in the order mksquashfs writes them: data, inode table,
// directory table, fragment table, export table, id table, xattrs), the id table, and the
// caches.
#include <mica/format.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "image_private.h"
#include "inflater.h"

namespace mica::fs::squashfs {

namespace {

constexpr const char* compression_name(uint16_t id) {
    switch (id) {
    case format::compression_zlib: return "zlib";
    case format::compression_lzma: return "lzma";
    case format::compression_lzo: return "lzo";
    case format::compression_xz: return "xz";
    case format::compression_lz4: return "lz4";
    case format::compression_zstd: return "zstd";
    }
    return "unknown";
}

// Entries of an index array (one position per 8 KiB metadata block) for `count` entries of
// `entry_size` bytes.
constexpr uint64_t index_blocks(uint64_t count, uint32_t entry_size) {
    return (count * entry_size + format::metadata_size - 1) / format::metadata_size;
}

// Most id index entries: 65535 ids of 4 bytes fill 32 metadata blocks.
constexpr unsigned max_id_blocks = 32;
// The compressor options of zlib: level (4 bytes), window bits (2), strategies (2).
constexpr size_t zlib_options_size = 8;
constexpr uint16_t zlib_max_window_bits = 15;

}  // namespace

int Image::fail(int result, const char* format, ...) {
    va_list args;
    va_start(args, format);
    mica::fmt::vsnprintf(error_, sizeof(error_), format, args);
    va_end(args);
    return result;
}

int Image::wrap(int result, const char* what) {
    char cause[sizeof(error_)];
    memcpy(cause, error_, sizeof(cause));
    return fail(result, "%s: %s", what, cause);
}

int Image::open(Source& source, const Options& options, Image** out, char* error, size_t error_size) {
    *out = nullptr;
    // Plain new (the kernel's stops on exhaustion) for the small object the caller deletes;
    // the big buffers come from malloc and fail with -ENOMEM.
    auto* image = new Image(source);
    int r = image->load(options, error, error_size);
    if (r < 0) {
        if (error_size) mica::fmt::snprintf(error, error_size, "%s", image->error_);
        delete image;
        return r;
    }
    *out = image;
    return 0;
}

Image::~Image() {
    delete inflater_;
    if (data_) {
        for (unsigned i = 0; i < data_slots_; ++i) free(data_[i].data);
    }
    free(data_);
    free(scratch_);
    free(metadata_);
    free(cursors_);
    free(ids_);
}

size_t Image::memory_used() const { return sizeof(*this) + memory_ + (inflater_ ? inflater_->memory_used() : 0); }

int Image::load(const Options& options, char* error, size_t error_size) {
    using namespace format;
    uint64_t image_size = source_.size();
    if (image_size < superblock_size) {
        return fail(-errno_inval, "truncated: %llu bytes, a squashfs superblock alone is %zu",
                    (unsigned long long)image_size, superblock_size);
    }
    uint8_t sb[superblock_size];
    int r = source_.read(0, sb, sizeof(sb));
    if (r < 0) return fail(r, "cannot read the superblock (error %d)", r);

    uint32_t found_magic = le32(sb);
    if (found_magic != magic) {
        return fail(-errno_inval, "not a squashfs image (magic %#x, expected %#x)", found_magic, magic);
    }
    uint16_t major = le16(sb + 28), minor = le16(sb + 30);
    if (major != major_version || minor != minor_version) {
        return fail(-errno_inval, "squashfs version %u.%u: only 4.0 is supported", major, minor);
    }
    uint16_t compression = le16(sb + 20);
    if (compression != compression_zlib) {
        return fail(-errno_inval, "compression %s (%u): only zlib (gzip) is supported",
                    compression_name(compression), compression);
    }
    block_size_ = le32(sb + 12);
    block_log_ = le16(sb + 22);
    if (block_log_ < min_block_log || block_log_ > max_block_log || block_size_ != 1u << block_log_) {
        return fail(-errno_inval, "block size %u with block log %u: not a power of two from 4 KiB to 1 MiB",
                    block_size_, block_log_);
    }
    inode_count_ = le32(sb + 4);
    fragment_count_ = le32(sb + 16);
    uint16_t flags = le16(sb + 24);
    id_count_ = le16(sb + 26);
    root_reference_ = le64(sb + 32);
    bytes_used_ = le64(sb + 40);
    uint64_t id_start = le64(sb + 48), lookup_start = le64(sb + 88);
    uint64_t inode_start = le64(sb + 64), directory_start = le64(sb + 72), fragment_start = le64(sb + 80);

    if (bytes_used_ > image_size) {
        return fail(-errno_inval, "truncated: the superblock says %llu bytes, the image has %llu",
                    (unsigned long long)bytes_used_, (unsigned long long)image_size);
    }
    if (inode_count_ == 0) return fail(-errno_inval, "corrupt superblock: no inodes");
    if (id_count_ == 0) return fail(-errno_inval, "corrupt superblock: no uid/gid table entries");

    inflater_ = Inflater::create();
    if (!inflater_) return fail(-errno_nomem, "out of memory for zlib's inflate state");
    metadata_slots_ = options.metadata_cache_blocks ? options.metadata_cache_blocks : 1;
    data_slots_ = options.data_cache_blocks;
    metadata_ = static_cast<MetadataSlot*>(calloc(metadata_slots_, sizeof(MetadataSlot)));
    if (data_slots_) data_ = static_cast<DataSlot*>(calloc(data_slots_, sizeof(DataSlot)));
    else scratch_ = static_cast<uint8_t*>(malloc(stream_scratch_size));
    cursors_ = static_cast<BlockCursor*>(calloc(block_cursor_slots, sizeof(BlockCursor)));
    if (!metadata_ || !(data_ || scratch_) || !cursors_) return fail(-errno_nomem, "out of memory for the caches");
    if (scratch_) memory_ += stream_scratch_size;
    cursor_slots_ = block_cursor_slots;
    memory_ += metadata_slots_ * sizeof(MetadataSlot) + data_slots_ * sizeof(DataSlot) +
               cursor_slots_ * sizeof(BlockCursor);
    for (unsigned i = 0; i < data_slots_; ++i) {
        data_[i].data = static_cast<uint8_t*>(malloc(block_size_));
        if (!data_[i].data) return fail(-errno_nomem, "out of memory for the data block cache");
        memory_ += block_size_;
    }

    // The tables, from the end of the image backwards: each ends where the next begins.
    uint64_t next = bytes_used_;
    uint64_t id_blocks = index_blocks(id_count_, 4);
    if (id_start < superblock_size || id_start > next || next - id_start < id_blocks * 8) {
        return fail(-errno_inval, "truncated or corrupt: the id table index (%llu) is outside the image",
                    (unsigned long long)id_start);
    }
    uint64_t id_index[max_id_blocks];
    uint8_t raw[max_id_blocks * 8];
    r = source_.read(id_start, raw, id_blocks * 8);
    if (r < 0) return fail(r, "cannot read the id table index (error %d)", r);
    for (unsigned i = 0; i < id_blocks; ++i) {
        id_index[i] = le64(raw + i * 8);
        if (id_index[i] < superblock_size || id_index[i] >= id_start || (i && id_index[i] <= id_index[i - 1])) {
            return fail(-errno_inval, "corrupt id table index: block %u at %llu", i, (unsigned long long)id_index[i]);
        }
    }
    next = id_index[0];

    if (lookup_start != invalid_table) {  // the export table: not used, but it bounds the others
        uint64_t blocks = index_blocks(inode_count_, 8);
        if (lookup_start > next || next - lookup_start < blocks * 8) {
            return fail(-errno_inval, "corrupt: the export table index (%llu) is outside the image",
                        (unsigned long long)lookup_start);
        }
        r = source_.read(lookup_start, raw, 8);
        if (r < 0) return fail(r, "cannot read the export table index (error %d)", r);
        uint64_t first = le64(raw);
        if (first < superblock_size || first >= lookup_start) {
            return fail(-errno_inval, "corrupt export table index: first block at %llu", (unsigned long long)first);
        }
        next = first;
    }

    if (fragment_count_ > 0) {
        uint64_t blocks = index_blocks(fragment_count_, fragment_entry_size);
        if (fragment_start > next || next - fragment_start < blocks * 8) {
            return fail(-errno_inval, "corrupt: the fragment table index (%llu) is outside the image",
                        (unsigned long long)fragment_start);
        }
        r = source_.read(fragment_start, raw, 8);
        if (r < 0) return fail(r, "cannot read the fragment table index (error %d)", r);
        uint64_t first = le64(raw);
        if (first < superblock_size || first >= fragment_start) {
            return fail(-errno_inval, "corrupt fragment table index: first block at %llu", (unsigned long long)first);
        }
        fragment_table_ = {first, fragment_start};
        fragment_index_ = fragment_start;
        next = first;
    }

    if (directory_start > next) {
        return fail(-errno_inval, "corrupt superblock: the directory table (%llu) starts after the tables behind it (%llu)",
                    (unsigned long long)directory_start, (unsigned long long)next);
    }
    if (inode_start < superblock_size || inode_start >= directory_start) {
        return fail(-errno_inval, "corrupt superblock: the inode table (%llu) is not before the directory table (%llu)",
                    (unsigned long long)inode_start, (unsigned long long)directory_start);
    }
    directory_table_ = {directory_start, next};
    inode_table_ = {inode_start, directory_start};
    data_end_ = inode_start;

    if (flags & flag_compressor_options) {
        // zlib's options only matter for the window size: inflate with the largest window
        // reads streams made with any smaller one.
        Position at = {superblock_size, 0};
        uint8_t options_raw[zlib_options_size];
        r = read_metadata({superblock_size, inode_start}, &at, options_raw, sizeof(options_raw));
        if (r < 0) return wrap(-errno_inval, "corrupt compressor options");
        uint16_t window = le16(options_raw + 4);
        if (window > zlib_max_window_bits) {
            return fail(-errno_inval, "zlib window of %u bits is not supported (at most %u)", window, zlib_max_window_bits);
        }
    }

    ids_ = static_cast<uint32_t*>(malloc(id_count_ * sizeof(uint32_t)));
    if (!ids_) return fail(-errno_nomem, "out of memory for the id table");
    memory_ += id_count_ * sizeof(uint32_t);
    Table id_table = {id_index[0], id_start};
    for (unsigned i = 0; i < id_blocks; ++i) {
        Position at = {id_index[i], 0};
        uint32_t first = i * (metadata_size / 4);
        uint32_t count = id_count_ - first < metadata_size / 4 ? id_count_ - first : metadata_size / 4;
        uint8_t* bytes = reinterpret_cast<uint8_t*>(ids_ + first);
        r = read_metadata(id_table, &at, bytes, count * 4);
        if (r < 0) return wrap(-errno_inval, "corrupt id table");
        for (uint32_t j = 0; j < count; ++j) ids_[first + j] = le32(bytes + j * 4);
    }

    Inode root_inode;
    r = root(&root_inode);
    if (r < 0) return wrap(-errno_inval, "corrupt root inode");
    return 0;
}

int Image::root(Inode* out) {
    int r = read_inode(root_reference_, out);
    if (r < 0) return r;
    if (out->type != Type::directory) return fail(-errno_io, "the root inode is not a directory");
    return 0;
}

int Image::lookup_id(uint32_t index, uint32_t* out) {
    if (index >= id_count_) return fail(-errno_io, "corrupt inode: id index %u of %u", index, id_count_);
    *out = ids_[index];
    return 0;
}

}  // namespace mica::fs::squashfs
