// File data and symlink targets. A regular file is `blocks` full data blocks stored one after
// the other from data_start (the inode's block list gives each one's stored size; 0 is a
// sparse block of zeros) and, unless it has no fragment, a tail shorter than a block inside a
// fragment block shared with other files' tails. Decompressed blocks go through a small LRU
// cache, except a whole block the caller wants, which is inflated straight into its buffer.
#include <string.h>

#include "image_private.h"

namespace mica::fs::squashfs {

using namespace format;

namespace {

// Block list entries read at a time while summing a file's block sizes.
constexpr uint32_t block_list_batch = 256;

}  // namespace

int64_t Image::readlink(const Inode& link, char* buffer, size_t size) {
    if (link.type != Type::symlink) return -errno_inval;
    size_t n = link.size < size ? size_t(link.size) : size;
    Position at = {link.tail_block, link.tail_offset};
    int r = read_metadata(inode_table_, &at, buffer, n);
    if (r < 0) return r;
    return int64_t(n);
}

int Image::fragment_location(uint32_t fragment, uint64_t* position, uint32_t* size_word) {
    if (fragment >= fragment_count_) return fail(-errno_io, "corrupt: fragment %u of %u", fragment, fragment_count_);
    Position at;
    int r = read_table_index(fragment_index_, fragment_table_.start, fragment_entry_size, fragment, &at);
    if (r < 0) return r;
    uint8_t raw[fragment_entry_size];
    if ((r = read_metadata(fragment_table_, &at, raw, sizeof(raw))) < 0) return r;
    *position = le64(raw);
    *size_word = le32(raw + 8);
    uint32_t stored = *size_word & block_length_mask;
    if ((*size_word & ~(block_uncompressed | block_length_mask)) || stored == 0 || stored > block_size_ ||
        *position < superblock_size || *position > data_end_ || data_end_ - *position < stored) {
        return fail(-errno_io, "corrupt fragment %u: %#x bytes at %llu", fragment, *size_word,
                    (unsigned long long)*position);
    }
    return 0;
}

// The position and size word of data block `block` of `file`, from the nearest cursor at or
// before it (or the start of the block list).
int Image::block_location(const Inode& file, uint64_t block, uint64_t* position, uint32_t* size_word) {
    BlockCursor* best = nullptr;
    BlockCursor* victim = &cursors_[0];
    for (unsigned i = 0; i < cursor_slots_; ++i) {
        BlockCursor& c = cursors_[i];
        if (c.stamp && c.reference == file.reference && c.data_start == file.data_start && c.block <= block &&
            (!best || c.block > best->block)) {
            best = &c;
        }
        if (c.stamp < victim->stamp) victim = &c;
    }
    BlockCursor cursor = {file.reference, file.data_start, 0, {file.tail_block, file.tail_offset}, file.data_start, 0};
    if (best) {
        cursor = *best;
        victim = best;
    }
    uint8_t raw[block_list_batch * 4];
    // Bounded by `block` (at most the file's block count) and by the inode table's end.
    while (cursor.block < block) {
        uint64_t n = block - cursor.block < block_list_batch ? block - cursor.block : block_list_batch;
        int r = read_metadata(inode_table_, &cursor.entry, raw, n * 4);
        if (r < 0) return r;
        for (uint64_t i = 0; i < n; ++i) {
            uint32_t word = le32(raw + i * 4);
            uint32_t stored = word & block_length_mask;
            if ((word & ~(block_uncompressed | block_length_mask)) || stored > block_size_) {
                return fail(-errno_io, "corrupt block list of inode %u: block %llu is %#x", file.number,
                            (unsigned long long)(cursor.block + i), word);
            }
            cursor.data += stored;
        }
        cursor.block += n;
        if (cursor.data > data_end_) {
            return fail(-errno_io, "corrupt block list of inode %u: data runs past the inode table", file.number);
        }
    }
    Position entry = cursor.entry;
    uint8_t word_raw[4];
    int r = read_metadata(inode_table_, &entry, word_raw, sizeof(word_raw));
    if (r < 0) return r;
    uint32_t word = le32(word_raw);
    uint32_t stored = word & block_length_mask;
    if ((word & ~(block_uncompressed | block_length_mask)) || stored > block_size_ ||
        (stored && (cursor.data < superblock_size || cursor.data > data_end_ || data_end_ - cursor.data < stored))) {
        return fail(-errno_io, "corrupt block list of inode %u: block %llu is %#x at %llu", file.number,
                    (unsigned long long)block, word, (unsigned long long)cursor.data);
    }
    cursor.stamp = ++clock_;
    *victim = cursor;
    *position = cursor.data;
    *size_word = word;
    return 0;
}

// The decompressed block (position, size_word), through the cache. `expected` is the size it
// must have (0 for a fragment block: any size up to a block).
int Image::read_block(uint64_t position, uint32_t size_word, uint32_t expected, const uint8_t** out,
                      uint32_t* out_size) {
    DataSlot* victim = &data_[0];
    for (unsigned i = 0; i < data_slots_; ++i) {
        DataSlot& slot = data_[i];
        if (slot.stamp && slot.position == position && slot.size_word == size_word) {
            slot.stamp = ++clock_;
            victim = &slot;
            break;
        }
        if (slot.stamp < victim->stamp) victim = &slot;
    }
    if (!(victim->stamp && victim->position == position && victim->size_word == size_word)) {
        victim->stamp = 0;
        uint32_t size = 0;
        int r = decompress(position, size_word & block_length_mask, !(size_word & block_uncompressed), victim->data,
                           block_size_, &size);
        if (r < 0) return r;
        victim->position = position;
        victim->size_word = size_word;
        victim->size = size;
        victim->stamp = ++clock_;
    }
    if (expected && victim->size != expected) {
        return fail(-errno_io, "corrupt data block at %llu: %u bytes, expected %u", (unsigned long long)position,
                    victim->size, expected);
    }
    *out = victim->data;
    *out_size = victim->size;
    return 0;
}

int64_t Image::read(const Inode& file, uint64_t offset, void* buffer, size_t length) {
    if (file.type == Type::directory) return -errno_isdir;
    if (file.type != Type::regular) return -errno_inval;
    if (offset >= file.size) return 0;
    if (length > file.size - offset) length = size_t(file.size - offset);
    bool has_fragment = file.fragment != no_fragment;
    uint64_t blocks = has_fragment ? file.size >> block_log_ : (file.size + block_size_ - 1) >> block_log_;
    auto* out = static_cast<uint8_t*>(buffer);
    size_t done = 0;
    // Each pass copies at least one byte (a block or the tail holds the bytes up to the size).
    while (done < length) {
        uint64_t at = offset + done;
        uint64_t block = at >> block_log_;
        uint32_t within = uint32_t(at & (block_size_ - 1));
        size_t want = length - done;
        if (block < blocks) {
            uint64_t block_start = block << block_log_;
            uint32_t expected = uint32_t(file.size - block_start < block_size_ ? file.size - block_start : block_size_);
            uint64_t position;
            uint32_t word;
            int r = block_location(file, block, &position, &word);
            if (r < 0) return r;
            size_t n = expected - within < want ? expected - within : want;
            if ((word & block_length_mask) == 0) {
                memset(out + done, 0, n);
            } else {
                bool cached = false;
                for (unsigned i = 0; i < data_slots_; ++i) {
                    cached |= data_[i].stamp && data_[i].position == position && data_[i].size_word == word;
                }
                if (within == 0 && n == expected && !cached) {  // the whole block: straight to the caller
                    uint32_t size = 0;
                    r = decompress(position, word & block_length_mask, !(word & block_uncompressed), out + done,
                                   expected, &size);
                    if (r < 0) return r;
                    if (size != expected) {
                        return fail(-errno_io, "corrupt data block at %llu: %u bytes, expected %u",
                                    (unsigned long long)position, size, expected);
                    }
                } else {
                    const uint8_t* data;
                    uint32_t size;
                    if ((r = read_block(position, word, expected, &data, &size)) < 0) return r;
                    memcpy(out + done, data + within, n);
                }
            }
            done += n;
        } else {  // the tail, in a fragment
            uint64_t tail = file.size - (blocks << block_log_);
            uint64_t position;
            uint32_t word;
            int r = fragment_location(file.fragment, &position, &word);
            if (r < 0) return r;
            const uint8_t* data;
            uint32_t size;
            if ((r = read_block(position, word, 0, &data, &size)) < 0) return r;
            if (file.fragment_offset > size || size - file.fragment_offset < tail) {
                return fail(-errno_io, "corrupt file inode %u: its tail (%llu bytes at %u) is outside fragment %u (%u bytes)",
                            file.number, (unsigned long long)tail, file.fragment_offset, file.fragment, size);
            }
            size_t n = tail - within < want ? size_t(tail - within) : want;
            memcpy(out + done, data + file.fragment_offset + within, n);
            done += n;
        }
    }
    return int64_t(done);
}

}  // namespace mica::fs::squashfs
