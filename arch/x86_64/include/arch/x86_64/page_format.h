// x86_64 page-table entries (4-level paging) for mm::PageTable. Header-only and free of
// privileged instructions so host tests can exercise it.
#pragma once

#include <mica/mm/page_table.h>
#include <mica/mm/vma.h>
#include <stdint.h>

namespace mica::x86 {

struct PageFormat {
    static constexpr unsigned top_shift = 39;  // PML4 entries span 512 GiB
    static constexpr uint64_t present_bit = 1, writable = 2, write_through = 8, cache_disable = 0x10,
                              accessed = 0x20, dirty = 0x40, large = 0x80;
    static constexpr uint64_t prot_none_bit = 1ull << 9;  // software bit: a PROT_NONE page kept
    static constexpr uint64_t no_execute_bit = 1ull << 63;
    static constexpr uint64_t address_bits = ((1ull << 52) - 1) & ~0xfffull;
    // NX is only set once EFER.NXE is on (the CPU may lack it); arch sets this at boot.
    static inline uint64_t no_execute = 0;

    static bool present(uint64_t e) { return e & present_bit; }
    static bool is_prot_none(uint64_t e) { return !(e & present_bit) && (e & prot_none_bit); }
    static bool large_leaf_allowed(unsigned shift) { return shift == 21; }
    static bool is_leaf(uint64_t e, unsigned shift) {
        if (shift == 12) return present(e) || is_prot_none(e);
        return present(e) && (e & large);
    }
    static uint64_t address(uint64_t e, unsigned shift) {
        uint64_t low = shift > 12 ? (1ull << shift) - 1 : 0xfff;
        return e & address_bits & ~low;
    }
    static uint64_t make_table(uint64_t pa) { return pa | present_bit | writable; }
    static uint64_t make_leaf(uint64_t pa, unsigned shift, mm::Attributes a) {
        uint64_t e = pa | (shift > 12 ? large : 0);
        if (a.prot == 0) return shift == 12 ? e | prot_none_bit : 0;
        e |= present_bit | accessed | dirty;
        if (a.prot & mm::prot_write) e |= writable;
        if (!(a.prot & mm::prot_exec)) e |= no_execute;
        if (a.type == mm::MemoryType::device) e |= cache_disable | write_through;
        return e;
    }
    static mm::Attributes attributes(uint64_t e) {
        if (is_prot_none(e)) return {0};
        int prot = mm::prot_read | ((e & writable) ? mm::prot_write : 0) | ((e & no_execute_bit) ? 0 : mm::prot_exec);
        return {prot, (e & cache_disable) ? mm::MemoryType::device : mm::MemoryType::normal};
    }
    // x86 stores are seen by the page walker in program order: a compiler barrier suffices.
    static void publish() { asm volatile("" ::: "memory"); }
};

}  // namespace mica::x86
