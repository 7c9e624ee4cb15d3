// Reference counts of application pages that more than one address space maps (copy-on-write
// after fork, and shared areas). A page mapped once has no entry: its one reference is
// implicit, so the table holds only shared pages and costs nothing until the first fork.
// Open addressing with linear probing keyed by physical page address, deletion by backward
// shift (no tombstones), so lookups stay short however often pages are unshared.
//
// The bucket array is the caller's: growing needs memory, which the page-fault path cannot
// wait for, so the owner grows the table before an operation that adds entries (fork) with
// `fits`/`rehash`, and the fault path only looks up and drops references. Host-tested
// (tests/unit/test_page_shares.cc). Not thread-safe: mm/vm serialises it under its lock.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

class PageShares {
public:
    struct Bucket {
        uintptr_t page;  // physical address of the page; 0: empty (page 0 is never an application page)
        uint32_t count;  // references, >= 2
    };

    // The bucket count for `entries` entries at most half full (a power of two).
    static size_t capacity_for(size_t entries) {
        size_t c = 16;
        while (c < entries * 2) c *= 2;
        return c;
    }

    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    Bucket* buckets() const { return buckets_; }
    // Whether `extra` more entries can be added without growing.
    bool fits(size_t extra) const { return capacity_ && (size_ + extra) * 2 <= capacity_; }

    // Moves every entry into `fresh` (zeroed, `capacity` a power of two, large enough) and
    // returns the old array for the caller to free (nullptr the first time).
    Bucket* rehash(Bucket* fresh, size_t capacity) {
        Bucket* old = buckets_;
        size_t old_capacity = capacity_;
        buckets_ = fresh;
        capacity_ = capacity;
        size_ = 0;
        for (size_t i = 0; i < old_capacity; ++i) {
            if (old[i].page) *slot_for(old[i].page) = old[i], ++size_;
        }
        return old;
    }

    // References to `page`: its count, or 1 when it has no entry (mapped once).
    uint32_t count(uintptr_t page) const {
        if (!capacity_) return 1;
        const Bucket* b = find(page);
        return b ? b->count : 1;
    }

    // One more reference to a mapped page (1 becomes 2). The table must have room (fits).
    void add(uintptr_t page) {
        Bucket* b = slot_for(page);
        if (b->page) {
            ++b->count;
        } else {
            *b = {page, 2};
            ++size_;
        }
    }

    // Drops one reference; returns how many remain (0: the caller frees the page).
    uint32_t drop(uintptr_t page) {
        Bucket* b = capacity_ ? find(page) : nullptr;
        if (!b) return 0;
        if (--b->count > 1) return b->count;
        erase(b);
        return 1;
    }

private:
    size_t mask() const { return capacity_ - 1; }
    size_t home(uintptr_t page) const {
        uint64_t h = (page >> 12) * 0x9e3779b97f4a7c15ull;  // Fibonacci hashing
        return static_cast<size_t>(h >> 32) & mask();
    }
    // The bucket holding `page`, or the empty one where it would go.
    Bucket* slot_for(uintptr_t page) const {
        for (size_t i = home(page);; i = (i + 1) & mask()) {
            if (buckets_[i].page == page || buckets_[i].page == 0) return &buckets_[i];
        }
    }
    Bucket* find(uintptr_t page) const {
        Bucket* b = slot_for(page);
        return b->page ? b : nullptr;
    }
    // Backward-shift deletion: later entries of the probe run move up into the hole.
    void erase(Bucket* b) {
        size_t hole = static_cast<size_t>(b - buckets_);
        for (size_t i = (hole + 1) & mask(); buckets_[i].page; i = (i + 1) & mask()) {
            size_t want = home(buckets_[i].page);
            // Movable when its home is not cyclically inside (hole, i].
            bool stays = hole < i ? (want > hole && want <= i) : (want > hole || want <= i);
            if (!stays) {
                buckets_[hole] = buckets_[i];
                hole = i;
            }
        }
        buckets_[hole] = {0, 0};
        --size_;
    }

    Bucket* buckets_ = nullptr;
    size_t capacity_ = 0;
    size_t size_ = 0;
};

}  // namespace mica::mm
