// Final kernel page tables: identity map of [0, max(4 GiB, end of RAM)) with 2 MiB pages,
// except the first 2 MiB, mapped with 4 KiB pages so that page 0 can stay unmapped and null
// pointer accesses fault. The region above RAM up to 4 GiB stays mapped, uncached, for device
// registers (the local APIC, PCI BARs).
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <mica/boot.h>
#include <mica/mm/early.h>
#include <mica/mm/memory.h>
#include <string.h>

namespace mica::arch {
namespace {
constexpr uint64_t pte_present = 1, pte_write = 2, pte_huge = 0x80;
constexpr uint64_t pte_uncached = 0x18;  // PCD | PWT: device registers must not be cached
constexpr uint64_t small_page = 4096, large_page = 2ull << 20;
constexpr uint64_t min_mapped = 4ull << 30;
constexpr int entries = 512;

uint64_t* new_table() { return static_cast<uint64_t*>(mm::early_alloc(small_page)); }

// Returns the next-level table for `entry`, creating it when absent.
uint64_t* next_level(uint64_t& entry) {
    if (!(entry & pte_present)) entry = reinterpret_cast<uint64_t>(new_table()) | pte_present | pte_write;
    return reinterpret_cast<uint64_t*>(entry & ~0xfffull);
}
}  // namespace

void paging_init(const BootInfo& boot) {
    uint64_t end = min_mapped;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].end() > end) end = boot.ram[i].end();
    }
    end = (end + large_page - 1) & ~(large_page - 1);

    uint64_t* pml4 = new_table();
    for (uint64_t addr = 0; addr < end; addr += large_page) {
        uint64_t* pdpt = next_level(pml4[(addr >> 39) % entries]);
        uint64_t* pd = next_level(pdpt[(addr >> 30) % entries]);
        if (addr == 0) {
            uint64_t* pt = next_level(pd[0]);
            for (int i = 1; i < entries; ++i) pt[i] = i * small_page | pte_present | pte_write;
        } else {
            bool ram = false;
            for (size_t i = 0; i < boot.ram_count; ++i) {
                ram |= boot.ram[i].base < addr + large_page && addr < boot.ram[i].end();
            }
            pd[(addr >> 21) % entries] = addr | pte_present | pte_write | pte_huge | (ram ? 0 : pte_uncached);
        }
    }
    x86::write_cr3(reinterpret_cast<uint64_t>(pml4));
}

bool map_kernel_page(uintptr_t va, uintptr_t pa) {
    auto* table = reinterpret_cast<uint64_t*>(x86::read_cr3() & ~0xfffull);
    for (int shift = 39; shift > 12; shift -= 9) {
        uint64_t& entry = table[(va >> shift) % entries];
        if (!(entry & pte_present)) {
            void* fresh = mm::alloc_pages(0);
            if (!fresh) return false;
            memset(fresh, 0, small_page);
            entry = reinterpret_cast<uint64_t>(fresh) | pte_present | pte_write;
        }
        table = reinterpret_cast<uint64_t*>(entry & ~0xfffull);
    }
    table[(va >> 12) % entries] = pa | pte_present | pte_write;
    asm volatile("invlpg (%0)" ::"r"(va) : "memory");
    return true;
}

}  // namespace mica::arch
