// What the architecture's boot code hands to kernel_main(): an arch-neutral summary of the
// boot protocol (PVH start info on x86_64).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica {

struct MemoryRange {
    uint64_t base;
    uint64_t size;
    uint64_t end() const { return base + size; }
};

struct BootInfo {
    static constexpr size_t max_ram_ranges = 32;
    static constexpr size_t max_reserved = 8;
    static constexpr size_t max_cmdline = 4096;

    MemoryRange ram[max_ram_ranges] = {};
    size_t ram_count = 0;
    // RAM the page allocator must not hand out besides the kernel image and early
    // allocations: firmware areas, the device tree blob, ...
    MemoryRange reserved[max_reserved] = {};
    size_t reserved_count = 0;
    const void* device_tree = nullptr;  // flattened device tree, where the platform has one
    // CPUs the firmware describes, boot CPU first: hardware ids (APIC id, MPIDR affinity).
    // `cpus_described` counts them all, also those beyond the table (the kernel refuses to
    // boot on more CPUs than it supports rather than leave some unused without a word).
    static constexpr size_t max_cpus = 64;
    uint64_t cpu_hw_ids[max_cpus] = {};
    size_t cpu_count = 0;
    size_t cpus_described = 0;
    const char* cmdline = "";      // copied into kernel memory by the arch code
    // The initial RAM disk the boot loader placed (QEMU -initrd): physical range, also in
    // `reserved`; size 0 when there is none.
    MemoryRange initrd = {};
    const char* protocol = "";     // e.g. "pvh"
    uint64_t entry_cycles = 0;     // cycle counter at the kernel's first instruction
    // Set by the arch code when the boot protocol data is unusable; kernel_main reports it
    // once a console exists.
    const char* error = nullptr;
    void add_cpu(uint64_t hw_id) {
        if (cpu_count < max_cpus) cpu_hw_ids[cpu_count++] = hw_id;
        ++cpus_described;
    }
    bool add_reserved(uint64_t base, uint64_t size) {
        if (reserved_count == max_reserved) return false;
        reserved[reserved_count++] = {base, size};
        return true;
    }
    uint64_t ram_bytes() const {
        uint64_t total = 0;
        for (size_t i = 0; i < ram_count; ++i) total += ram[i].size;
        return total;
    }
};

// Arch-neutral kernel entry, called once on the boot CPU.
[[noreturn]] void kernel_main(BootInfo& boot);

}  // namespace mica

// Kernel image bounds from the linker script.
extern "C" char _kernel_start[], _kernel_end[];
