// Architecture-neutral page-table operations over an architecture's entry format: map,
// unmap, protect and translate ranges with 4 KiB pages and large leaves (2 MiB, 1 GiB) where
// the range allows, splitting a large leaf when an operation covers only part of it and
// freeing tables that become empty. The format (arch/<arch>/page_format.h) only encodes and
// decodes entries; table memory and physical<->virtual translation come from the caller,
// so the same code runs on the host over malloc'd tables (tests/unit/test_page_table.cc).
// Not thread-safe: the VM layer serialises changes. TLB invalidation is the caller's too.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

enum class MemoryType : uint8_t { normal, device };

// What a leaf allows. prot uses the PROT_* bits (vma.h); prot 0 (PROT_NONE) keeps the page
// and its contents but makes every access fault, as mprotect(PROT_NONE) must.
struct Attributes {
    int prot;
    MemoryType type = MemoryType::normal;
    bool operator==(const Attributes&) const = default;
};

struct Translation {
    bool mapped;        // a leaf exists (possibly PROT_NONE)
    uintptr_t address;  // physical address of the byte asked about
    Attributes attributes;
    size_t leaf_size;
};

template <typename Format>
class PageTable {
public:
    static constexpr unsigned page_shift = 12;
    static constexpr size_t entries = 512;

    struct Memory {
        void* (*alloc_table)(void* context);  // one zeroed, page-aligned table, or nullptr
        void (*free_table)(void* table, void* context);
        uintptr_t (*to_phys)(const void* table);
        void* (*to_virt)(uintptr_t phys);
        void* context;
    };

    PageTable(void* root, Memory memory) : root_(static_cast<uint64_t*>(root)), memory_(memory) {}

    // Maps [va, va + length) to [pa, ...): large leaves wherever va, pa and the remaining length
    // are aligned to one (and allow_large). Whatever was mapped there is replaced, not
    // released. All values page-aligned. False when a table allocation failed (the part
    // mapped so far stays mapped).
    bool map(uintptr_t va, uintptr_t pa, size_t length, Attributes attributes, bool allow_large = true) {
        while (length) {
            size_t size = 0;
            if (!map_one(va, pa, length, attributes, allow_large, size)) return false;
            va += size;
            pa += size;
            length -= size;
        }
        return true;
    }

    // Maps one 4 KiB page unless something is mapped there already (two CPUs faulting on
    // the same page). 1 = mapped, 0 = already mapped, -1 = out of memory.
    int map_page_if_absent(uintptr_t va, uintptr_t pa, Attributes attributes) {
        uint64_t* entry = leaf_slot(va, true);
        if (!entry) return -1;
        if (*entry && (Format::present(*entry) || Format::is_prot_none(*entry))) return 0;
        *entry = Format::make_leaf(pa, page_shift, attributes);
        Format::publish();
        return 1;
    }

    // Removes every leaf in [va, va + length), calling release(phys, size) for each removed
    // piece; large leaves partly inside are split first. Tables left empty are freed when
    // `free_tables` (keeping them makes the next mapping there cheaper). Returns false only
    // if a split failed for lack of memory (nothing after that point was removed).
    template <typename Release>
    bool unmap(uintptr_t va, size_t length, Release&& release, bool free_tables = true) {
        return walk_range(root_, Format::top_shift, va, va + length, [&](uint64_t& e, unsigned shift) {
            release(Format::address(e, shift), size_t{1} << shift);
            e = 0;
        }, false, free_tables);
    }

    // Changes the attributes of every leaf in the range (unmapped pages stay unmapped).
    bool protect(uintptr_t va, size_t length, Attributes attributes) {
        return walk_range(root_, Format::top_shift, va, va + length, [&](uint64_t& e, unsigned shift) {
            e = Format::make_leaf(Format::address(e, shift), shift, attributes);
        }, attributes.prot == 0, false);
    }

    Translation translate(uintptr_t va) const {
        const uint64_t* table = root_;
        for (unsigned shift = Format::top_shift;; shift -= 9) {
            uint64_t e = table[index(va, shift)];
            if (Format::is_leaf(e, shift)) {
                uintptr_t offset = va & ((uintptr_t{1} << shift) - 1);
                return {true, Format::address(e, shift) + offset, Format::attributes(e), size_t{1} << shift};
            }
            if (shift == page_shift || !Format::present(e)) return {false, 0, {}, 0};
            table = static_cast<const uint64_t*>(memory_.to_virt(Format::address(e, 0)));
        }
    }

    // Calls f(va, phys, attributes) for every 4 KiB leaf in [va, va + length) (PROT_NONE
    // ones included), in address order, skipping absent tables; large leaves are not
    // visited (application pages are 4 KiB). f may not change the table.
    template <typename F>
    void for_each_page(uintptr_t va, size_t length, F&& f) const {
        visit(root_, Format::top_shift, va, va + length, f);
    }

    uint64_t* root() const { return root_; }

private:
    static size_t index(uintptr_t va, unsigned shift) { return (va >> shift) % entries; }

    uint64_t* next_table(uint64_t& entry, bool create) {
        if (!Format::present(entry)) {
            if (!create) return nullptr;
            void* fresh = memory_.alloc_table(memory_.context);
            if (!fresh) return nullptr;
            Format::publish();  // the zeroed table before the entry pointing at it
            entry = Format::make_table(memory_.to_phys(fresh));
        }
        return static_cast<uint64_t*>(memory_.to_virt(Format::address(entry, 0)));
    }

