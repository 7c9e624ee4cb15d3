// Just enough ACPI for boot: find the MADT and list the CPUs' local APIC ids. The RSDP comes
// from the PVH start info, or from the BIOS area scan the ACPI spec allows. Every table is
// checked (signature, length, checksum) before use; a missing or broken table leaves the
// kernel on one CPU rather than trusting garbage.
#include <arch/x86_64/acpi.h>
#include <mica/boot.h>
#include <string.h>

namespace mica::x86 {
namespace {

constexpr uintptr_t bios_area_start = 0xe0000, bios_area_end = 0x100000;
constexpr uint32_t max_table_length = 1 << 20;
constexpr uint8_t madt_local_apic = 0, madt_io_apic = 1, madt_interrupt_override = 2, madt_local_x2apic = 9;
constexpr uint8_t madt_io_apic_length = 12, madt_interrupt_override_length = 10;

// Owned here: written once by read_cpus_from_acpi on the boot CPU, read-only afterwards.
InterruptRouting routing;
constexpr uint32_t lapic_enabled = 1, lapic_online_capable = 2;

struct [[gnu::packed]] Rsdp {
    char signature[8];
    uint8_t checksum;
    char oem[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t extended_checksum;
    uint8_t reserved[3];
};

struct [[gnu::packed]] SdtHeader {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem[6], oem_table[8];
    uint32_t oem_revision, creator, creator_revision;
};

bool checksum_ok(const void* p, size_t n) {
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + static_cast<const uint8_t*>(p)[i]);
    return sum == 0;
}

const Rsdp* valid_rsdp(uintptr_t addr) {
    auto* r = reinterpret_cast<const Rsdp*>(addr);
    if (memcmp(r->signature, "RSD PTR ", 8) != 0 || !checksum_ok(r, 20)) return nullptr;
    return r;
}

const SdtHeader* valid_table(uint64_t addr, const char* signature) {
    if (!addr || addr >= (4ull << 30)) return nullptr;  // only the identity-mapped low 4 GiB
    auto* h = reinterpret_cast<const SdtHeader*>(addr);
    if (memcmp(h->signature, signature, 4) != 0 || h->length < sizeof(SdtHeader) || h->length > max_table_length) {
        return nullptr;
    }
    return checksum_ok(h, h->length) ? h : nullptr;
}

const SdtHeader* find_table(const Rsdp* rsdp, const char* signature) {
    bool use_xsdt = rsdp->revision >= 2 && rsdp->xsdt;
    const SdtHeader* root = use_xsdt ? valid_table(rsdp->xsdt, "XSDT") : valid_table(rsdp->rsdt, "RSDT");
    if (!root) return nullptr;
    size_t entry_size = use_xsdt ? 8 : 4;
    size_t count = (root->length - sizeof(SdtHeader)) / entry_size;
    auto* entries = reinterpret_cast<const uint8_t*>(root + 1);
    for (size_t i = 0; i < count; ++i) {
        uint64_t addr = 0;
        memcpy(&addr, entries + i * entry_size, entry_size);
        if (const SdtHeader* t = valid_table(addr, signature)) return t;
    }
    return nullptr;
}

}  // namespace

void read_cpus_from_acpi(uint64_t rsdp_address, uint32_t boot_apic_id, BootInfo& boot) {
    boot.cpu_count = boot.cpus_described = 0;
    boot.add_cpu(boot_apic_id);
    const Rsdp* rsdp = rsdp_address ? valid_rsdp(rsdp_address) : nullptr;
    for (uintptr_t p = bios_area_start; !rsdp && p < bios_area_end; p += 16) rsdp = valid_rsdp(p);
    const SdtHeader* madt = rsdp ? find_table(rsdp, "APIC") : nullptr;
    // The DSDT, for the devices only it describes (QEMU microvm's virtio-mmio transports).
    if (const SdtHeader* fadt = rsdp ? find_table(rsdp, "FACP") : nullptr) {
        constexpr size_t fadt_dsdt = 40, fadt_x_dsdt = 140;
        uint32_t dsdt32 = 0;
        uint64_t dsdt64 = 0;
        memcpy(&dsdt32, reinterpret_cast<const uint8_t*>(fadt) + fadt_dsdt, 4);
        if (fadt->length >= fadt_x_dsdt + 8) memcpy(&dsdt64, reinterpret_cast<const uint8_t*>(fadt) + fadt_x_dsdt, 8);
        uint64_t address = dsdt64 ? dsdt64 : dsdt32;
        if (const SdtHeader* dsdt = valid_table(address, "DSDT")) {
            routing.dsdt_address = address;
            routing.dsdt_length = dsdt->length;
        }
    }
    if (!madt) return;
    routing.from_madt = true;
    constexpr size_t madt_fixed = sizeof(SdtHeader) + 8;  // local APIC address, flags
    auto* p = reinterpret_cast<const uint8_t*>(madt) + madt_fixed;
    auto* end = reinterpret_cast<const uint8_t*>(madt) + madt->length;
    while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
        uint32_t apic_id = 0, flags = 0;
        bool cpu = false;
        if (p[0] == madt_local_apic && p[1] >= 8) {
            apic_id = p[3];
            memcpy(&flags, p + 4, 4);
            cpu = true;
        } else if (p[0] == madt_local_x2apic && p[1] >= 16) {
            memcpy(&apic_id, p + 4, 4);
            memcpy(&flags, p + 8, 4);
            cpu = true;
        }
        if (p[0] == madt_io_apic && p[1] >= madt_io_apic_length && routing.ioapic_count < InterruptRouting::max_ioapics) {
            uint32_t address, gsi_base;
            memcpy(&address, p + 4, 4);
            memcpy(&gsi_base, p + 8, 4);
            routing.ioapics[routing.ioapic_count++] = IoApicEntry{address, gsi_base, p[2]};
        } else if (p[0] == madt_interrupt_override && p[1] >= madt_interrupt_override_length &&
                   routing.override_count < InterruptRouting::max_overrides) {
            uint32_t gsi;
            uint16_t inti;
            memcpy(&gsi, p + 4, 4);
            memcpy(&inti, p + 8, 2);
            routing.overrides[routing.override_count++] = IsaOverride{p[3], gsi, inti};
        }
        if (cpu && (flags & (lapic_enabled | lapic_online_capable)) && apic_id != boot_apic_id) boot.add_cpu(apic_id);
        p += p[1];
    }
}

const InterruptRouting& interrupt_routing() { return routing; }

}  // namespace mica::x86
