// Metadata blocks: a 16-bit header then at most 8 KiB, compressed or not, chained one after
// the other inside a table; a small LRU cache of decompressed blocks. Also the index arrays
// that locate the fragment table's blocks.
#include <string.h>

#include "image_private.h"
#include "inflater.h"

namespace mica::fs::squashfs {

using namespace format;

int Image::decompress(uint64_t position, uint32_t stored, bool compressed, uint8_t* out, uint32_t capacity,
                      uint32_t* out_size) {
    if (!compressed) {
        if (stored > capacity) {
            return fail(-errno_io, "corrupt: an uncompressed block at %llu is %u bytes, more than %u",
                        (unsigned long long)position, stored, capacity);
        }
        int r = source_.read(position, out, stored);
        if (r < 0) return fail(r, "cannot read %u bytes at %llu (error %d)", stored, (unsigned long long)position, r);
        *out_size = stored;
        return 0;
    }
    const char* why = "";
    int r = inflater_->inflate(source_, position, stored, out, capacity, out_size, &why);
    if (r < 0) return fail(r, "corrupt block at %llu: %s", (unsigned long long)position, why);
    return 0;
}

int Image::next_block(const Table& table, uint64_t block, uint64_t* next) {
    for (unsigned i = 0; i < metadata_slots_; ++i) {
        if (metadata_[i].stamp && metadata_[i].block == block && metadata_[i].next <= table.end) {
            *next = metadata_[i].next;
            return 0;
        }
    }
    if (block < table.start || block >= table.end || table.end - block < 2) {
        return fail(-errno_io, "corrupt: metadata block at %llu is outside its table [%llu, %llu)",
                    (unsigned long long)block, (unsigned long long)table.start, (unsigned long long)table.end);
    }
    uint8_t header[2];
    int r = source_.read(block, header, sizeof(header));
    if (r < 0) return fail(r, "cannot read a metadata block header at %llu (error %d)", (unsigned long long)block, r);
    uint32_t stored = le16(header) & metadata_length_mask;
    if (stored == 0 || stored > metadata_size || table.end - block - 2 < stored) {
        return fail(-errno_io, "corrupt metadata block at %llu: %u bytes stored", (unsigned long long)block, stored);
    }
    *next = block + 2 + stored;
    return 0;
}

int Image::metadata_block(const Table& table, uint64_t block, const MetadataSlot** out) {
    MetadataSlot* victim = &metadata_[0];
    for (unsigned i = 0; i < metadata_slots_; ++i) {
        MetadataSlot& slot = metadata_[i];
        if (slot.stamp && slot.block == block) {
            // Cached for another table that reaches further: check this table's bounds.
            if (block < table.start || slot.next > table.end) break;
            slot.stamp = ++clock_;
            *out = &slot;
            return 0;
        }
        if (slot.stamp < victim->stamp) victim = &slot;
    }
    uint64_t next;
    int r = next_block(table, block, &next);
    if (r < 0) return r;
    uint8_t header[2];
    r = source_.read(block, header, sizeof(header));
    if (r < 0) return fail(r, "cannot read a metadata block header at %llu (error %d)", (unsigned long long)block, r);
    bool compressed = !(le16(header) & metadata_uncompressed);
    victim->stamp = 0;
    uint32_t size = 0;
    r = decompress(block + 2, uint32_t(next - block - 2), compressed, victim->data, metadata_size, &size);
    if (r < 0) return r;
    if (size == 0) return fail(-errno_io, "corrupt metadata block at %llu: empty", (unsigned long long)block);
    victim->block = block;
    victim->next = next;
    victim->size = size;
    victim->stamp = ++clock_;
    *out = victim;
    return 0;
}

int Image::read_metadata(const Table& table, Position* at, void* buffer, size_t length) {
    auto* out = static_cast<uint8_t*>(buffer);
    // Each pass copies at least one byte or moves to the next block (which holds at least one).
    while (length > 0) {
        const MetadataSlot* slot;
        int r = metadata_block(table, at->block, &slot);
        if (r < 0) return r;
        if (at->offset > slot->size) {
            return fail(-errno_io, "corrupt: offset %u is past the %u bytes of the metadata block at %llu",
                        at->offset, slot->size, (unsigned long long)at->block);
        }
        if (at->offset == slot->size) {
            if (slot->size != metadata_size) {
                return fail(-errno_io, "corrupt: a read runs past the metadata block at %llu (%u bytes)",
                            (unsigned long long)at->block, slot->size);
            }
            at->block = slot->next;
            at->offset = 0;
            continue;
        }
        size_t n = slot->size - at->offset;
        if (n > length) n = length;
        memcpy(out, slot->data + at->offset, n);
        out += n;
        length -= n;
        at->offset += uint32_t(n);
    }
    return 0;
}

// Moves `length` bytes on. Every block of a table but its last holds exactly 8 KiB, so this
// only reads the headers of the blocks it passes.
int Image::skip_metadata(const Table& table, Position* at, uint64_t length) {
    if (at->offset > metadata_size) return fail(-errno_io, "corrupt: metadata offset %u", at->offset);
    uint64_t target = at->offset + length;
    uint64_t blocks = target / metadata_size;
    // Bounded by the table: each block passed is at least 3 bytes of it.
    for (uint64_t i = 0; i < blocks; ++i) {
        int r = next_block(table, at->block, &at->block);
        if (r < 0) return r;
    }
    at->offset = uint32_t(target % metadata_size);
    return 0;
}

int Image::read_table_index(uint64_t index_start, uint64_t first_block, uint32_t entry_size, uint32_t entry,
                            Position* out) {
    uint64_t byte = uint64_t(entry) * entry_size;
    uint8_t raw[8];
    int r = source_.read(index_start + byte / metadata_size * 8, raw, sizeof(raw));
    if (r < 0) return fail(r, "cannot read a table index at %llu (error %d)", (unsigned long long)index_start, r);
    uint64_t block = le64(raw);
    if (block < first_block || block >= index_start) {
        return fail(-errno_io, "corrupt table index: block %llu outside [%llu, %llu)", (unsigned long long)block,
                    (unsigned long long)first_block, (unsigned long long)index_start);
    }
    *out = {block, uint32_t(byte % metadata_size)};
    return 0;
}

}  // namespace mica::fs::squashfs
