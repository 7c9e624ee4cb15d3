// The squashfs 4.0 on-disk format (Linux's Documentation/filesystems/squashfs.rst and
// squashfs-tools' squashfs_fs.h describe it): little-endian fields, constants and the helpers
// that decode them. Private to the reader.
#pragma once

#include <mica/fs/squashfs.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::fs::squashfs::format {

inline constexpr uint32_t magic = 0x73717368;  // "hsqs" read little-endian
inline constexpr uint16_t major_version = 4, minor_version = 0;
inline constexpr size_t superblock_size = 96;
inline constexpr uint32_t min_block_log = 12, max_block_log = 20;  // 4 KiB .. 1 MiB blocks

// Compression ids (the superblock's `compression`).
inline constexpr uint16_t compression_zlib = 1, compression_lzma = 2, compression_lzo = 3,
                          compression_xz = 4, compression_lz4 = 5, compression_zstd = 6;

// Superblock flags the reader looks at.
inline constexpr uint16_t flag_compressor_options = 0x0400;

// Metadata blocks: a 16-bit header (stored length, bit 15 = stored uncompressed), then at most
// 8 KiB; every block of a table but the last decompresses to exactly 8 KiB.
inline constexpr uint32_t metadata_size = 8192;
inline constexpr uint16_t metadata_uncompressed = 0x8000;
inline constexpr uint16_t metadata_length_mask = 0x7fff;

// Data block / fragment size words: bit 24 = stored uncompressed, bits 0-23 the stored length
// (0: a sparse block of zeros); bits 25-31 are never set.
inline constexpr uint32_t block_uncompressed = 1u << 24;
inline constexpr uint32_t block_length_mask = block_uncompressed - 1;
inline constexpr uint32_t no_fragment = 0xffffffff;
inline constexpr uint64_t invalid_table = ~uint64_t(0);

// Inode types: basic 1..7, extended 8..14 (extended = basic + 7).
enum InodeType : uint16_t {
    basic_directory = 1, basic_file, basic_symlink, basic_block, basic_char, basic_fifo, basic_socket,
    extended_directory, extended_file, extended_symlink, extended_block, extended_char,
    extended_fifo, extended_socket,
};
inline constexpr uint16_t extended_offset = 7;
inline constexpr size_t inode_header_size = 16;  // type, mode, uid, gid, mtime, number

// Directory listings: a header (count - 1, inode block, base inode number) then count
// entries (offset, inode number delta, type, name size - 1, name).
inline constexpr size_t directory_header_size = 12;
inline constexpr size_t directory_entry_size = 8;
inline constexpr uint32_t directory_max_count = 256;
inline constexpr uint32_t name_max = 256;
inline constexpr uint32_t directory_size_extra = 3;  // a directory's size counts "." and ".."
inline constexpr size_t directory_index_size = 12;    // index, start block, name size - 1
inline constexpr size_t fragment_entry_size = 16;     // start, size word, unused
inline constexpr uint32_t symlink_max = 4096;         // Linux's limit (PATH_MAX, one page)

// Linux st_mode type bits.
inline constexpr uint32_t mode_permissions = 07777;
inline constexpr uint32_t s_ifsock = 0140000, s_iflnk = 0120000, s_ifreg = 0100000,
                          s_ifblk = 0060000, s_ifdir = 0040000, s_ifchr = 0020000,
                          s_ififo = 0010000;

inline uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t le32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

// The basic type (1..7) as the reader's Type; false for anything else.
inline bool basic_type(uint16_t type, Type* out) {
    static constexpr Type types[] = {Type::directory, Type::regular, Type::symlink, Type::block_device,
                                     Type::char_device, Type::fifo, Type::socket};
    if (type < basic_directory || type > basic_socket) return false;
    *out = types[type - basic_directory];
    return true;
}

inline uint32_t type_mode(Type type) {
    switch (type) {
    case Type::directory: return s_ifdir;
    case Type::regular: return s_ifreg;
    case Type::symlink: return s_iflnk;
    case Type::block_device: return s_ifblk;
    case Type::char_device: return s_ifchr;
    case Type::fifo: return s_ififo;
    case Type::socket: return s_ifsock;
    }
    return 0;
}

// squashfs stores device numbers in Linux's 32-bit encoding (new_encode_dev: minor bits 0-7
// and 20-31, major bits 8-19); st_rdev is glibc's 64-bit makedev of the same major and minor.
inline uint64_t decode_rdev(uint32_t stored) {
    uint64_t major = (stored & 0xfff00) >> 8;
    uint64_t minor = (stored & 0xff) | ((stored >> 12) & 0xfff00);
    return ((major & 0xfffff000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffffff00) << 12) | (minor & 0xff);
}

}  // namespace mica::fs::squashfs::format
