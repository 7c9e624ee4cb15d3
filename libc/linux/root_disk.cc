// The root file system from a disk (root_disk.h).
#include <mica/block/buffer_cache.h>
#include <mica/block/device.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/format.h>
#include <mica/fs/squashfs_vfs.h>
#include <mica/linux/root_disk.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>
#include <mica/sched/sync.h>
#include <string.h>
#include "files_impl.h"

namespace mica::abi {

namespace {

// The buffer cache's bound for one disk root (CONFIG_BLOCK_CACHE_KIB): squashfs reads
// metadata in small pieces (inodes, directories, block lists); data blocks bypass it. On a small machine (below
// small_machine_bytes of RAM) the disk's caches shrink to what a program run needs: no
// decompressed data block at all (the reader streams each block into the page cache's pages,
// all the missing pages of a block in one pass; a block-sized buffer would be 128 KiB with
// mksquashfs' default blocks), four metadata blocks. Big machines keep the reader's default
// data cache: a fragment block shared by many small files' tails is inflated once.
constexpr size_t root_buffer_cache_bytes = size_t{CONFIG_BLOCK_CACHE_KIB} * 1024,
                 small_root_buffer_cache_bytes = 32 * 1024;
constexpr uint64_t small_machine_bytes = 64ull << 20;
// The page cache keeps at most this fraction of RAM in pages no application maps (mapped ones
// cost nothing more for being cached); it gives them back when memory runs short (at its own
// fills) and when an application's mmap or brk would otherwise fail (the reclaimer).
constexpr size_t page_cache_fraction = 4;

// The image's bytes, through the device's buffer cache.
class BlockSource final : public fs::squashfs::Source {
public:
    BlockSource(block::Device& device, size_t cache_bytes) : cache_(device, cache_bytes), size_(device.capacity()) {}
    int read(uint64_t offset, void* buffer, size_t length) override {
        if (offset > size_ || length > size_ - offset) return -fs::errno_io;
        return cache_.read(offset, buffer, length);
    }
    uint64_t size() const override { return size_; }

private:
    block::BufferCache cache_;
    uint64_t size_;
};

// Owned by the kernel for its lifetime: made once, shared by every disk file system.
fs::PageCache* the_page_cache = nullptr;

void report(const char* message) { kprintf("mica: %s\n", message); }

// Memory is short when less than an eighth of RAM is free, or less than 16 MiB (a small
// machine is always short: its programs get the memory, not the cache), or less than twice
// what the kernel keeps for itself: the page cache then gives back what nobody maps, and
// reads only the pages asked for (no rest of the block, which faults would map too).
constexpr size_t plenty_free_pages = (16u << 20) / mm::page_size;
bool memory_short() {
    size_t free = mm::pages().free_pages(), floor = mm::pages().total_pages() / 8;
    if (floor < plenty_free_pages) floor = plenty_free_pages;
    if (floor < 2 * mm::vm::kernel_reserve_pages()) floor = 2 * mm::vm::kernel_reserve_pages();
    return free < floor;
}

// Owned here: serialises every disk file system's image reads and the page cache (the
// squashfs_vfs.h lock), taken by vnode calls under the VFS lock and by page faults without it.
sched::Mutex squashfs_mutex;
void lock_squashfs(void*) { squashfs_mutex.lock(); }
void unlock_squashfs(void*) { squashfs_mutex.unlock(); }

// can_commit's reclaimer: a try-lock, as its callers may hold the VFS lock (never this one).
size_t reclaim_cached_pages(size_t pages) {
    if (!the_page_cache || !squashfs_mutex.try_lock()) return 0;
    size_t freed = the_page_cache->shrink(pages);
    squashfs_mutex.unlock();
    return freed;
}

}  // namespace

fs::PageCache* page_cache() { return the_page_cache; }

int open_disk_root(const char* device, RootFileSystem* out, char* error, size_t error_size) {
    const char* name = strncmp(device, "/dev/", 5) == 0 ? device + 5 : device;
    block::Device* disk = block::find(name);
    if (!disk) {
        char have[128] = "none";
        size_t used = 0;
        for (size_t i = 0; i < block::device_count() && used + 8 < sizeof have; ++i) {
            used += static_cast<size_t>(fmt::snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "",
                                                      block::device(i)->name()));
        }
        fmt::snprintf(error, error_size, "no block device %s (the machine has: %s)", name, have);
        return -fs::errno_nodev;
    }
    if (!the_page_cache) {
        size_t limit = mm::pages().total_pages() / page_cache_fraction;
        the_page_cache = new fs::PageCache(limit, memory_short);
        if (!the_page_cache || !the_page_cache->valid()) {
            delete the_page_cache;
            the_page_cache = nullptr;
            fmt::snprintf(error, error_size, "out of memory for the page cache");
            return -fs::errno_nomem;
        }
        mm::vm::set_reclaimer(reclaim_cached_pages);
    }
    bool small = uint64_t{mm::pages().total_pages()} * mm::page_size < small_machine_bytes;
    fs::squashfs::Options options;
    if (small) options.metadata_cache_blocks = 4, options.data_cache_blocks = 0;
    auto* source = new BlockSource(*disk, small ? small_root_buffer_cache_bytes : root_buffer_cache_bytes);
    if (!source) {
        fmt::snprintf(error, error_size, "out of memory");
        return -fs::errno_nomem;
    }
    char why[200] = "";
    fs::squashfs::Image* image = nullptr;
    if (int r = fs::squashfs::Image::open(*source, options, &image, why, sizeof why); r < 0) {
        delete source;
        fmt::snprintf(error, error_size, "%s: %s", name, why);
        return r;
    }
    fs::FileSystem* filesystem = nullptr;
    fs::SquashfsLock lock{lock_squashfs, unlock_squashfs, nullptr};
    if (int r = fs::squashfs_create(files::file_clock, image, source, true, *the_page_cache, lock, report, &filesystem,
                                    why, sizeof why);
        r < 0) {
        fmt::snprintf(error, error_size, "%s: %s", name, why);
        return r;
    }
    out->fs = filesystem;
    out->type = &fs::squashfs_type;
    return 0;
}

}  // namespace mica::abi
