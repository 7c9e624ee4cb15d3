// ACPI tables, only what boot needs (the MADT's list of CPUs).
#pragma once

#include <stdint.h>

namespace mica {
struct BootInfo;
}

namespace mica::x86 {

// Fills boot.cpu_hw_ids with the boot CPU's APIC id first, then every other enabled or
// online-capable CPU the MADT lists; just the boot CPU when there is no valid MADT.
void read_cpus_from_acpi(uint64_t rsdp_address, uint32_t boot_apic_id, BootInfo& boot);

}  // namespace mica::x86
