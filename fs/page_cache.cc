// The page cache (page_cache.h): a hash table of (file, index) -> page with an LRU list.
#include <mica/fs/abi.h>
#include <mica/fs/page_cache.h>
#include <stdlib.h>

namespace mica::fs {

namespace {
// How many pages make_room looks at per call at most: bounds the work of one fill when
// many cached pages are mapped.
constexpr size_t max_eviction_scan = 64;
}  // namespace

PageCache::PageCache(size_t limit, Pressure pressure)
    : limit_(limit < min_limit ? min_limit : limit), pressure_(pressure) {
    size_t count = 64;
    while (count < limit_) count *= 2;
    buckets_ = static_cast<Entry**>(calloc(count, sizeof(Entry*)));
    if (buckets_) bucket_count_ = count;
}

PageCache::~PageCache() { free(buckets_); }

size_t PageCache::bucket_of(const File* file, uint64_t index) const {
    // Files are heap objects (16-byte aligned); consecutive pages of one file go to
    // consecutive buckets.
    uint64_t key = (reinterpret_cast<uintptr_t>(file) >> 4) * 0x9e3779b97f4a7c15ull + index;
    return static_cast<size_t>(key & (bucket_count_ - 1));
}

PageCache::Entry** PageCache::slot_of(const File* file, uint64_t index) const {
    Entry** slot = &buckets_[bucket_of(file, index)];
    while (*slot && ((*slot)->file != file || (*slot)->index != index)) slot = &(*slot)->hash_next;
    return slot;
}

void* PageCache::find(const File& file, uint64_t index) const {
    if (!buckets_) return nullptr;
    Entry* e = *slot_of(&file, index);
    return e ? e->page : nullptr;
}

void PageCache::drop(Entry* e) {
    Entry** slot = slot_of(e->file, e->index);
    *slot = e->hash_next;
    lru_.remove(*e);
    File* file = const_cast<File*>(e->file);
    file->entries_.remove(*e);
    --file->count_;
    if (e->seen_mapped) --seen_mapped_;
    --stats_.pages;
    free_data_page(e->page);  // freed now, or when the last mapping of it goes
    delete e;
}

bool PageCache::set_aside_if_mapped(Entry* e) {
    if (!data_page_mapped(e->page)) return false;
    // It costs nothing while mapped: to the recent end, counted, until a later look finds it
    // unmapped.
    if (!e->seen_mapped) ++seen_mapped_;
    e->seen_mapped = true;
    lru_.remove(*e);
    lru_.push_front(*e);
    return true;
}

void PageCache::make_room() {
    auto over = [this] {
        size_t unmapped = stats_.pages - seen_mapped_;
        // Under pressure, down to a few pages: the one being filled and a chunk being mapped
        // (see map_chunk_pages) must stay.
        return unmapped > limit_ || (pressure_ && unmapped > map_chunk_pages && pressure_());
    };
    for (size_t looked = 0; looked < max_eviction_scan && over(); ++looked) {
        Entry* e = lru_.back();
        if (!e) break;
        if (set_aside_if_mapped(e)) continue;
        ++stats_.evictions;
        drop(e);
    }
}

void* PageCache::allocate_page() {
    void* page = alloc_data_page();
    if (!page) {
        // Give back what nobody maps and try once more.
        size_t keep = limit_;
        limit_ = 0;
        make_room();
        limit_ = keep;
        page = alloc_data_page();
    }
    // (That may have evicted pages a caller got from earlier calls: whoever needs several
    // pages at once checks with find() afterwards, as files_map_pages does.)
    return page;
}

bool PageCache::insert(File& file, uint64_t index, void* page) {
    auto* e = make_object<Entry>();
    if (!e) return false;
    e->file = &file;
    e->index = index;
    e->page = page;
    // The fill may have slept; nothing else adds under the VFS lock, so the slot is still
    // where the chain ends (looked up now, after the fill, all the same).
    Entry** slot = slot_of(&file, index);
    e->hash_next = nullptr;
    *slot = e;
    lru_.push_front(*e);
    file.entries_.push_back(*e);
    ++file.count_;
    ++stats_.pages;
    return true;
}

int PageCache::get(File& file, uint64_t index, Fill fill, void* context, void** out) {
    if (!buckets_) return -errno_nomem;
    if (Entry* e = *slot_of(&file, index)) {
        ++stats_.hits;
        lru_.remove(*e);
        lru_.push_front(*e);
        *out = e->page;
        return 0;
    }
    ++stats_.misses;
    void* page = allocate_page();
    if (!page) return -errno_nomem;
    if (int r = fill(context, index, page); r < 0) {
        free_data_page(page);
        return r;
    }
    if (!insert(file, index, page)) {
        free_data_page(page);
        return -errno_nomem;
    }
    make_room();
    *out = page;
    return 0;
}

int PageCache::get_range(File& file, uint64_t index, uint64_t first, size_t count, FillPages fill, void* context,
                         void** out) {
    if (!buckets_) return -errno_nomem;
    if (count == 0 || count > map_chunk_pages || index < first || index - first >= count) return -errno_inval;
    if (Entry* e = *slot_of(&file, index)) {
        ++stats_.hits;
        lru_.remove(*e);
        lru_.push_front(*e);
        *out = e->page;
        return 0;
    }
    void* fresh[map_chunk_pages] = {};
    size_t wanted = static_cast<size_t>(index - first);
    // The page asked for first (it may evict to get memory), then its neighbours while
    // memory lasts.
    if (!(fresh[wanted] = allocate_page())) return -errno_nomem;
    for (size_t i = 0; i < count; ++i) {
        if (i == wanted || *slot_of(&file, first + i)) continue;
        if (!(fresh[i] = alloc_data_page())) break;
    }
    int r = fill(context, first, fresh, count);
    // The page asked for goes in last: the most recently used, so make_room keeps it.
    for (size_t n = 0; n < count; ++n) {
        size_t i = n < wanted ? n : n + 1 < count ? n + 1 : wanted;
        if (!fresh[i]) continue;
        if (r == 0 && insert(file, first + i, fresh[i])) {
            ++stats_.misses;
            continue;
        }
        free_data_page(fresh[i]);
        if (i == wanted && r == 0) r = -errno_nomem;
    }
    if (r < 0) return r;
    make_room();
    *out = fresh[wanted];
    return 0;
}

size_t PageCache::shrink(size_t pages) {
    size_t freed = 0, looked = 0, total = stats_.pages;
    // Each page is looked at once at most: mapped ones go to the recent end.
    while (freed < pages && looked < total) {
        Entry* e = lru_.back();
        if (!e) break;
        ++looked;
        if (set_aside_if_mapped(e)) continue;
        ++stats_.evictions;
        drop(e);
        ++freed;
    }
    return freed;
}

void PageCache::forget(File& file) {
    while (Entry* e = file.entries_.front()) drop(e);
}

}  // namespace mica::fs
