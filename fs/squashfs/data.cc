// File data and symlink targets. A regular file is `blocks` full data blocks stored one after
// the other from data_start (the inode's block list gives each one's stored size; 0 is a
// sparse block of zeros) and, unless it has no fragment, a tail shorter than a block inside a
// fragment block shared with other files' tails. Reads go block by block ("pieces": a data
// block, or the tail in its fragment block) to a sink that says where each run of the block's
// bytes goes. With a data cache, decompressed blocks go through a small LRU cache, except a
// whole block the caller wants in one place, which is inflated straight into it. Without one,
// each block is streamed: the bytes before the wanted ones go to a scratch buffer, the wanted
// ones to the caller, and inflation stops after the last wanted byte.
#include <string.h>

#include "image_private.h"
#include "inflater.h"

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

// Where the bytes of one block go while it is read: [begin, end) holds every wanted byte,
// and run() splits it into runs that each go to one place.
class Image::BlockSink {
public:
    uint32_t begin = 0, end = 0;
    // The run of the block's bytes starting at `at` (begin <= at < end): its length (1 to end -
    // at) and in *out where it goes (nullptr: nowhere, not wanted).
    virtual uint32_t run(uint32_t at, uint8_t** out) = 0;

protected:
    ~BlockSink() = default;
};

// A file's bytes into pages: page i takes [first + i * page_size, + page_size). aim() points
// the sink at one piece of the file (a data block, or the tail inside its fragment block).
class Image::PageSink final : public Image::BlockSink {
public:
    PageSink(uint64_t first, uint64_t page_size, void* const* pages, uint64_t count)
        : first_(first), page_size_(page_size), pages_(pages), count_(count) {
        uint64_t span;  // (saturated: the file's size bounds what is read anyway)
        if (__builtin_mul_overflow(page_size, count, &span) || __builtin_add_overflow(first, span, &end_)) {
            end_ = ~uint64_t(0);
        }
    }
    // File bytes [start, start + length) are at `base` in the decompressed block. Sets begin
    // and end around the wanted (non-nullptr) pages' bytes in it; false when there are none.
    bool aim(uint64_t start, uint32_t base, uint32_t length) {
        start_ = start;
        base_ = base;
        uint64_t lo = start > first_ ? start : first_, hi = start + length;
        if (hi > end_) hi = end_;
        if (lo >= hi) return false;
        uint64_t first_page = (lo - first_) / page_size_, last_page = (hi - 1 - first_) / page_size_;
        while (first_page <= last_page && !pages_[first_page]) ++first_page;
        while (last_page > first_page && !pages_[last_page]) --last_page;
        if (first_page > last_page) return false;
        uint64_t want_lo = first_ + first_page * page_size_, want_hi = first_ + (last_page + 1) * page_size_;
        if (want_lo < lo) want_lo = lo;
        if (want_hi > hi) want_hi = hi;
        begin = base + uint32_t(want_lo - start);
        end = base + uint32_t(want_hi - start);
        return true;
    }
    uint32_t run(uint32_t at, uint8_t** out) override {
        uint64_t from_first = start_ + (at - base_) - first_;
        uint64_t page = from_first / page_size_, within = from_first % page_size_;
        uint64_t n = page_size_ - within;
        if (n > end - at) n = end - at;
        *out = pages_[page] ? static_cast<uint8_t*>(pages_[page]) + within : nullptr;
        return uint32_t(n);
    }
    // The file bytes asked for: [wanted_first(), wanted_end()) (not clamped to the file's size).
    uint64_t wanted_first() const { return first_; }
    uint64_t wanted_end() const { return end_; }

private:
    uint64_t first_, page_size_;
    void* const* pages_;
    uint64_t count_;
    uint64_t end_ = 0;
    uint64_t start_ = 0;
    uint32_t base_ = 0;
};

