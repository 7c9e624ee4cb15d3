// The page cache: pages of files that live elsewhere (squashfs on a disk) read once, kept in
// whole data pages and shared: read() copies out of them, and mmap and the ELF loader map them
// into applications copy-on-write (mm::vm::map_file_pages), so a program's text costs its
// pages once however many processes run it. ramfs needs none of this: its pages are the file.
//
// Bound: the cache keeps at most `limit` pages that only it holds. A page an application has
// mapped costs nothing more for being cached (the mapping keeps it alive anyway), so mapped
// pages do not count against the bound and are not evicted while mapped; a page dropped from
// the cache while mapped is freed when its last mapping goes (free_data_page). Eviction takes
// the least recently used page nobody maps.
//
// Keys: a File (embedded in the filesystem's vnode) and a page index. Lookup is a hash table
// sized once, for `limit` pages; chains grow beyond that when many pages are mapped.
//
// Locking: none here. The kernel calls it under the VFS lock (fill may sleep on disk I/O then);
// find() is also called with the VM spinlock held (Vnode::mappable_page) and only reads.
#pragma once

#include <mica/fs/data_pages.h>
#include <mica/fs/object.h>
#include <mica/sched/list.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::fs {

class PageCache {
public:
    class File;

private:
    struct Entry : MallocAllocated {
        const File* file;
        uint64_t index;
        void* page;
        Entry* hash_next;
        sched::ListNode lru_link;   // all entries, most recently used first
        sched::ListNode file_link;  // the file's entries
        bool seen_mapped;           // an application mapped it when eviction last looked
    };

public:
    // The cached pages of one file; the file must call PageCache::forget before it goes.
    class File {
    public:
        File() = default;
        File(const File&) = delete;
        File& operator=(const File&) = delete;
        size_t pages() const { return count_; }

    private:
        friend class PageCache;
        sched::List<Entry, &Entry::file_link> entries_;
        size_t count_ = 0;
    };

    // Reads page `index` of the file into `page` (data_page_size bytes; bytes past the end of
    // the file must be zeroed). 0 or -errno. May sleep.
    using Fill = int (*)(void* context, uint64_t index, void* page);
    // Reads pages first .. first + count - 1 of the file into pages[0 .. count) in one go (a
    // nullptr entry is not wanted: skip it), zeros past the end of the file. 0 or -errno. May
    // sleep.
    using FillPages = int (*)(void* context, uint64_t first, void* const* pages, size_t count);

    // The least a cache may hold: files_map_pages maps in chunks of at most min_limit / 2
    // pages, filled and then mapped, so a chunk's pages are never evicted in between.
    static constexpr size_t min_limit = 64;
    static constexpr size_t map_chunk_pages = min_limit / 2;

    // Whether memory is short now (free pages low): the cache then gives back pages nobody
    // maps below its limit too, at every fill, so that a small machine's programs get them.
    using Pressure = bool (*)();

    explicit PageCache(size_t limit, Pressure pressure = nullptr);
    ~PageCache();  // every File must have been forgotten
    PageCache(const PageCache&) = delete;
    PageCache& operator=(const PageCache&) = delete;
    bool valid() const { return buckets_ != nullptr; }  // false: out of memory at construction

    // Page `index` of `file` in *out (a kernel address of a data page), read by `fill` on a
    // miss. 0, -ENOMEM, or fill's error (nothing is cached then).
    int get(File& file, uint64_t index, Fill fill, void* context, void** out);
    // Page `index` of `file` in *out, as get(); a miss also reads the pages of [first, first +
    // count) (which holds `index`; count at most map_chunk_pages) that are not cached, all with
    // one call of `fill` (the cached ones are passed as nullptr), so that a reader that must
    // decompress a whole block for one page fills its neighbours from the same pass. Pages
    // other than `index` that find no free memory are left out. 0, -EINVAL for a bad range,
    // -ENOMEM, or fill's error (nothing is cached then).
    int get_range(File& file, uint64_t index, uint64_t first, size_t count, FillPages fill, void* context,
                  void** out);
    // The page if cached, else nullptr. Never fills, never changes the cache.
    void* find(const File& file, uint64_t index) const;
    // Drops every page of `file` (its vnode goes away).
    void forget(File& file);
    // Gives back up to `pages` pages nobody maps, least recently used first, whatever the
    // limit (memory is wanted elsewhere). Returns how many.
    size_t shrink(size_t pages);

    struct Stats {
        uint64_t hits = 0, misses = 0, evictions = 0;
        size_t pages = 0;  // cached now, mapped or not
    };
    const Stats& stats() const { return stats_; }
    // Whether memory is short now (the pressure hook): callers skip reading ahead then.
    bool short_of_memory() const { return pressure_ && pressure_(); }
    size_t limit() const { return limit_; }

private:
    size_t bucket_of(const File* file, uint64_t index) const;
    Entry** slot_of(const File* file, uint64_t index) const;
    void drop(Entry* entry);
    // A fresh data page, evicting what nobody maps when there is none; nullptr if still none.
    void* allocate_page();
    // Caches `page` as page `index` of `file` (not cached yet): false when out of memory (the
    // page is not taken then).
    bool insert(File& file, uint64_t index, void* page);
    // A mapped page at the old end: moved to the recent end and counted in seen_mapped_.
    bool set_aside_if_mapped(Entry* entry);
    // Evicts unmapped least recently used pages until at most `limit_` unmapped ones remain,
    // as far as it can tell: pages seen mapped are set aside (moved to the recent end and
    // counted in seen_mapped_) until a later look finds them unmapped. Looks at a bounded
    // number of pages per call.
    void make_room();

    size_t limit_;
    Pressure pressure_;
    Entry** buckets_ = nullptr;
    size_t bucket_count_ = 0;  // a power of two
    sched::List<Entry, &Entry::lru_link> lru_;
    size_t seen_mapped_ = 0;
    Stats stats_;
};

}  // namespace mica::fs
