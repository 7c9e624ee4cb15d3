// Byte-granular reads of a block device through a bounded cache of aligned blocks, for
// filesystem metadata (the squashfs superblock, inode and directory tables).
//
// Blocks are cache_block_size bytes (the page size, or the sector size if larger), aligned on
// their size, kept in an LRU list and found through a tree keyed by block number; the total
// never exceeds max_bytes (at least one block is always allowed). Reads of at least
// `direct_threshold` bytes go to the device directly and are not cached (squashfs data blocks
// are read once and end up in the page cache): the sector-aligned middle straight into the
// caller's buffer (the driver splits big transfers into several requests in flight), the
// unaligned edges through the cache.
//
// Thread-safe: one mutex around the cache; device reads for cached blocks happen with it held
// (metadata reads are small), direct reads without it.
#pragma once

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>
#include <mica/block/device.h>
#include <stddef.h>
#include <stdint.h>

#if __STDC_HOSTED__
#include <mutex>
#else
#include <mica/sched/sync.h>
#endif

namespace mica::block {

inline constexpr size_t default_direct_threshold = 64 * 1024;

class BufferCache {
public:
    BufferCache(Device& device, size_t max_bytes, size_t direct_threshold = default_direct_threshold);
    ~BufferCache();
    BufferCache(const BufferCache&) = delete;
    BufferCache& operator=(const BufferCache&) = delete;

    // `length` bytes at `offset` into `buffer`: 0, -EIO (device error, nothing cached from
    // it), -EINVAL past the end of the device, -ENOMEM.
    int read(uint64_t offset, void* buffer, size_t length);
    Device& device() { return device_; }

    // Statistics (tests, --verbose).
    size_t block_size() const { return block_size_; }
    size_t cached_blocks() const;
    size_t max_blocks() const { return max_blocks_; }
    uint64_t hits() const { return hits_; }
    uint64_t misses() const { return misses_; }
    uint64_t direct_reads() const { return direct_reads_; }

private:
    struct Block : boost::intrusive::list_base_hook<>, boost::intrusive::set_base_hook<> {
        uint64_t number;  // offset / block size
        uint8_t* data;
    };
    struct KeyOfBlock {
        using type = uint64_t;
        uint64_t operator()(const Block& b) const { return b.number; }
    };
    using Lru = boost::intrusive::list<Block>;  // front: most recently used
    using Index = boost::intrusive::set<Block, boost::intrusive::key_of_value<KeyOfBlock>>;

    int read_cached(uint64_t offset, uint8_t* out, size_t length);
    int get_block(uint64_t number, Block** out);
    void drop(Block* block);

    Device& device_;
    size_t block_size_;
    size_t max_blocks_;
    size_t direct_threshold_;
    Lru lru_;
    Index index_;
    uint64_t hits_ = 0, misses_ = 0, direct_reads_ = 0;
#if __STDC_HOSTED__
    mutable std::mutex lock_;
#else
    mutable sched::Mutex lock_;
#endif
};

}  // namespace mica::block
