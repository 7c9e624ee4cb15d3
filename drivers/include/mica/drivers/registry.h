// Driver registration: an explicit table (drivers/registry.cc) built from driver-config.h,
// so a kernel contains and initialises exactly the drivers its profile selects.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::fdt {
class Tree;
}

namespace mica::drivers {

// Largest device tree blob accepted (the arm64 boot protocol's limit).
inline constexpr unsigned long fdt_max_size = 2ul << 20;

enum class Phase {
    console,   // before anything else prints
    platform,  // exit methods, clock calibration: before the command line is acted on
    bus,       // buses and interrupt routing (PCI enumeration, I/O APIC), once memory is up
    devices,   // device drivers (virtio), once the scheduler and every CPU run: probes may sleep
};

struct Driver {
    const char* name;
    Phase phase;
    // Returns false when the hardware is absent (not an error: one kernel, many machines).
    bool (*init)();
};

void init(Phase phase);
// The platform's device tree, for drivers that discover their devices in it (nullptr when
// the platform has none, e.g. x86 PVH). The arch boot code hands over the tree it already
// validated, so the blob is walked once per boot.
void set_device_tree(const fdt::Tree& tree);
const fdt::Tree* device_tree();
// The ACPI DSDT (physical address and length, checksummed by the arch code), for drivers
// whose devices only it describes; false when the platform has none.
void set_acpi_dsdt(uint64_t physical, size_t length);
bool acpi_dsdt(uint64_t& physical, size_t& length);
void set_verbose(bool on);
bool verbose();

}  // namespace mica::drivers
