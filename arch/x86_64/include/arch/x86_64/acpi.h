// ACPI tables, only what boot needs: the MADT's CPUs, I/O APICs and ISA interrupt overrides.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica {
struct BootInfo;
}

namespace mica::x86 {

// Fills boot.cpu_hw_ids with the boot CPU's APIC id first, then every other enabled or
// online-capable CPU the MADT lists; just the boot CPU when there is no valid MADT.
// Also records the MADT's I/O APICs and interrupt source overrides (interrupt_routing()).
void read_cpus_from_acpi(uint64_t rsdp_address, uint32_t boot_apic_id, BootInfo& boot);

// How device interrupts reach the CPUs, from the MADT (empty without one).
struct IoApicEntry {
    uint64_t address;
    uint32_t gsi_base;
    uint8_t id;
};
struct IsaOverride {
    uint8_t source;   // ISA IRQ
    uint32_t gsi;
    uint16_t flags;   // MPS INTI flags: polarity bits 0-1, trigger bits 2-3 (0: bus default)
};
struct InterruptRouting {
    static constexpr size_t max_ioapics = 8, max_overrides = 16;
    IoApicEntry ioapics[max_ioapics] = {};
    size_t ioapic_count = 0;
    IsaOverride overrides[max_overrides] = {};
    size_t override_count = 0;
    bool from_madt = false;
    uint64_t dsdt_address = 0;  // the DSDT (checksummed), physical; 0 without one
    uint32_t dsdt_length = 0;
};
const InterruptRouting& interrupt_routing();

}  // namespace mica::x86
