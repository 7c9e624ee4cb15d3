// A read-only squashfs 4.0 reader (zlib-compressed images, as mksquashfs writes them by
// default): the superblock, the id, inode, directory and fragment tables, data blocks.
// Host-testable: no VFS and no kernel calls; the bytes come from a Source (a block device's
// buffer cache in the kernel, a file in the host tests). The VFS filesystem on top of it is
// separate (the lead's).
//
// Every length and offset read from the image is checked against the image, the table it
// belongs to and the block size before it is used, every loop is bounded by a size the
// reader has checked, and no allocation is sized by a field of the image except the id table
// (at most 65535 ids, 256 KiB). A corrupt image gives -EIO with a message in last_error() (or
// -EINVAL with the message in `error` from open), never a crash or a hang. Directory cycles
// cannot loop: the reader only ever looks one directory level at a time.
//
// Memory per open image: Options::metadata_cache_blocks * 8 KiB + Options::data_cache_blocks *
// block_size + ~8 KiB of compressed-input buffer + zlib's inflate state (~7 KiB plus a 32 KiB
// window) + the id table: with the defaults and 128 KiB blocks about 370 KiB. Without a data
// cache (data_cache_blocks = 0) nothing block-sized is allocated: data and fragment blocks are
// inflated streaming, the bytes before the wanted ones into a 2 KiB scratch buffer, the wanted
// ones straight into the caller's memory, and inflation stops after the last wanted byte.
// Not thread-safe: the caller serialises calls on one Image.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::fs::squashfs {

// Where the image's bytes come from.
class Source {
public:
    virtual ~Source() = default;
    virtual int read(uint64_t offset, void* buffer, size_t length) = 0;  // 0 or -errno (-EIO past the end)
    virtual uint64_t size() const = 0;
};

enum class Type : uint8_t { directory, regular, symlink, block_device, char_device, fifo, socket };

struct Inode {
    uint32_t number = 0;  // squashfs inode number (st_ino)
    Type type = Type::regular;
    uint32_t mode = 0;    // Linux st_mode: type bits | permission bits
    uint32_t uid = 0, gid = 0, nlink = 0;
    int64_t mtime = 0;
    uint64_t size = 0;    // file size, symlink target length, directory size as Linux reports it
    uint64_t rdev = 0;    // Linux dev_t (glibc makedev(major, minor)) for device nodes

    // Reader-private: where the rest of the inode is.
    uint64_t reference = 0;      // inode reference: metadata block (relative to the inode table) << 16 | offset
    uint64_t tail_block = 0;     // the inode table block (absolute) where the block list / symlink
    uint32_t tail_offset = 0;    //   target / directory index starts, and the offset in it
    uint64_t data_start = 0;     // regular: the first data block (absolute)
    uint32_t fragment = 0;       // regular: fragment index, or no_fragment
    uint32_t fragment_offset = 0;
    uint32_t directory_block = 0;   // directory: listing start, relative to the directory table,
    uint32_t directory_offset = 0;  //   and the offset in its decompressed block
    uint32_t listing_size = 0;      // directory: bytes of listing (the inode's size minus 3)
    uint32_t index_count = 0;       // directory: entries of the directory index (extended inodes)
};

struct Entry {  // one directory entry
    uint32_t inode_number = 0;
    Type type = Type::regular;
    uint64_t next_cookie = 0;  // pass to readdir to continue after this entry
    size_t name_length = 0;
    char name[257] = {};       // NUL-terminated (squashfs names are 1..256 bytes)

    uint64_t reference = 0;    // reader-private: the entry's inode reference
};

struct Options {
    unsigned metadata_cache_blocks = 8;  // decompressed 8 KiB metadata blocks kept (LRU)
    // Decompressed data blocks / fragment blocks kept (LRU). 0: none (streaming, see above):
    // a read inflates its block from the start up to the bytes it wants, unless the previous
    // read stopped in the same block before them (then it goes on from there: reading a block
    // page by page, or the tails in a fragment block in order, is one pass); read_pages fills
    // several pages in one pass.
    unsigned data_cache_blocks = 2;
};

class Inflater;
struct Superblock;

class Image {
public:
    // Checks the superblock (magic, version 4.0, block size and its log agree, zlib
    // compression, tables inside the image and in order) and loads the id table. 0, or
    // -EINVAL with a message in `error` naming the problem ("not a squashfs image (magic
    // ...)", "compression xz: only zlib (gzip) is supported", "truncated: ..."), -ENOMEM, or
    // the source's -errno.
    static int open(Source& source, const Options& options, Image** out, char* error, size_t error_size);
    ~Image();
    Image(const Image&) = delete;
    Image& operator=(const Image&) = delete;

