// Inodes: a common 16-byte header then a part per type (basic and extended directories,
// files, symlinks, devices, FIFOs and sockets), read from the inode table.
#include "image_private.h"

namespace mica::fs::squashfs {

using namespace format;

namespace {

constexpr uint64_t max_file_size = uint64_t(INT64_MAX);
// The largest type-specific part (an extended file) after the common header.
constexpr size_t max_inode_part = 40;

}  // namespace

int Image::read_inode(uint64_t reference, Inode* out) {
    uint64_t relative = reference >> 16;
    uint32_t offset = uint32_t(reference & 0xffff);
    if (relative >= inode_table_.end - inode_table_.start || offset >= metadata_size) {
        return fail(-errno_io, "corrupt inode reference %#llx", (unsigned long long)reference);
    }
    Position at = {inode_table_.start + relative, offset};
    uint8_t header[inode_header_size];
    int r = read_metadata(inode_table_, &at, header, sizeof(header));
    if (r < 0) return r;

    Inode inode;
    uint16_t type = le16(header);
    uint16_t basic = type > extended_offset ? uint16_t(type - extended_offset) : type;
    if (type < basic_directory || type > extended_socket || !basic_type(basic, &inode.type)) {
        return fail(-errno_io, "corrupt inode %#llx: type %u", (unsigned long long)reference, type);
    }
    bool extended = type >= extended_directory;
    inode.reference = reference;
    inode.mode = (le16(header + 2) & mode_permissions) | type_mode(inode.type);
    if ((r = lookup_id(le16(header + 4), &inode.uid)) < 0) return r;
    if ((r = lookup_id(le16(header + 6), &inode.gid)) < 0) return r;
    inode.mtime = le32(header + 8);
    inode.number = le32(header + 12);
    if (inode.number == 0 || inode.number > inode_count_) {
        return fail(-errno_io, "corrupt inode %#llx: number %u of %u", (unsigned long long)reference, inode.number,
                    inode_count_);
    }

    static constexpr size_t part_size[] = {0, 16, 16, 8, 8, 8, 4, 4, 24, 40, 8, 12, 12, 8, 8};
    uint8_t p[max_inode_part];
    if ((r = read_metadata(inode_table_, &at, p, part_size[type])) < 0) return r;
    uint32_t file_size32 = 0;

    switch (type) {
    case basic_directory:
    case extended_directory: {
        uint32_t size;
        if (extended) {
            inode.nlink = le32(p);
            size = le32(p + 4);
            inode.directory_block = le32(p + 8);
            inode.index_count = le16(p + 16);
            inode.directory_offset = le16(p + 18);
        } else {
            inode.directory_block = le32(p);
            inode.nlink = le32(p + 4);
            size = le16(p + 8);
            inode.directory_offset = le16(p + 10);
        }
        if (size < directory_size_extra || inode.directory_offset >= metadata_size) {
            return fail(-errno_io, "corrupt directory inode %u: size %u, offset %u", inode.number, size,
                        inode.directory_offset);
        }
        inode.size = size;
        inode.listing_size = size - directory_size_extra;
        uint64_t spans = (uint64_t(inode.directory_offset) + inode.listing_size) / metadata_size + 1;
        if (inode.listing_size > 0 && inode.directory_block >= directory_table_.end - directory_table_.start) {
            return fail(-errno_io, "corrupt directory inode %u: listing at %u is outside the directory table",
                        inode.number, inode.directory_block);
        }
        if (inode.index_count > spans) {
            return fail(-errno_io, "corrupt directory inode %u: %u index entries for %llu metadata blocks",
                        inode.number, inode.index_count, (unsigned long long)spans);
        }
        break;
    }
    case basic_file:
    case extended_file: {
        if (extended) {
            inode.data_start = le64(p);
            inode.size = le64(p + 8);
            inode.nlink = le32(p + 24);
            inode.fragment = le32(p + 28);
            inode.fragment_offset = le32(p + 32);
        } else {
            inode.data_start = le32(p);
            inode.fragment = le32(p + 4);
            inode.fragment_offset = le32(p + 8);
            inode.size = le32(p + 12);
            inode.nlink = 1;
        }
        if (inode.size > max_file_size) {
            return fail(-errno_io, "corrupt file inode %u: size %llu", inode.number, (unsigned long long)inode.size);
        }
        if (inode.fragment != no_fragment &&
            (inode.fragment >= fragment_count_ || inode.fragment_offset >= block_size_)) {
            return fail(-errno_io, "corrupt file inode %u: fragment %u (of %u) at offset %u", inode.number,
                        inode.fragment, fragment_count_, inode.fragment_offset);
        }
        break;
    }
    case basic_symlink:
    case extended_symlink:
        inode.nlink = le32(p);
        file_size32 = le32(p + 4);
        if (file_size32 > symlink_max) {
            return fail(-errno_io, "corrupt symlink inode %u: target of %u bytes", inode.number, file_size32);
        }
        inode.size = file_size32;
        break;
    case basic_block:
    case basic_char:
    case extended_block:
    case extended_char:
        inode.nlink = le32(p);
        inode.rdev = decode_rdev(le32(p + 4));
        break;
    default:  // FIFOs and sockets
        inode.nlink = le32(p);
        break;
    }
    inode.tail_block = at.block;
    inode.tail_offset = at.offset;
    *out = inode;
    return 0;
}

int Image::inode(const Entry& entry, Inode* out) {
    int r = read_inode(entry.reference, out);
    if (r < 0) return r;
    if (out->number != entry.inode_number || out->type != entry.type) {
        return fail(-errno_io, "corrupt directory entry \"%s\": inode %u of type %u, its inode says %u of type %u",
                    entry.name, entry.inode_number, unsigned(entry.type), out->number, unsigned(out->type));
    }
    return 0;
}

}  // namespace mica::fs::squashfs
