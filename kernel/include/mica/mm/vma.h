// Virtual memory areas of an address space, with Linux's mmap/munmap/mprotect semantics on
// page-granular ranges: mapping over existing areas (MAP_FIXED) replaces them, unmapping or
// re-protecting part of an area splits it, and adjacent areas with the same attributes are
// not merged (simpler; /proc/self/maps shows them as Linux would after mprotect). Areas sit
// in an ordered intrusive tree (Boost.Intrusive red-black tree keyed by start address), so
// finding the area of a faulting address is O(log n). Nodes come from a caller-provided
// allocator so the core is host-testable. Page tables and demand paging sit on top (vm.h).
#pragma once

#include <boost/intrusive/set.hpp>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

inline constexpr int prot_read = 1, prot_write = 2, prot_exec = 4;  // PROT_* values
inline constexpr int errno_inval = 22, errno_nomem = 12;             // returned negated

// What an area holds, for /proc/self/maps and for the rules that differ: reserved areas are
// the kernel's (its image, the direct map, stacks) inside the application's range; they are
// never placed over, unmapped or re-protected by the application. vdso and vvar are the
// process's copy of the vDSO and the page it finds the kernel's clock through
// (libc/linux/vdso.cc): ordinary private memory otherwise, named as Linux names them.
enum class VmaKind : uint8_t { anonymous, heap, stack, image, reserved, vdso, vvar };

// A file whose pages an area maps on demand (vm.h attach_pager: squashfs files in the page
// cache). Defined by the file system; pagers are never destroyed while an area may refer to
// them (the file system pins a file it hands out as a pager).
class FilePager;

struct Vma : boost::intrusive::set_base_hook<boost::intrusive::optimize_size<true>> {
    uintptr_t start;
    uintptr_t end;  // exclusive
    int prot;
    VmaKind kind;
    bool shared;  // MAP_SHARED: forked spaces keep mapping its pages (vm.h fork_space)
    // Private file mapping paged on demand: the page at `start` is page `pager_index` of the
    // pager's file. nullptr: anonymous memory (zeros on first touch).
    FilePager* pager;
    uint64_t pager_index;
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
    // range of `length` at or above `hint` (or anywhere). Returns the address, or -errno
    // (-ENOMEM for a fixed range over a reserved area).
    intptr_t map(uintptr_t hint, size_t length, int prot, bool fixed, VmaKind kind = VmaKind::anonymous,
                 bool shared = false);
    // Marks [start, start + length) as the kernel's: must not overlap an existing area.
    int reserve(uintptr_t start, size_t length);
    // munmap: 0 or -errno. Unmapping unmapped pages is not an error (as in Linux); a range
    // touching a reserved area is -EINVAL and changes nothing.
    int unmap(uintptr_t start, size_t length);
    // mprotect: 0, or -ENOMEM if part of the range is unmapped or reserved (nothing changed then).
    int protect(uintptr_t start, size_t length, int prot);
    // Makes [start, start + length) page on demand from `pager`, page `first_index` at
    // `start` (splitting areas at the ends). 0, -ENOMEM when part of the range is unmapped or
    // reserved, -EINVAL for a bad range or a shared area (nothing changed then).
    int set_pager(uintptr_t start, size_t length, FilePager* pager, uint64_t first_index);
    // The area holding `address`, or nullptr.
    const Vma* find(uintptr_t address) const;
    // Grows or shrinks the area starting at `start` so that it ends at `new_end` (brk).
    // Growing fails with -ENOMEM if the new pages overlap another area or leave the space.
    int resize(uintptr_t start, uintptr_t new_end);

    uintptr_t lowest() const { return lowest_; }
    uintptr_t highest() const { return highest_; }

    template <typename F>
    void for_each(F f) const {
        for (const Vma& v : areas_) f(v);
    }
    size_t count() const { return areas_.size(); }

private:
    struct KeyOfStart {
        using type = uintptr_t;
        type operator()(const Vma& v) const { return v.start; }
    };
    using Areas = boost::intrusive::set<Vma, boost::intrusive::key_of_value<KeyOfStart>,
                                        boost::intrusive::constant_time_size<true>>;

    bool valid_range(uintptr_t start, size_t length) const;
    bool overlaps_reserved(uintptr_t start, uintptr_t end) const;
    bool covered_by_areas(uintptr_t start, uintptr_t end) const;
    Vma* area_containing(uintptr_t address) const;
    // Splits the area containing `address` so that an area boundary falls there.
    bool split_at(uintptr_t address);
    Vma* new_area(uintptr_t start, uintptr_t end, int prot, VmaKind kind, bool shared = false);
    void remove_range(uintptr_t start, uintptr_t end);  // areas wholly inside [start, end)

    uintptr_t lowest_, highest_;
    NodeAllocator nodes_;
    Areas areas_;
};

}  // namespace mica::mm