    int root(Inode* out);
    int inode(const Entry& entry, Inode* out);  // the entry's inode
    // -ENOENT, -ENOTDIR, -ENAMETOOLONG, -EIO for a corrupt image (message in last_error()).
    // Uses the directory index of big directories. "." and ".." are the VFS's business: -ENOENT.
    int lookup(const Inode& dir, const char* name, size_t length, Inode* out);
    // Entries of `dir` from `cookie` (0 starts; no "." or ".."): 1 with *out filled, 0 at the
    // end, -errno (-EINVAL for a cookie readdir never gave out that points outside the listing).
    int readdir(const Inode& dir, uint64_t cookie, Entry* out);
    int64_t readlink(const Inode& link, char* buffer, size_t size);  // bytes (not NUL-terminated)
    // File data: bytes read (short only at the end of the file), sparse blocks read as zeros.
    int64_t read(const Inode& file, uint64_t offset, void* buffer, size_t length);
    // Fills `count` pages of `page_size` bytes in one pass over the blocks they cover (each
    // block inflated once for all of them): pages[i] receives the file's bytes [first_offset +
    // i * page_size, + page_size), zeros past its end; a nullptr page is not wanted (skipped).
    // 0, or -errno as read (-EINVAL for a file that is not regular, -EISDIR for a directory).
    int read_pages(const Inode& file, uint64_t first_offset, uint32_t page_size, void* const* pages, unsigned count);

    const char* last_error() const { return error_; }
    uint32_t block_size() const { return block_size_; }
    uint64_t bytes_used() const { return bytes_used_; }
    uint32_t inode_count() const { return inode_count_; }
    bool caches_data() const { return data_slots_ != 0; }  // false: Options::data_cache_blocks = 0
    // Bytes the reader allocated for this image (caches, buffers, zlib state, id table).
    size_t memory_used() const;

    // A place in a metadata table: the block's absolute position and the offset in it.
    struct Position {
        uint64_t block;
        uint32_t offset;
    };
    // A metadata table's extent: blocks start at or after `start` and end at or before `end`.
    struct Table {
        uint64_t start, end;
    };

private:
    struct MetadataSlot;
    struct DataSlot;
    struct BlockCursor;
    class BlockSink;
    class PageSink;

    Image(Source& source) : source_(source) {}
    int load(const Options& options, char* error, size_t error_size);
    int fail(int result, const char* format, ...) __attribute__((format(printf, 3, 4)));
    int wrap(int result, const char* what);  // "what: <the last error>"

    // Metadata (metadata.cc).
    int metadata_block(const Table& table, uint64_t block, const MetadataSlot** out);
    int read_metadata(const Table& table, Position* at, void* buffer, size_t length);
    int skip_metadata(const Table& table, Position* at, uint64_t length);
    int next_block(const Table& table, uint64_t block, uint64_t* next);
    int lookup_id(uint32_t index, uint32_t* out);
    int read_table_index(uint64_t index_start, uint64_t first_block, uint32_t entry_size,
                         uint32_t entry, Position* out);

    // Inodes (inode.cc).
    int read_inode(uint64_t reference, Inode* out);

    // Directories (directory.cc).
    struct Header;
    int seek_listing(const Inode& dir, uint32_t listing_offset, Position* out);
    int read_header(const Inode& dir, uint32_t listing_offset, Position* at, Header* out);
    int read_entry(const Inode& dir, const Header& header, uint32_t listing_offset, Position* at, Entry* out);
    int index_start(const Inode& dir, const char* name, size_t length, uint32_t* listing_offset, Position* at);

    // Data (data.cc).
    int read_block(uint64_t position, uint32_t size_word, uint32_t expected, const uint8_t** out, uint32_t* out_size);
    int block_location(const Inode& file, uint64_t block, uint64_t* position, uint32_t* size_word);
    int fragment_location(uint32_t fragment, uint64_t* position, uint32_t* size_word);
    int decompress(uint64_t position, uint32_t stored, bool compressed, uint8_t* out,
                   uint32_t capacity, uint32_t* out_size);
    bool block_cached(uint64_t position, uint32_t size_word) const;
    int deliver(uint64_t position, uint32_t size_word, uint32_t expected, BlockSink& sink);
    int stream_block(uint64_t position, uint32_t size_word, uint32_t expected, BlockSink& sink);
    int read_range(const Inode& file, PageSink& sink);

    Source& source_;
    Inflater* inflater_ = nullptr;
    char error_[160] = {};

    uint32_t block_size_ = 0;
    uint32_t block_log_ = 0;
    uint32_t inode_count_ = 0;
    uint32_t fragment_count_ = 0;
    uint64_t bytes_used_ = 0;
    uint64_t root_reference_ = 0;
    uint64_t data_end_ = 0;  // data blocks and fragments lie in [superblock end, inode table)
    Table inode_table_ = {};
    Table directory_table_ = {};
    Table fragment_table_ = {};  // the fragment entries' metadata blocks
    uint64_t fragment_index_ = 0;  // the fragment table's index (an array of block positions)

    uint32_t* ids_ = nullptr;
    uint32_t id_count_ = 0;

    MetadataSlot* metadata_ = nullptr;
    unsigned metadata_slots_ = 0;
    DataSlot* data_ = nullptr;
    unsigned data_slots_ = 0;
    uint8_t* scratch_ = nullptr;  // no data cache: where streamed bytes nobody wants go
    uint64_t clock_ = 0;  // LRU stamps
    BlockCursor* cursors_ = nullptr;  // where recent reads left off in their files' block lists
    unsigned cursor_slots_ = 0;
    size_t memory_ = 0;
    // Where the last directory seek landed: sequential readdir calls walk on from there
    // instead of from the directory's first block.
    struct {
        uint64_t first_block = 0, block_number = 0, block = 0;
        bool valid = false;
    } seek_memo_;
};

}  // namespace mica::fs::squashfs
