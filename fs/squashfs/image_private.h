// The reader's private pieces shared by its source files: the cache slots and the errno values.
#pragma once

#include <mica/fs/abi.h>
#include <mica/fs/squashfs.h>

#include "format.h"

namespace mica::fs::squashfs {

using mica::fs::errno_inval;
using mica::fs::errno_io;
using mica::fs::errno_isdir;
using mica::fs::errno_nametoolong;
using mica::fs::errno_noent;
using mica::fs::errno_nomem;
using mica::fs::errno_notdir;

// One decompressed metadata block, keyed by its absolute position.
struct Image::MetadataSlot {
    uint64_t block;
    uint64_t next;   // the following block's position (block + 2 + stored length)
    uint64_t stamp;  // LRU: larger is more recent; 0 = empty
    uint32_t size;   // decompressed bytes
    uint8_t data[format::metadata_size];
};

// One decompressed data block or fragment block, keyed by position and size word.
struct Image::DataSlot {
    uint64_t position;
    uint32_t size_word;
    uint32_t size;
    uint64_t stamp;  // 0 = empty
    uint8_t* data;   // block_size bytes
};

// Where a file's block list was last read: entry `block` of the list is at `entry` in the inode
// table and that block's data at `data`. Sequential reads go on from here instead of summing
// the block list from the start every time.
struct Image::BlockCursor {
    uint64_t reference;
    uint64_t data_start;
    uint64_t block;
    Position entry;
    uint64_t data;
    uint64_t stamp;  // 0 = empty
};

inline constexpr unsigned block_cursor_slots = 4;

// Without a data cache: the scratch buffer that takes a streamed block's bytes before the
// wanted ones. zlib inflates fast into any buffer of a few hundred bytes or more; 2 KiB is a
// small object for the kernel heap, where a page would take two (its large allocations are
// power-of-two page runs that also hold a header).
inline constexpr uint32_t stream_scratch_size = 2048;

}  // namespace mica::fs::squashfs