bool Image::block_cached(uint64_t position, uint32_t size_word) const {
    for (unsigned i = 0; i < data_slots_; ++i) {
        if (data_[i].stamp && data_[i].position == position && data_[i].size_word == size_word) return true;
    }
    return false;
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

// Streams block (position, size_word) to `sink` without a cache: only [0, sink.end) is
// inflated, the part before sink.begin into the scratch buffer. When the sink wants the
// block's last byte (end == expected) the block must end there. expected = 0: a fragment
// block, of any size up to a block that holds [0, sink.end).
int Image::stream_block(uint64_t position, uint32_t size_word, uint32_t expected, BlockSink& sink) {
    uint32_t stored = size_word & block_length_mask;
    const char* kind = expected ? "data block" : "fragment block";
    if (size_word & block_uncompressed) {  // the bytes as they are: read only the wanted runs
        if (expected ? stored != expected : stored < sink.end) {
            return fail(-errno_io, "corrupt %s at %llu: %u bytes stored uncompressed, expected %u", kind,
                        (unsigned long long)position, stored, expected ? expected : sink.end);
        }
        for (uint32_t at = sink.begin, n; at < sink.end; at += n) {
            uint8_t* out;
            n = sink.run(at, &out);
            if (!out) continue;
            if (int r = source_.read(position + at, out, n); r < 0) {
                return fail(r, "cannot read %u bytes at %llu (error %d)", n, (unsigned long long)(position + at), r);
            }
        }
        return 0;
    }
    const char* why = "";
    // A read that wants bytes after where the last one stopped in this block (the next page,
    // the next file's tail in a fragment block) goes on from there instead of inflating the
    // block again from its start: reading a block page by page costs one pass, not one per page.
    uint64_t done = 0;
    uint32_t at = 0;
    int r = 0;
    if (inflater_->resumable(position, stored, &done) && done <= sink.begin) at = uint32_t(done);
    else r = inflater_->begin(source_, position, stored, &why);
    // The next n bytes of the block into out (nullptr: the scratch, a piece at a time).
    auto produce = [&](uint8_t* out, uint32_t n) {
        while (r == 0 && n > 0) {
            uint32_t chunk = out ? n : (n < stream_scratch_size ? n : stream_scratch_size);
            uint32_t got = 0;
            bool ended = false;
            r = inflater_->next(out ? out : scratch_, chunk, &got, &ended, &why);
            if (r < 0) return;
            at += got;
            if (got < chunk) {
                r = fail(-errno_io, "corrupt %s at %llu: it ends after %u bytes, expected %u", kind,
                         (unsigned long long)position, at, expected ? expected : sink.end);
                return;
            }
            n -= chunk;
            if (out) out += chunk;
        }
    };
    produce(nullptr, sink.begin - at);
    while (r == 0 && at < sink.end) {
        uint8_t* out;
        uint32_t n = sink.run(at, &out);
        produce(out, n);
    }
    if (r == 0 && expected && sink.end == expected) {  // inflated to its end: it must end there
        uint32_t more = 0;
        bool ended = false;
        r = inflater_->next(scratch_, 1, &more, &ended, &why);
        if (r == 0 && more) {
            return fail(-errno_io, "corrupt data block at %llu: more than the %u bytes expected",
                        (unsigned long long)position, expected);
        }
    }
    if (r < 0 && why[0]) return fail(r, "corrupt block at %llu: %s", (unsigned long long)position, why);
    return r;
}

// One block's wanted bytes to the sink: zeros for a sparse block, else from the cache or
// inflated straight into the caller's memory when it wants the whole block in one place, or
// streamed when there is no cache.
int Image::deliver(uint64_t position, uint32_t size_word, uint32_t expected, BlockSink& sink) {
    uint8_t* out;
    if ((size_word & block_length_mask) == 0) {
        for (uint32_t at = sink.begin, n; at < sink.end; at += n) {
            n = sink.run(at, &out);
            if (out) memset(out, 0, n);
        }
        return 0;
    }
    if (!data_slots_) return stream_block(position, size_word, expected, sink);
    if (expected && sink.begin == 0 && sink.end == expected && sink.run(0, &out) == expected && out &&
        !block_cached(position, size_word)) {
        uint32_t size = 0;
        int r = decompress(position, size_word & block_length_mask, !(size_word & block_uncompressed), out,
                           expected, &size);
        if (r < 0) return r;
        if (size != expected) {
            return fail(-errno_io, "corrupt data block at %llu: %u bytes, expected %u", (unsigned long long)position,
                        size, expected);
        }
        return 0;
    }
    const uint8_t* data;
    uint32_t size;
    if (int r = read_block(position, size_word, expected, &data, &size); r < 0) return r;
    if (sink.end > size) {
        return fail(-errno_io, "corrupt fragment block at %llu: %u bytes, the wanted ones end at %u",
                    (unsigned long long)position, size, sink.end);
    }
    for (uint32_t at = sink.begin, n; at < sink.end; at += n) {
        n = sink.run(at, &out);
        if (out) memcpy(out, data + at, n);
    }
    return 0;
}

// The sink's file bytes up to the file's end, piece by piece (a piece with no wanted page is
// not read at all).
int Image::read_range(const Inode& file, PageSink& sink) {
    bool has_fragment = file.fragment != no_fragment;
    uint64_t blocks = has_fragment ? file.size >> block_log_ : (file.size + block_size_ - 1) >> block_log_;
    uint64_t end = sink.wanted_end() < file.size ? sink.wanted_end() : file.size;
    uint64_t at = sink.wanted_first();
    // Each pass moves to the next piece (at least one byte on).
    while (at < end) {
        uint64_t block = at >> block_log_;
        uint64_t start = block << block_log_;
        if (block < blocks) {
            uint32_t expected = uint32_t(file.size - start < block_size_ ? file.size - start : block_size_);
            at = start + expected;
            if (!sink.aim(start, 0, expected)) continue;
            uint64_t position;
            uint32_t word;
            if (int r = block_location(file, block, &position, &word); r < 0) return r;
            if (int r = deliver(position, word, expected, sink); r < 0) return r;
        } else {  // the tail, in a fragment (shorter than a block: the size says so)
            start = blocks << block_log_;
            uint32_t tail = uint32_t(file.size - start);
            at = file.size;
            if (file.fragment_offset > block_size_ || block_size_ - file.fragment_offset < tail) {
                return fail(-errno_io, "corrupt file inode %u: its tail (%u bytes at %u) is outside a %u-byte block",
                            file.number, tail, file.fragment_offset, block_size_);
            }
            if (!sink.aim(start, file.fragment_offset, tail)) continue;
            uint64_t position;
            uint32_t word;
            if (int r = fragment_location(file.fragment, &position, &word); r < 0) return r;
            if (int r = deliver(position, word, 0, sink); r < 0) {
                return r == -errno_io ? wrap(r, "the tail of a file") : r;
            }
        }
    }
    return 0;
}

int64_t Image::read(const Inode& file, uint64_t offset, void* buffer, size_t length) {
    if (file.type == Type::directory) return -errno_isdir;
    if (file.type != Type::regular) return -errno_inval;
    if (offset >= file.size || length == 0) return 0;
    if (length > file.size - offset) length = size_t(file.size - offset);
    PageSink sink(offset, length, &buffer, 1);  // one "page": the buffer
    if (int r = read_range(file, sink); r < 0) return r;
    return int64_t(length);
}

int Image::read_pages(const Inode& file, uint64_t first_offset, uint32_t page_size, void* const* pages,
                      unsigned count) {
    if (file.type == Type::directory) return -errno_isdir;
    if (file.type != Type::regular) return -errno_inval;
    if (page_size == 0 || count == 0) return 0;
    for (unsigned i = 0; i < count; ++i) {  // zeros past the end of the file
        if (!pages[i]) continue;
        uint64_t start = first_offset + uint64_t(i) * page_size;
        uint64_t keep = start >= file.size ? 0 : file.size - start < page_size ? file.size - start : page_size;
        memset(static_cast<uint8_t*>(pages[i]) + keep, 0, page_size - keep);
    }
    PageSink sink(first_offset, page_size, pages, count);
    return read_range(file, sink);
}

}  // namespace mica::fs::squashfs
