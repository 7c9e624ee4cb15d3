// Directories: a listing of runs, each a header (entry count, the inode table block of the
// run's inodes, a base inode number) then up to 256 entries sorted by name; the directory
// index of extended directory inodes says where runs start in later metadata blocks, so a
// lookup in a big directory starts near its name.
//
// readdir cookies say where the next entry is without searching: bits 26-57 the listing
// offset of the next entry (or header), bits 9-25 how far back its run's header is, bits 0-8
// how many entries of the run remain (0: a header comes next). 0 is the start, and cookies
// grow along the listing (the offset is the most significant part).
#include <string.h>

#include "image_private.h"

namespace mica::fs::squashfs {

using namespace format;

namespace {

constexpr unsigned cookie_offset_shift = 26, cookie_header_shift = 9, cookie_bits = 58;
constexpr uint64_t cookie_offset_mask = 0xffffffff, cookie_header_mask = 0x1ffff, cookie_remaining_mask = 0x1ff;

// Names compare as mksquashfs sorts them: bytes as unsigned, a prefix first.
int compare_names(const char* a, size_t a_length, const char* b, size_t b_length) {
    size_t n = a_length < b_length ? a_length : b_length;
    int c = memcmp(a, b, n);
    if (c != 0) return c;
    return a_length < b_length ? -1 : a_length > b_length ? 1 : 0;
}

}  // namespace

struct Image::Header {
    uint32_t offset;     // the header's listing offset
    uint32_t count;      // entries in its run
    uint32_t inode_block;
    uint32_t base_number;
};

// The position of listing offset `listing_offset` of `dir`: every directory table block but
// the last holds 8 KiB, so it is a walk of block headers from the listing's first block (or
// from where the last seek in the same listing landed).
int Image::seek_listing(const Inode& dir, uint32_t listing_offset, Position* out) {
    uint64_t first = directory_table_.start + dir.directory_block;
    uint64_t absolute = uint64_t(dir.directory_offset) + listing_offset;
    uint64_t block_number = absolute / metadata_size;
    uint64_t block = first, at_number = 0;
    if (seek_memo_.valid && seek_memo_.first_block == first && seek_memo_.block_number <= block_number) {
        block = seek_memo_.block;
        at_number = seek_memo_.block_number;
    }
    for (; at_number < block_number; ++at_number) {  // bounded: the listing spans few blocks
        int r = next_block(directory_table_, block, &block);
        if (r < 0) return r;
    }
    seek_memo_ = {first, block_number, block, true};
    *out = {block, uint32_t(absolute % metadata_size)};
    return 0;
}

int Image::read_header(const Inode& dir, uint32_t listing_offset, Position* at, Header* out) {
    if (dir.listing_size - listing_offset < directory_header_size) {
        return fail(-errno_io, "corrupt directory inode %u: its listing ends inside a header", dir.number);
    }
    uint8_t raw[directory_header_size];
    int r = read_metadata(directory_table_, at, raw, sizeof(raw));
    if (r < 0) return r;
    out->offset = listing_offset;
    out->count = le32(raw) + 1;
    out->inode_block = le32(raw + 4);
    out->base_number = le32(raw + 8);
    if (out->count == 0 || out->count > directory_max_count) {
        return fail(-errno_io, "corrupt directory inode %u: a run of %u entries", dir.number, le32(raw) + 1);
    }
    if (out->inode_block >= inode_table_.end - inode_table_.start) {
        return fail(-errno_io, "corrupt directory inode %u: inode block %u is outside the inode table", dir.number,
                    out->inode_block);
    }
    return 0;
}

// Reads the entry at `listing_offset` (at `at`) into `out`, all but next_cookie.
int Image::read_entry(const Inode& dir, const Header& header, uint32_t listing_offset, Position* at, Entry* out) {
    uint32_t left = dir.listing_size - listing_offset;
    uint8_t raw[directory_entry_size];
    if (left < sizeof(raw)) return fail(-errno_io, "corrupt directory inode %u: its listing ends inside an entry", dir.number);
    int r = read_metadata(directory_table_, at, raw, sizeof(raw));
    if (r < 0) return r;
    uint32_t offset = le16(raw);
    int16_t delta = int16_t(le16(raw + 2));
    uint16_t type = le16(raw + 4);
    uint32_t length = uint32_t(le16(raw + 6)) + 1;
    if (length > name_max || left - sizeof(raw) < length || offset >= metadata_size || !basic_type(type, &out->type)) {
        return fail(-errno_io, "corrupt directory inode %u: entry at %u (name of %u bytes, type %u, offset %u)",
                    dir.number, listing_offset, length, type, offset);
    }
    if ((r = read_metadata(directory_table_, at, out->name, length)) < 0) return r;
    out->name[length] = 0;
    out->name_length = length;
    bool dots = (length == 1 && out->name[0] == '.') || (length == 2 && out->name[0] == '.' && out->name[1] == '.');
    if (dots || memchr(out->name, '/', length) || memchr(out->name, 0, length)) {
        return fail(-errno_io, "corrupt directory inode %u: bad entry name at %u", dir.number, listing_offset);
    }
    out->inode_number = header.base_number + uint32_t(int32_t(delta));
    if (out->inode_number == 0 || out->inode_number > inode_count_) {
        return fail(-errno_io, "corrupt directory inode %u: entry \"%s\" has inode number %u", dir.number, out->name,
                    out->inode_number);
    }
    out->reference = uint64_t(header.inode_block) << 16 | offset;
    return 0;
}

int Image::readdir(const Inode& dir, uint64_t cookie, Entry* out) {
    if (dir.type != Type::directory) return -errno_notdir;
    uint32_t offset = uint32_t(cookie >> cookie_offset_shift & cookie_offset_mask);
    uint32_t back = uint32_t(cookie >> cookie_header_shift & cookie_header_mask);
    uint32_t remaining = uint32_t(cookie & cookie_remaining_mask);
    if (cookie >> cookie_bits || offset > dir.listing_size || back > offset ||
        remaining > directory_max_count || (remaining == 0) != (back == 0)) {
        return -errno_inval;
    }
    if (offset == dir.listing_size && remaining == 0) return 0;

    Header header;
    Position at;
    int r;
    if (remaining == 0) {  // a run starts here
        if ((r = seek_listing(dir, offset, &at)) < 0) return r;
        if ((r = read_header(dir, offset, &at, &header)) < 0) return r;
        remaining = header.count;
        offset += directory_header_size;
    } else {  // in a run: its header is `back` bytes before
        if (back < directory_header_size) return -errno_inval;
        if ((r = seek_listing(dir, offset - back, &at)) < 0) return r;
        if ((r = read_header(dir, offset - back, &at, &header)) < 0) return r;
        if ((r = skip_metadata(directory_table_, &at, back - directory_header_size)) < 0) return r;
    }
    if ((r = read_entry(dir, header, offset, &at, out)) < 0) return r;
    uint32_t next = offset + uint32_t(directory_entry_size + out->name_length);
    --remaining;
    uint64_t next_back = remaining ? next - header.offset : 0;
    if (remaining && next == dir.listing_size) {
        return fail(-errno_io, "corrupt directory inode %u: its listing ends inside a run", dir.number);
    }
    out->next_cookie = uint64_t(next) << cookie_offset_shift | next_back << cookie_header_shift | remaining;
    return 1;
}

// Where a lookup of `name` starts: the last index entry whose name sorts at or before it.
int Image::index_start(const Inode& dir, const char* name, size_t length, uint32_t* listing_offset, Position* at) {
    *listing_offset = 0;
    int r = seek_listing(dir, 0, at);
    if (r < 0 || dir.index_count == 0) return r;
    Position index = {dir.tail_block, dir.tail_offset};
    uint32_t last = 0;
    for (uint32_t i = 0; i < dir.index_count; ++i) {  // index_count was checked against the listing
        uint8_t raw[directory_index_size];
        char index_name[name_max];
        if ((r = read_metadata(inode_table_, &index, raw, sizeof(raw))) < 0) return r;
        uint32_t offset = le32(raw), block = le32(raw + 4), name_length = le32(raw + 8) + 1;
        if (name_length == 0 || name_length > name_max || offset > dir.listing_size || offset < last ||
            block >= directory_table_.end - directory_table_.start) {
            return fail(-errno_io, "corrupt directory index of inode %u: entry %u", dir.number, i);
        }
        last = offset;
        if ((r = read_metadata(inode_table_, &index, index_name, name_length)) < 0) return r;
        if (compare_names(index_name, name_length, name, length) > 0) break;
        *listing_offset = offset;
        *at = {directory_table_.start + block, uint32_t((dir.directory_offset + uint64_t(offset)) % metadata_size)};
    }
    return 0;
}

int Image::lookup(const Inode& dir, const char* name, size_t length, Inode* out) {
    if (dir.type != Type::directory) return -errno_notdir;
    if (length > name_max) return -errno_nametoolong;
    if (length == 0 || memchr(name, '/', length) || memchr(name, 0, length)) return -errno_noent;
    uint32_t offset;
    Position at;
    int r = index_start(dir, name, length, &offset, &at);
    if (r < 0) return r;
    // Each run consumes at least a header and an entry of the checked listing size.
    while (offset < dir.listing_size) {
        Header header;
        if ((r = read_header(dir, offset, &at, &header)) < 0) return r;
        offset += directory_header_size;
        for (uint32_t i = 0; i < header.count; ++i) {
            Entry entry;
            if ((r = read_entry(dir, header, offset, &at, &entry)) < 0) return r;
            offset += uint32_t(directory_entry_size + entry.name_length);
            int c = compare_names(entry.name, entry.name_length, name, length);
            if (c == 0) return inode(entry, out);
            if (c > 0) return -errno_noent;  // sorted: it is not further on
        }
    }
    return -errno_noent;
}

}  // namespace mica::fs::squashfs
