#include <mica/mm/page_allocator.h>
#include <mica/mm/vma.h>

#include <new>

namespace mica::mm {
namespace {
constexpr uintptr_t page_mask = page_size - 1;
uintptr_t page_round_up(size_t n) { return (n + page_mask) & ~page_mask; }
}  // namespace

AddressSpace::~AddressSpace() {
    areas_.clear_and_dispose([this](Vma* v) { nodes_.release(v, nodes_.context); });
}

bool AddressSpace::valid_range(uintptr_t start, size_t length) const {
    return length != 0 && (start & page_mask) == 0 && start >= lowest_ && start < highest_ &&
           length <= highest_ - start;
}

Vma* AddressSpace::new_area(uintptr_t start, uintptr_t end, int prot, VmaKind kind, bool shared) {
    Vma* v = nodes_.allocate(nodes_.context);
    if (!v) return nullptr;
    new (v) Vma();
    v->start = start;
    v->end = end;
    v->prot = prot;
    v->kind = kind;
    v->shared = shared;
    v->pager = nullptr;
    v->pager_index = 0;
    return v;
}

Vma* AddressSpace::area_containing(uintptr_t address) const {
    // The last area starting at or below the address is the only candidate.
    auto it = areas_.upper_bound(address);
    if (it == areas_.begin()) return nullptr;
    --it;
    const Vma& v = *it;
    return address < v.end ? const_cast<Vma*>(&v) : nullptr;
}

const Vma* AddressSpace::find(uintptr_t address) const { return area_containing(address); }

bool AddressSpace::overlaps_reserved(uintptr_t start, uintptr_t end) const {
    Vma* first = area_containing(start);
    auto it = first ? areas_.iterator_to(*first) : areas_.lower_bound(start);
    for (; it != areas_.end() && it->start < end; ++it) {
        if (it->kind == VmaKind::reserved) return true;
    }
    return false;
}

bool AddressSpace::split_at(uintptr_t address) {
    Vma* v = area_containing(address);
    if (!v || v->start == address) return true;  // already a boundary (or unmapped)
    Vma* upper = new_area(address, v->end, v->prot, v->kind, v->shared);
    if (!upper) return false;
    if (v->pager) {
        upper->pager = v->pager;
        upper->pager_index = v->pager_index + (address - v->start) / page_size;
    }
    v->end = address;
    areas_.insert(*upper);
    return true;
}

void AddressSpace::remove_range(uintptr_t start, uintptr_t end) {
    auto it = areas_.lower_bound(start);
    while (it != areas_.end() && it->end <= end) {
        it = areas_.erase_and_dispose(it, [this](Vma* v) { nodes_.release(v, nodes_.context); });
    }
}

int AddressSpace::unmap(uintptr_t start, size_t length) {
    if (!valid_range(start, length)) return -errno_inval;
    uintptr_t end = start + page_round_up(length);
    if (end > highest_ || end < start) end = highest_;
    if (overlaps_reserved(start, end)) return -errno_inval;
    if (!split_at(start) || !split_at(end)) return -errno_nomem;
    remove_range(start, end);
    return 0;
}

int AddressSpace::reserve(uintptr_t start, size_t length) {
    if (!valid_range(start, length)) return -errno_inval;
    uintptr_t end = start + page_round_up(length);
    auto next = areas_.lower_bound(start);
    if (area_containing(start) || (next != areas_.end() && next->start < end)) return -errno_inval;
    Vma* v = new_area(start, end, 0, VmaKind::reserved);
    if (!v) return -errno_nomem;
    areas_.insert(*v);
    return 0;
}

intptr_t AddressSpace::map(uintptr_t hint, size_t length, int prot, bool fixed, VmaKind kind, bool shared) {
    if (length == 0 || length > highest_ - lowest_) return -errno_inval;
    size_t size = page_round_up(length);
    uintptr_t at = 0;
    if (fixed) {
        if (!valid_range(hint, size)) return -errno_inval;
        if (overlaps_reserved(hint, hint + size)) return -errno_nomem;
        // Replacing: make room first (MAP_FIXED discards what was there).
        if (unmap(hint, size) != 0) return -errno_nomem;
        at = hint;
    } else {
        // First fit at or above the hint, then anywhere.
        uintptr_t floor = (hint >= lowest_ && hint < highest_) ? page_round_up(hint) : lowest_;
        bool found = false;
        for (int pass = 0; pass < 2 && !found; ++pass) {
            uintptr_t candidate = pass == 0 ? floor : lowest_;
            if (Vma* v = area_containing(candidate)) candidate = v->end;
            for (auto it = areas_.lower_bound(candidate); it != areas_.end(); ++it) {
                if (it->start - candidate >= size) break;
                candidate = it->end;
            }
            if (candidate <= highest_ && highest_ - candidate >= size) {
                found = true;
                at = candidate;
            }
        }
        if (!found) return -errno_nomem;
    }
    Vma* v = new_area(at, at + size, prot, kind, shared);
    if (!v) return -errno_nomem;
    areas_.insert(*v);
    return static_cast<intptr_t>(at);
}

// The whole of [start, end) is mapped by the application (no holes, nothing reserved).
bool AddressSpace::covered_by_areas(uintptr_t start, uintptr_t end) const {
    uintptr_t covered = start;
    for (Vma* v = area_containing(start); v && covered < end; v = area_containing(covered)) {
        if (v->kind == VmaKind::reserved) return false;
        covered = v->end;
    }
    return covered >= end;
}

int AddressSpace::protect(uintptr_t start, size_t length, int prot) {
    if (!valid_range(start, length)) return -errno_inval;
    uintptr_t end = start + page_round_up(length);
    if (end > highest_ || end < start) return -errno_nomem;
    // The whole range must be mapped by the application: check first, change nothing on failure.
    if (!covered_by_areas(start, end)) return -errno_nomem;
    if (!split_at(start) || !split_at(end)) return -errno_nomem;
    for (auto it = areas_.lower_bound(start); it != areas_.end() && it->start < end; ++it) it->prot = prot;
    return 0;
}

int AddressSpace::set_pager(uintptr_t start, size_t length, FilePager* pager, uint64_t first_index) {
    if (!valid_range(start, length)) return -errno_inval;
    uintptr_t end = start + page_round_up(length);
    if (end > highest_ || end < start) return -errno_nomem;
    if (!covered_by_areas(start, end)) return -errno_nomem;
    // Shared mappings keep their pages in step with the file's writers: not paged here.
    for (Vma* v = area_containing(start); v && v->start < end; v = area_containing(v->end)) {
        if (v->shared) return -errno_inval;
        if (v->end >= end) break;
    }
    if (!split_at(start) || !split_at(end)) return -errno_nomem;
    for (auto it = areas_.lower_bound(start); it != areas_.end() && it->start < end; ++it) {
        it->pager = pager;
        it->pager_index = first_index + (it->start - start) / page_size;
    }
    return 0;
}

int AddressSpace::resize(uintptr_t start, uintptr_t new_end) {
    Vma* v = area_containing(start);
    if (!v || v->start != start || v->kind == VmaKind::reserved) return -errno_inval;
    new_end = page_round_up(new_end);
    if (new_end <= start) return -errno_inval;
    if (new_end > v->end) {
        if (new_end > highest_) return -errno_nomem;
        auto next = ++areas_.iterator_to(*v);
        if (next != areas_.end() && next->start < new_end) return -errno_nomem;
    }
    v->end = new_end;
    return 0;
}

}  // namespace mica::mm
