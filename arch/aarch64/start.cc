// First C++ code on aarch64: read memory, command line and reserved regions from the device
// tree into a BootInfo and enter the kernel.
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <mica/boot.h>
#include <mica/cxx_runtime.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/mm/early.h>
#include <string.h>

namespace {


// Owned by the boot CPU: everything kernel_main needs.
constinit mica::BootInfo boot_info;
constexpr uint64_t mpidr_affinity = 0xff00ffffffull;  // Aff3, Aff2, Aff1, Aff0
char cmdline[mica::BootInfo::max_cmdline];

void read_device_tree(const void* blob) {
    boot_info.protocol = "arm64 image + device tree";
    mica::fdt::Tree tree;
    if (mica::fdt::Error e = tree.open(blob, mica::drivers::fdt_max_size); e != mica::fdt::Error::none) {
        boot_info.error = mica::fdt::error_string(e);
        return;
    }
    boot_info.device_tree = blob;
    mica::drivers::set_device_tree(tree);
    auto base = reinterpret_cast<uintptr_t>(blob);
    // Only the blob's used part: QEMU's says 1 MiB, a quarter of a 4 MiB machine, for ~8 KiB.
    boot_info.add_reserved(base, tree.used_size());
    uint64_t addr, size;
    for (size_t i = 0; tree.reserved_entry(i, addr, size); ++i) boot_info.add_reserved(addr, size);

    for (auto mem = tree.find_device_type("memory"); mem.valid; mem = tree.find_device_type("memory", mem)) {
        for (size_t i = 0; tree.reg(mem, i, addr, size); ++i) {
            if (size && boot_info.ram_count < mica::BootInfo::max_ram_ranges) {
                boot_info.ram[boot_info.ram_count++] = {addr, size};
            }
        }
    }
    if (boot_info.ram_count == 0) boot_info.error = "device tree has no memory node";

    // CPUs: /cpus/cpu@N nodes, whose reg is the MPIDR affinity; the boot CPU goes first.
    uint64_t self = MICA_READ_SYSREG(mpidr_el1) & mpidr_affinity;
    boot_info.add_cpu(self);
    for (auto cpu = tree.find_device_type("cpu"); cpu.valid; cpu = tree.find_device_type("cpu", cpu)) {
        if (tree.reg(cpu, 0, addr, size) && (addr & mpidr_affinity) != self) boot_info.add_cpu(addr & mpidr_affinity);
    }

    // QEMU's -initrd: /chosen linux,initrd-start and -end, each one or two cells.
    mica::fdt::Node chosen = tree.find_path("/chosen");
    mica::fdt::Property start = tree.property(chosen, "linux,initrd-start");
    mica::fdt::Property end = tree.property(chosen, "linux,initrd-end");
    auto cells = [](const mica::fdt::Property& p) {
        return p.length == 8 ? (uint64_t{p.u32(0)} << 32) | p.u32(1) : p.length == 4 ? p.u32(0) : 0;
    };
    if (start.found() && end.found() && cells(end) > cells(start)) {
        boot_info.initrd = {cells(start), cells(end) - cells(start)};
        boot_info.add_reserved(boot_info.initrd.base, boot_info.initrd.size);
    }

    mica::fdt::Property args = tree.property(chosen, "bootargs");
    if (args.length >= sizeof(cmdline)) {
        boot_info.error = "kernel command line longer than 4095 bytes";
        return;
    }
    memcpy(cmdline, args.string(), strlen(args.string()) + 1);
    boot_info.cmdline = cmdline;
}

}  // namespace

extern "C" uint64_t boot_entry_cycles;

extern "C" [[noreturn]] void aarch64_start(const void* device_tree) {
    boot_info.entry_cycles = boot_entry_cycles;
    mica::arch::set_cpu_index(0);
    mica::run_global_constructors();
    mica::arch::cpu_init();
    read_device_tree(device_tree);
    mica::mm::early_init(boot_info, ~uint64_t{0});  // MMU off: all of RAM is reachable
    mica::kernel_main(boot_info);
}
