#include <mica/mm/page_allocator.h>
#include <mica/mm/vma.h>

namespace mica::mm {
namespace {
constexpr uintptr_t page_mask = page_size - 1;
}

AddressSpace::~AddressSpace() {
    while (Vma* v = areas_.pop_front()) nodes_.release(v, nodes_.context);
}

bool AddressSpace::valid_range(uintptr_t start, size_t length) const {
    return length != 0 && (start & page_mask) == 0 && start >= lowest_ && start < highest_ &&
           length <= highest_ - start;
}

Vma* AddressSpace::new_area(uintptr_t start, uintptr_t end, int prot) {
    Vma* v = nodes_.allocate(nodes_.context);
    if (!v) return nullptr;
    v->start = start;
    v->end = end;
    v->prot = prot;
    v->link = {};
    return v;
}

void AddressSpace::insert(Vma* vma) {
    areas_.insert_sorted(*vma, [](const Vma& a, const Vma& b) { return a.start < b.start; });
}

const Vma* AddressSpace::find(uintptr_t address) const {
    return areas_.find([&](const Vma& v) { return v.start <= address && address < v.end; });
}

bool AddressSpace::split_at(uintptr_t address) {
    Vma* v = areas_.find([&](const Vma& x) { return x.start < address && address < x.end; });
    if (!v) return true;  // already a boundary (or unmapped)
    Vma* upper = new_area(address, v->end, v->prot);
    if (!upper) return false;
    v->end = address;
    insert(upper);
    return true;
}

int AddressSpace::unmap(uintptr_t start, size_t length) {
    if (!valid_range(start, length)) return -errno_inval;
    uintptr_t end = start + ((length + page_mask) & ~page_mask);
    if (end > highest_) end = highest_;
    if (!split_at(start) || !split_at(end)) return -errno_nomem;
    while (Vma* v = areas_.find([&](const Vma& x) { return x.start >= start && x.end <= end; })) {
        Areas::remove(*v);
        nodes_.release(v, nodes_.context);
    }
    return 0;
}

intptr_t AddressSpace::map(uintptr_t hint, size_t length, int prot, bool fixed) {
    if (length == 0 || length > highest_ - lowest_) return -errno_inval;
    size_t size = (length + page_mask) & ~page_mask;
    uintptr_t at;
    if (fixed) {
        if (!valid_range(hint, size)) return -errno_inval;
        // Replacing: make room first (MAP_FIXED discards what was there).
        if (unmap(hint, size) != 0) return -errno_nomem;
        at = hint;
    } else {
        // First fit at or above the hint, then anywhere.
        uintptr_t floor = (hint >= lowest_ && hint < highest_) ? ((hint + page_mask) & ~page_mask) : lowest_;
        bool found = false;
        at = 0;
        for (int pass = 0; pass < 2 && !found; ++pass) {
            uintptr_t candidate = pass == 0 ? floor : lowest_;
            areas_.for_each([&](Vma& v) {
                if (found || v.end <= candidate) return;
                if (v.start >= candidate && v.start - candidate >= size) {
                    found = true;
                    at = candidate;
                    return;
                }
                candidate = v.end;
            });
            if (!found && candidate <= highest_ && highest_ - candidate >= size) {
                found = true;
                at = candidate;
            }
        }
        if (!found) return -errno_nomem;
    }
    Vma* v = new_area(at, at + size, prot);
    if (!v) return -errno_nomem;
    insert(v);
    return static_cast<intptr_t>(at);
}

int AddressSpace::protect(uintptr_t start, size_t length, int prot) {
    if (!valid_range(start, length)) return -errno_inval;
    uintptr_t end = start + ((length + page_mask) & ~page_mask);
    // The whole range must be mapped: walk it first, change nothing on failure.
    uintptr_t covered = start;
    areas_.for_each([&](Vma& v) {
        if (v.end <= covered || v.start > covered || covered >= end) return;
        covered = v.end;
    });
    if (covered < end) return -errno_nomem;
    if (!split_at(start) || !split_at(end)) return -errno_nomem;
    areas_.for_each([&](Vma& v) {
        if (v.start >= start && v.end <= end) v.prot = prot;
    });
    return 0;
}

}  // namespace mica::mm
