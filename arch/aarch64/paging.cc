// Kernel page tables: an identity map with a 39-bit address space (level 1 start, 4 KiB
// granule). RAM is Normal write-back memory in 1 GiB blocks; the first GiB (devices on QEMU
// virt) is Device memory in 2 MiB blocks with block 0 left unmapped so null pointers fault;
// the rest up to 4 GiB is Device memory. Then the MMU and caches go on.
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <mica/boot.h>
#include <mica/mm/early.h>
#include <mica/mm/memory.h>
#include <string.h>

namespace mica::arch {
namespace {
constexpr uint64_t desc_block = 0x1, desc_table = 0x3;
constexpr uint64_t attr_device = 0 << 2, attr_normal = 1 << 2;  // MAIR indices
constexpr uint64_t mair = 0x04 | (0xffull << 8);                 // 0: Device-nGnRE, 1: Normal WB
constexpr uint64_t access_flag = 1 << 10, inner_shareable = 3 << 8;
constexpr uint64_t never_execute = (1ull << 53) | (1ull << 54);  // PXN | UXN
constexpr uint64_t gib = 1ull << 30, two_mib = 2ull << 20;
constexpr uint64_t va_bits = 39;
constexpr uint64_t device_limit = 4 * gib;
constexpr uint64_t tcr = (64 - va_bits)           // T0SZ
                         | (1 << 8) | (1 << 10)   // inner/outer write-back table walks
                         | (3 << 12)              // inner shareable
                         | (1ull << 23);          // EPD1: no TTBR1 walks
constexpr uint64_t sctlr_m = 1, sctlr_a = 1 << 1, sctlr_c = 1 << 2, sctlr_i = 1 << 12;

uint64_t normal_block(uint64_t pa) { return pa | desc_block | attr_normal | access_flag | inner_shareable; }
uint64_t device_block(uint64_t pa) { return pa | desc_block | attr_device | access_flag | never_execute; }

bool is_ram(const BootInfo& boot, uint64_t base, uint64_t size) {
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].base < base + size && base < boot.ram[i].end()) return true;
    }
    return false;
}
}  // namespace

void paging_init(const BootInfo& boot) {
    auto* l1 = static_cast<uint64_t*>(mm::early_alloc(4096));
    auto* l2 = static_cast<uint64_t*>(mm::early_alloc(4096));
    for (uint64_t i = 1; i < 512; ++i) l2[i] = device_block(i * two_mib);
    l1[0] = reinterpret_cast<uint64_t>(l2) | desc_table;
    for (uint64_t i = 1; i < 512; ++i) {
        uint64_t pa = i * gib;
        if (is_ram(boot, pa, gib)) l1[i] = normal_block(pa);
        else if (pa < device_limit) l1[i] = device_block(pa);
    }
    // Physical address size from the CPU (ID_AA64MMFR0_EL1.PARange) into TCR_EL1.IPS.
    uint64_t ips = MICA_READ_SYSREG(id_aa64mmfr0_el1) & 0x7;
    MICA_WRITE_SYSREG(mair_el1, mair);
    MICA_WRITE_SYSREG(tcr_el1, tcr | (ips << 32));
    MICA_WRITE_SYSREG(ttbr0_el1, reinterpret_cast<uint64_t>(l1));
    asm volatile("dsb ish; tlbi vmalle1; dsb ish; isb" ::: "memory");
    uint64_t sctlr = MICA_READ_SYSREG(sctlr_el1);
    sctlr = (sctlr | sctlr_m | sctlr_c | sctlr_i) & ~sctlr_a;
    MICA_WRITE_SYSREG(sctlr_el1, sctlr);
    aarch64::isb();
}

bool map_kernel_page(uintptr_t va, uintptr_t pa) {
    auto* table = reinterpret_cast<uint64_t*>(MICA_READ_SYSREG(ttbr0_el1) & 0xfffffffff000ull);
    for (int shift = 30; shift > 12; shift -= 9) {
        uint64_t& entry = table[(va >> shift) % 512];
        if (!(entry & 1)) {
            void* fresh = mm::alloc_pages(0);
            if (!fresh) return false;
            memset(fresh, 0, 4096);
            asm volatile("dsb ishst" ::: "memory");  // the zeroed table before the pointer to it
            entry = reinterpret_cast<uint64_t>(fresh) | desc_table;
        }
        table = reinterpret_cast<uint64_t*>(entry & 0xfffffffff000ull);
    }
    constexpr uint64_t desc_page = 0x3;
    table[(va >> 12) % 512] = pa | desc_page | attr_normal | access_flag | inner_shareable | never_execute;
    asm volatile("dsb ishst; isb" ::: "memory");
    return true;
}

}  // namespace mica::arch