    // The 4 KiB-level entry for va (tables created on the way when `create`; a large leaf on
    // the way is split). nullptr when out of memory or absent.
    uint64_t* leaf_slot(uintptr_t va, bool create) {
        uint64_t* table = root_;
        for (unsigned shift = Format::top_shift; shift > page_shift; shift -= 9) {
            uint64_t& e = table[index(va, shift)];
            if (Format::is_leaf(e, shift) && !split(e, shift)) return nullptr;
            table = next_table(e, create);
            if (!table) return nullptr;
        }
        return &table[index(va, page_shift)];
    }

    bool map_one(uintptr_t va, uintptr_t pa, size_t length, Attributes a, bool allow_large, size_t& size) {
        uint64_t* table = root_;
        for (unsigned shift = Format::top_shift;; shift -= 9) {
            size_t leaf = size_t{1} << shift;
            uint64_t& e = table[index(va, shift)];
            bool fits = ((va | pa) & (leaf - 1)) == 0 && length >= leaf;
            if (shift == page_shift || (allow_large && fits && Format::large_leaf_allowed(shift) && a.prot != 0)) {
                if (shift != page_shift && Format::present(e) && !Format::is_leaf(e, shift)) {
                    free_subtree(e, shift);  // replaced wholesale by one large leaf
                }
                e = Format::make_leaf(pa, shift, a);
                Format::publish();
                size = leaf;
                return true;
            }
            if (Format::is_leaf(e, shift) && !split(e, shift)) return false;
            table = next_table(e, true);
            if (!table) return false;
        }
    }

    // Replaces a large leaf by a table of leaves one level down with the same attributes.
    bool split(uint64_t& e, unsigned shift) {
        void* fresh = memory_.alloc_table(memory_.context);
        if (!fresh) return false;
        auto* table = static_cast<uint64_t*>(fresh);
        unsigned child = shift - 9;
        uintptr_t base = Format::address(e, shift);
        Attributes a = Format::attributes(e);
        for (size_t i = 0; i < entries; ++i) table[i] = Format::make_leaf(base + (i << child), child, a);
        Format::publish();
        e = Format::make_table(memory_.to_phys(fresh));
        return true;
    }

    void free_subtree(uint64_t& e, unsigned shift) {
        auto* table = static_cast<uint64_t*>(memory_.to_virt(Format::address(e, 0)));
        if (shift - 9 > page_shift) {
            for (size_t i = 0; i < entries; ++i) {
                if (Format::present(table[i]) && !Format::is_leaf(table[i], shift - 9)) free_subtree(table[i], shift - 9);
            }
        }
        e = 0;
        memory_.free_table(table, memory_.context);
    }

    static bool empty(const uint64_t* table) {
        for (size_t i = 0; i < entries; ++i) {
            if (table[i]) return false;
        }
        return true;
    }

    // Calls on_leaf(entry, shift) for every leaf wholly inside [start, end) under `table`
    // (whose entries each span 2^shift bytes), splitting leaves that straddle the range
    // (always splitting large ones when `page_granular`, for PROT_NONE). Tables left empty
    // are freed when `free_tables`.
    template <typename OnLeaf>
    bool walk_range(uint64_t* table, unsigned shift, uintptr_t start, uintptr_t end, OnLeaf&& on_leaf,
                    bool page_granular = false, bool free_tables = true) {
        size_t span = size_t{1} << shift;
        uintptr_t va = start;
        while (va < end) {
            uintptr_t slot_start = va & ~(span - 1);
            uintptr_t slot_end = slot_start + span;
            uintptr_t stop = slot_end < end && slot_end > slot_start ? slot_end : end;
            uint64_t& e = table[index(va, shift)];
            bool whole = va == slot_start && stop == slot_end;
            if (Format::is_leaf(e, shift)) {
                if (whole && (shift == page_shift || !page_granular)) {
                    on_leaf(e, shift);
                } else {
                    if (!split(e, shift)) return false;
                }
            }
            if (!Format::is_leaf(e, shift) && Format::present(e) && shift > page_shift) {
                auto* child = static_cast<uint64_t*>(memory_.to_virt(Format::address(e, 0)));
                if (!walk_range(child, shift - 9, va, stop, on_leaf, page_granular, free_tables)) return false;
                if (free_tables && empty(child)) {
                    e = 0;
                    memory_.free_table(child, memory_.context);
                }
            }
            if (stop <= va) break;  // the top of the address space
            va = stop;
        }
        return true;
    }

    template <typename F>
    void visit(const uint64_t* table, unsigned shift, uintptr_t start, uintptr_t end, F& f) const {
        size_t span = size_t{1} << shift;
        for (uintptr_t va = start; va < end;) {
            uintptr_t slot_end = (va & ~(span - 1)) + span;
            uintptr_t stop = slot_end < end && slot_end > va ? slot_end : end;
            uint64_t e = table[index(va, shift)];
            if (shift == page_shift) {
                if (Format::is_leaf(e, shift)) f(va, static_cast<uintptr_t>(Format::address(e, shift)), Format::attributes(e));
            } else if (Format::present(e) && !Format::is_leaf(e, shift)) {
                visit(static_cast<const uint64_t*>(memory_.to_virt(Format::address(e, 0))), shift - 9, va, stop, f);
            }
            if (stop <= va) break;  // the top of the address space
            va = stop;
        }
    }

    uint64_t* root_;
    Memory memory_;
};

}  // namespace mica::mm
