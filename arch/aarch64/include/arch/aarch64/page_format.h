// aarch64 VMSAv8-64 descriptors (4 KiB granule, 39-bit addresses: levels 1-3) for
// mm::PageTable. Header-only so host tests can exercise it. Application code runs at EL1
// (single address space), so permissions are the EL1 ones: AP[2] for read-only, PXN for
// no-execute; UXN is always set because nothing runs at EL0.
#pragma once

#include <mica/mm/page_table.h>
#include <mica/mm/vma.h>
#include <stdint.h>

namespace mica::aarch64 {

struct PageFormat {
    static constexpr unsigned top_shift = 30;  // level-1 entries span 1 GiB
    static constexpr uint64_t valid = 1, table_or_page = 2;
    static constexpr uint64_t attr_device = 0 << 2, attr_normal = 1 << 2;  // MAIR indices (paging.cc)
    static constexpr uint64_t read_only = 1 << 7;                         // AP[2]
    static constexpr uint64_t inner_shareable = 3 << 8, access_flag = 1 << 10;
    static constexpr uint64_t privileged_never_execute = 1ull << 53, unprivileged_never_execute = 1ull << 54;
    static constexpr uint64_t prot_none_bit = 1ull << 58;  // software bit: a PROT_NONE page kept
    static constexpr uint64_t address_bits = ((1ull << 48) - 1) & ~0xfffull;

    static bool present(uint64_t e) { return e & valid; }
    static bool is_prot_none(uint64_t e) { return !(e & valid) && (e & prot_none_bit); }
    static bool large_leaf_allowed(unsigned shift) { return shift == 21 || shift == 30; }
    static bool is_leaf(uint64_t e, unsigned shift) {
        if (shift == 12) return present(e) || is_prot_none(e);
        return (e & 3) == valid;  // a block descriptor
    }
    static uint64_t address(uint64_t e, unsigned shift) {
        uint64_t low = shift > 12 ? (1ull << shift) - 1 : 0xfff;
        return e & address_bits & ~low;
    }
    static uint64_t make_table(uint64_t pa) { return pa | valid | table_or_page; }
    static uint64_t make_leaf(uint64_t pa, unsigned shift, mm::Attributes a) {
        if (a.prot == 0) return shift == 12 ? pa | prot_none_bit : 0;
        uint64_t e = pa | valid | (shift == 12 ? table_or_page : 0) | access_flag | unprivileged_never_execute;
        e |= a.type == mm::MemoryType::device ? attr_device : attr_normal | inner_shareable;
        if (!(a.prot & mm::prot_write)) e |= read_only;
        if (!(a.prot & mm::prot_exec) || a.type == mm::MemoryType::device) e |= privileged_never_execute;
        return e;
    }
    static mm::Attributes attributes(uint64_t e) {
        if (is_prot_none(e)) return {0};
        int prot = mm::prot_read | ((e & read_only) ? 0 : mm::prot_write) |
                   ((e & privileged_never_execute) ? 0 : mm::prot_exec);
        return {prot, (e & (7 << 2)) == attr_device ? mm::MemoryType::device : mm::MemoryType::normal};
    }
    // The table walker is not ordered by ordinary barriers: complete the stores first.
    static void publish() {
#ifdef __aarch64__
        asm volatile("dsb ishst" ::: "memory");
#else
        asm volatile("" ::: "memory");
#endif
    }
};

}  // namespace mica::aarch64
