// Final kernel page tables (layout in traits.h): the kernel image and low memory identity-
// mapped with page 0 left unmapped so null pointers fault, the device window [1 GiB, 4 GiB)
// identity-mapped and uncached, and all of RAM (at least 4 GiB of physical addresses, so
// firmware tables and devices below 4 GiB stay reachable) at the direct map. What is left of
// the lower half belongs to applications (mm/vm.cc).
#include <arch/arch.h>
#include <arch/traits.h>
#include <arch/x86_64/cpu.h>
#include <mica/boot.h>
#include <mica/mm/early.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/page_table.h>
#include <mica/mm/phys.h>
#include <mica/panic.h>


namespace mica::arch {
namespace {
constexpr uint64_t small_page = 4096, large_page = 2ull << 20;
bool nx = false;  // owned by the boot CPU: set once before the final page tables

using Table = mm::PageTable<x86::PageFormat>;

bool is_ram(const BootInfo& boot, uint64_t base, uint64_t size) {
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].base < base + size && base < boot.ram[i].end()) return true;
    }
    return false;
}

// Maps [start, end) at `offset + physical` in 2 MiB steps, RAM cached and the rest uncached.
void map_physical(Table& table, const BootInfo& boot, uint64_t start, uint64_t end, uint64_t offset, int prot) {
    for (uint64_t pa = start; pa < end; pa += large_page) {
        mm::MemoryType type = is_ram(boot, pa, large_page) ? mm::MemoryType::normal : mm::MemoryType::device;
        if (!table.map(offset + pa, pa, large_page, {prot, type})) panic("out of memory for the kernel page tables");
    }
}
}  // namespace

}  // namespace mica::arch

namespace mica::x86 {
void enable_nx() {
    constexpr uint32_t nx_cpuid_bit = 1u << 20;
    if (cpuid(0x80000000).eax < 0x80000001 || !(cpuid(0x80000001).edx & nx_cpuid_bit)) return;
    wrmsr(msr_efer, rdmsr(msr_efer) | efer_nxe);
    PageFormat::no_execute = PageFormat::no_execute_bit;
    arch::nx = true;
}
bool nx_enabled() { return arch::nx; }
}  // namespace mica::x86

namespace mica::arch {

void paging_init(const BootInfo& boot) {
    x86::enable_nx();
    uint64_t ram_end = traits::device_identity_end;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].end() > ram_end) ram_end = boot.ram[i].end();
    }
    ram_end = (ram_end + large_page - 1) & ~(large_page - 1);
    uint64_t low_end = (reinterpret_cast<uint64_t>(_kernel_end) + large_page - 1) & ~(large_page - 1);
    if (low_end > traits::device_identity_start) panic("kernel image ends above 1 GiB");

    Table::Memory early{[](void*) { return mm::early_alloc(small_page); }, [](void*, void*) {},
                        [](const void* t) { return mm::virt_to_phys(t); }, [](uintptr_t pa) { return mm::phys_to_virt(pa); },
                        nullptr};
    Table table(mm::early_alloc(small_page), early);
    const int rwx = mm::prot_read | mm::prot_write | mm::prot_exec, rw = mm::prot_read | mm::prot_write;
    // Low memory and the kernel image: 4 KiB pages in the first 2 MiB so page 0 stays unmapped.
    if (!table.map(small_page, small_page, large_page - small_page, {rwx}) ||
        !table.map(large_page, large_page, low_end - large_page, {rwx})) {
        panic("out of memory for the kernel page tables");
    }
    map_physical(table, boot, traits::device_identity_start, traits::device_identity_end, 0, rw);
    map_physical(table, boot, 0, ram_end, traits::direct_map_base, rw);
    x86::write_cr3(mm::virt_to_phys(table.root()));
}

void clear_page(void* page) {
    void* dst = page;
    uint64_t count = small_page / 8;
    asm volatile("rep stosq" : "+D"(dst), "+c"(count) : "a"(uint64_t{0}) : "memory");
}

void* page_table_root() { return mm::phys_to_virt(x86::read_cr3() & x86::PageFormat::address_bits); }

void load_page_table(uintptr_t root) { x86::write_cr3(root); }  // no global pages: a full flush

void tlb_invalidate_local(uintptr_t va, size_t length) {
    constexpr size_t full_flush_pages = 64;  // past this, reloading CR3 is cheaper
    if (length / small_page > full_flush_pages) {
        x86::write_cr3(x86::read_cr3());
        return;
    }
    for (uintptr_t p = va; p < va + length; p += small_page) x86::invlpg(p);
}

}  // namespace mica::arch
