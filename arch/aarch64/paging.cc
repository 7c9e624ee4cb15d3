// Kernel page tables (layout in traits.h): a 39-bit address space starting at level 1 with
// the 4 KiB granule. RAM is identity-mapped as Normal write-back memory (it is the direct
// map: the kernel image, the heap and every page the allocator hands out live there);
// device windows are identity-mapped as Device memory from 128 MiB up to 4 GiB. Below
// 128 MiB (QEMU virt's flash) nothing is mapped: null pointers fault, and non-PIE
// applications load there. Then the MMU and caches go on.
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/boot.h>
#include <mica/mm/early.h>
#include <mica/mm/page_table.h>
#include <mica/mm/phys.h>
#include <mica/panic.h>

namespace mica::arch {
namespace {
constexpr uint64_t mair = 0x04 | (0xffull << 8);  // attr 0: Device-nGnRE, attr 1: Normal WB
constexpr uint64_t two_mib = 2ull << 20;
constexpr uint64_t va_bits = 39;
constexpr uint64_t tcr = (64 - va_bits)           // T0SZ
                         | (1 << 8) | (1 << 10)   // inner/outer write-back table walks
                         | (3 << 12)              // inner shareable
                         | (1ull << 23);          // EPD1: no TTBR1 walks
constexpr uint64_t sctlr_m = 1, sctlr_a = 1 << 1, sctlr_c = 1 << 2, sctlr_i = 1 << 12;

using Table = mm::PageTable<aarch64::PageFormat>;

bool is_ram(const BootInfo& boot, uint64_t base, uint64_t size) {
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].base < base + size && base < boot.ram[i].end()) return true;
    }
    return false;
}
}  // namespace

void paging_init(const BootInfo& boot) {
    uint64_t end = traits::device_identity_end;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].end() > end) end = boot.ram[i].end();
    }
    if (end > traits::mmap_base) end = traits::mmap_base;  // RAM beyond 128 GiB is not used
    Table::Memory early{[](void*) { return mm::early_alloc(4096); }, [](void*, void*) {},
                        [](const void* t) { return mm::virt_to_phys(t); }, [](uintptr_t pa) { return mm::phys_to_virt(pa); },
                        nullptr};
    Table table(mm::early_alloc(4096), early);
    const int rwx = mm::prot_read | mm::prot_write | mm::prot_exec, rw = mm::prot_read | mm::prot_write;
    // 2 MiB granules: RAM (rounded out) is Normal, the rest Device; the table code merges
    // aligned runs into 1 GiB blocks by itself only when asked for a whole block, so ask
    // per 2 MiB for devices and per RAM range for RAM.
    for (uint64_t pa = traits::device_identity_start; pa < end; pa += two_mib) {
        bool ram = is_ram(boot, pa, two_mib);
        if (!table.map(pa, pa, two_mib, ram ? mm::Attributes{rwx} : mm::Attributes{rw, mm::MemoryType::device})) {
            panic("out of memory for the kernel page tables");
        }
    }
    // Physical address size from the CPU (ID_AA64MMFR0_EL1.PARange) into TCR_EL1.IPS.
    uint64_t ips = MICA_READ_SYSREG(id_aa64mmfr0_el1) & 0x7;
    MICA_WRITE_SYSREG(mair_el1, mair);
    MICA_WRITE_SYSREG(tcr_el1, tcr | (ips << 32));
    MICA_WRITE_SYSREG(ttbr0_el1, mm::virt_to_phys(table.root()));
    asm volatile("dsb ish; tlbi vmalle1; dsb ish; isb" ::: "memory");
    uint64_t sctlr = MICA_READ_SYSREG(sctlr_el1);
    sctlr = (sctlr | sctlr_m | sctlr_c | sctlr_i) & ~sctlr_a;
    MICA_WRITE_SYSREG(sctlr_el1, sctlr);
    aarch64::isb();
}

void clear_page(void* page) {
    // DC ZVA zeroes one block of 4 << DCZID_EL0.BS bytes (64 on QEMU's CPUs); DZP set means
    // it is not allowed.
    uint64_t dczid = MICA_READ_SYSREG(dczid_el0);
    if (dczid & (1 << 4)) {
        auto* p = static_cast<uint64_t*>(page);
        for (size_t i = 0; i < 4096 / 8; ++i) p[i] = 0;
        return;
    }
    size_t block = size_t{4} << (dczid & 0xf);
    for (auto p = reinterpret_cast<uintptr_t>(page); p < reinterpret_cast<uintptr_t>(page) + 4096; p += block) {
        asm volatile("dc zva, %0" ::"r"(p) : "memory");
    }
}

void* page_table_root() { return mm::phys_to_virt(MICA_READ_SYSREG(ttbr0_el1) & aarch64::PageFormat::address_bits); }

// Without ASIDs the previous table's translations must go: this CPU's only (vmalle1), since
// the other CPUs keep theirs.
void load_page_table(uintptr_t root) {
    asm volatile("dsb ishst" ::: "memory");  // the new table's entries before the walker reads them
    MICA_WRITE_SYSREG(ttbr0_el1, root);
    asm volatile("isb; tlbi vmalle1; dsb nsh; isb" ::: "memory");
}

// TLBI ...IS is broadcast to every CPU in the inner-shareable domain: no IPI needed.
void tlb_invalidate_local(uintptr_t va, size_t length) {
    constexpr size_t full_flush_pages = 64;
    asm volatile("dsb ishst" ::: "memory");
    if (length / 4096 > full_flush_pages) {
        asm volatile("tlbi vmalle1is" ::: "memory");
    } else {
        for (uintptr_t p = va; p < va + length; p += 4096) asm volatile("tlbi vaae1is, %0" ::"r"(p >> 12) : "memory");
    }
    asm volatile("dsb ish; isb" ::: "memory");
}

}  // namespace mica::arch
