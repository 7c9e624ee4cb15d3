// First C++ code on x86_64: turn the PVH start info into a BootInfo and enter the kernel.
#include <arch/arch.h>
#include <arch/x86_64/acpi.h>
#include <mica/drivers/registry.h>
#include <arch/x86_64/cpu.h>
#include <mica/boot.h>
#include <mica/cxx_runtime.h>
#include <mica/mm/early.h>
#include <string.h>

namespace {

constexpr uint32_t pvh_magic = 0x336ec578;
constexpr uint32_t e820_ram = 1;
constexpr uint64_t boot_map_limit = 4ull << 30;  // boot.S identity-maps the first 4 GiB
// The first 64 KiB hold the real-mode IVT and BIOS data, the loader's PVH start info (read
// before the page allocator exists) and the SMP trampoline (smp.cc, at 0x8000): never handed
// out. The rest of the RAM below 1 MiB (about 576 KiB of the 640 the memory map lists) is
// handed out like any other: on a 4 MiB machine that is a fifth of its memory. The VGA window
// and ROMs above 640 KiB are never RAM in the map; reserved all the same.
constexpr uint64_t low_reserved_end = 0x10000;
constexpr uint64_t legacy_hole_start = 0xa0000, low_memory_end = 0x100000;

struct HvmStartInfo {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;  // version >= 1
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct HvmModlistEntry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct HvmMemmapEntry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

// Owned by the boot CPU: everything kernel_main needs, copied out of loader memory.
constinit mica::BootInfo boot_info;
char cmdline[mica::BootInfo::max_cmdline];

void read_start_info(const HvmStartInfo* info) {
    boot_info.protocol = "pvh";
    if (info->magic != pvh_magic) {
        boot_info.error = "bad hvm_start_info magic (not booted through PVH?)";
        return;
    }
    if (info->cmdline_paddr) {
        const char* src = reinterpret_cast<const char*>(info->cmdline_paddr);
        size_t n = strnlen(src, sizeof(cmdline));
        if (n == sizeof(cmdline)) {
            boot_info.error = "kernel command line longer than 4095 bytes";
            return;
        }
        memcpy(cmdline, src, n + 1);
    }
    boot_info.cmdline = cmdline;
    if (info->version < 1 || info->memmap_entries == 0) {
        boot_info.error = "no memory map in hvm_start_info (version 0 loader)";
        return;
    }
    auto* map = reinterpret_cast<const HvmMemmapEntry*>(info->memmap_paddr);
    for (uint32_t i = 0; i < info->memmap_entries; ++i) {
        if (map[i].type != e820_ram || map[i].size == 0) continue;
        if (boot_info.ram_count == mica::BootInfo::max_ram_ranges) break;  // rest is ignored
        boot_info.ram[boot_info.ram_count++] = {map[i].addr, map[i].size};
    }
    if (boot_info.ram_count == 0) boot_info.error = "memory map has no RAM";
    boot_info.add_reserved(0, low_reserved_end);
    boot_info.add_reserved(legacy_hole_start, low_memory_end - legacy_hole_start);
    // QEMU passes -initrd as the first (only) module.
    if (info->nr_modules && info->modlist_paddr) {
        auto* module = reinterpret_cast<const HvmModlistEntry*>(info->modlist_paddr);
        if (module->size) {
            boot_info.initrd = {module->paddr, module->size};
            if (!boot_info.add_reserved(module->paddr, module->size)) boot_info.error = "too many reserved ranges";
        }
    }
    uint32_t boot_apic_id = mica::x86::cpuid(1).ebx >> 24;
    mica::x86::read_cpus_from_acpi(info->rsdp_paddr, boot_apic_id, boot_info);
    const auto& routing = mica::x86::interrupt_routing();
    if (routing.dsdt_address) {
        // The drivers read the DSDT after boot: wherever the firmware put it, it stays.
        mica::drivers::set_acpi_dsdt(routing.dsdt_address, routing.dsdt_length);
        if (!boot_info.add_reserved(routing.dsdt_address, routing.dsdt_length)) boot_info.error = "too many reserved ranges";
    }
}

}  // namespace

extern "C" uint64_t boot_entry_tsc;

extern "C" [[noreturn]] void x86_64_start(const HvmStartInfo* info) {
    boot_info.entry_cycles = boot_entry_tsc;
    mica::arch::set_cpu_index(0);
    mica::run_global_constructors();
    mica::arch::cpu_init();
    read_start_info(info);
    mica::mm::early_init(boot_info, boot_map_limit);
    mica::kernel_main(boot_info);
}
