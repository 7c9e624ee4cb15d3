// The block buffer cache (mica/block/buffer_cache.h).
#include <mica/block/buffer_cache.h>
#include <new>
#include <stdlib.h>
#include <string.h>

namespace mica::block {
namespace {
constexpr int errno_inval = 22, errno_nomem = 12;
constexpr size_t page_size = 4096;

#if __STDC_HOSTED__
using Guard = std::lock_guard<std::mutex>;
#else
using Guard = sched::LockGuard<sched::Mutex>;
#endif
}  // namespace

BufferCache::BufferCache(Device& device, size_t max_bytes, size_t direct_threshold)
    : device_(device), direct_threshold_(direct_threshold) {
    block_size_ = device.sector_size() > page_size ? device.sector_size() : page_size;
    max_blocks_ = max_bytes / block_size_;
    if (max_blocks_ == 0) max_blocks_ = 1;
    // A direct read covers at least one whole block, so the edges are always partial blocks.
    if (direct_threshold_ < 2 * block_size_) direct_threshold_ = 2 * block_size_;
}

BufferCache::~BufferCache() {
    while (!lru_.empty()) drop(&lru_.back());
}

size_t BufferCache::cached_blocks() const {
    Guard guard(lock_);
    return lru_.size();
}

void BufferCache::drop(Block* block) {
    lru_.erase(lru_.iterator_to(*block));
    index_.erase(index_.iterator_to(*block));
    free(block->data);
    block->~Block();
    free(block);
}

// The block `number`, read from the device if it is not cached (evicting the least recently
// used one when the cache is full), moved to the front of the LRU. Lock held.
int BufferCache::get_block(uint64_t number, Block** out) {
    auto found = index_.find(number);
    if (found != index_.end()) {
        ++hits_;
        lru_.erase(lru_.iterator_to(*found));
        lru_.push_front(*found);
        *out = &*found;
        return 0;
    }
    ++misses_;
    // The last block may be short when the capacity is not a multiple of the block size
    // (it is always a multiple of the sector size).
    uint64_t start = number * block_size_;
    size_t length = device_.capacity() - start < block_size_ ? static_cast<size_t>(device_.capacity() - start) : block_size_;
    Block* block;
    if (lru_.size() >= max_blocks_) {
        block = &lru_.back();  // reuse the least recently used block's memory
        lru_.pop_back();
        index_.erase(index_.iterator_to(*block));
    } else {
        void* memory = malloc(sizeof(Block));
        if (!memory) return -errno_nomem;
        block = new (memory) Block;
        block->data = static_cast<uint8_t*>(malloc(block_size_));
        if (!block->data) {
            block->~Block();
            free(block);
            return -errno_nomem;
        }
    }
    if (int e = device_.read(start, block->data, length)) {
        free(block->data);
        block->~Block();
        free(block);
        return e;
    }
    block->number = number;
    index_.insert(*block);
    lru_.push_front(*block);
    *out = block;
    return 0;
}

int BufferCache::read_cached(uint64_t offset, uint8_t* out, size_t length) {
    Guard guard(lock_);
    while (length > 0) {
        uint64_t number = offset / block_size_;
        size_t within = static_cast<size_t>(offset % block_size_);
        size_t n = block_size_ - within < length ? block_size_ - within : length;
        Block* block;
        if (int e = get_block(number, &block)) return e;
        memcpy(out, block->data + within, n);
        out += n;
        offset += n;
        length -= n;
    }
    return 0;
}

int BufferCache::read(uint64_t offset, void* buffer, size_t length) {
    uint64_t capacity = device_.capacity();
    if (offset > capacity || length > capacity - offset) return -errno_inval;
    if (length == 0) return 0;
    auto* out = static_cast<uint8_t*>(buffer);
    if (length < direct_threshold_) return read_cached(offset, out, length);
    // Direct: the whole blocks in the middle go straight from the device into `buffer` (any
    // memory: the driver splits at page boundaries); the partial blocks at either end come
    // through the cache.
    uint64_t first_whole = (offset + block_size_ - 1) / block_size_ * block_size_;
    uint64_t end = offset + length;
    uint64_t last_whole = end / block_size_ * block_size_;
    if (end == capacity) last_whole = end;  // a short last block is whole too
    if (first_whole < last_whole) {
        if (first_whole > offset) {
            if (int e = read_cached(offset, out, static_cast<size_t>(first_whole - offset))) return e;
        }
        if (int e = device_.read(first_whole, out + (first_whole - offset), static_cast<size_t>(last_whole - first_whole))) {
            return e;
        }
        {
            Guard guard(lock_);
            ++direct_reads_;
        }
        if (end > last_whole) return read_cached(last_whole, out + (last_whole - offset), static_cast<size_t>(end - last_whole));
        return 0;
    }
    return read_cached(offset, out, length);
}

}  // namespace mica::block
