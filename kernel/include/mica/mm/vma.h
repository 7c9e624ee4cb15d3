// Virtual memory areas of an address space, with Linux's mmap/munmap/mprotect semantics on
// page-granular ranges: mapping over existing areas (MAP_FIXED) replaces them, unmapping or
// re-protecting part of an area splits it, and adjacent areas with the same attributes are
// not merged (simpler; /proc/self/maps shows them as Linux would after mprotect). The area
// list is sorted and intrusive; nodes come from a caller-provided allocator so the core is
// host-testable. This is the bookkeeping half of mmap (issue 5); page tables and demand
// paging sit on top of it.
#pragma once

#include <mica/sched/list.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

inline constexpr int prot_read = 1, prot_write = 2, prot_exec = 4;  // PROT_* values
inline constexpr int errno_inval = 22, errno_nomem = 12;             // returned negated

struct Vma {
    uintptr_t start;
    uintptr_t end;  // exclusive
    int prot;
    sched::ListNode link;
};

class AddressSpace {
public:
    struct NodeAllocator {
        Vma* (*allocate)(void* context);
        void (*release)(Vma* vma, void* context);
        void* context;
    };

    // Areas are placed inside [lowest, highest).
    AddressSpace(uintptr_t lowest, uintptr_t highest, NodeAllocator nodes)
        : lowest_(lowest), highest_(highest), nodes_(nodes) {}
    ~AddressSpace();
    AddressSpace(const AddressSpace&) = delete;
    AddressSpace& operator=(const AddressSpace&) = delete;

    // mmap: at `hint` exactly when `fixed` (replacing what is there), else the lowest free
    // range of `length` at or above `hint` (or anywhere). Returns the address, or -errno.
    intptr_t map(uintptr_t hint, size_t length, int prot, bool fixed);
    // munmap: 0 or -errno. Unmapping unmapped pages is not an error (as in Linux).
    int unmap(uintptr_t start, size_t length);
    // mprotect: 0, or -ENOMEM if part of the range is unmapped (nothing changed then).
    int protect(uintptr_t start, size_t length, int prot);
    // The area holding `address`, or nullptr.
    const Vma* find(uintptr_t address) const;

    template <typename F>
    void for_each(F f) const {
        areas_.for_each([&](Vma& v) { f(static_cast<const Vma&>(v)); });
    }
    size_t count() const { return areas_.size(); }

private:
    using Areas = sched::List<Vma, &Vma::link>;
    bool valid_range(uintptr_t start, size_t length) const;
    // Splits the area containing `address` so that an area boundary falls there.
    bool split_at(uintptr_t address);
    Vma* new_area(uintptr_t start, uintptr_t end, int prot);
    void insert(Vma* vma);

    uintptr_t lowest_, highest_;
    NodeAllocator nodes_;
    Areas areas_;
};

}  // namespace mica::mm
