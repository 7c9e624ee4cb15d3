// The x86 PCI host: configuration space through the legacy mechanism (ports 0xcf8/0xcfc,
// QEMU pc and q35), BARs as the firmware assigned them, and INTx through the interrupt line
// register the firmware programmed: an ISA IRQ number, mapped to a GSI and trigger through
// the ACPI MADT's interrupt source overrides. PCI interrupts are level-triggered; QEMU's
// chipsets present them active-high at the I/O APIC (its PIIX/ICH router inverts PCI's
// active-low), so that is the default where no override says otherwise.
#include <arch/x86_64/acpi.h>
#include <arch/x86_64/io.h>
#include <mica/drivers/registry.h>
#include <mica/pci/pci.h>
#include <mica/sched/spinlock.h>
#include "isa_irq.h"

namespace mica::drivers {
namespace {
constexpr uint16_t config_address = 0xcf8, config_data = 0xcfc;
constexpr uint32_t enable_bit = 0x80000000u;
constexpr uint8_t reg_interrupt_line = 0x3c;
constexpr uint8_t no_line = 0xff, isa_irqs = 16;
constexpr int errno_nodev = 19;

// Owned here: serialises address/data pairs between CPUs.
sched::Spinlock config_lock;

uint32_t address_of(pci::Address a, uint16_t offset) {
    return enable_bit | (uint32_t{a.bus} << 16) | (uint32_t{a.device} << 11) | (uint32_t{a.function} << 8) |
           (offset & 0xfc);
}

uint32_t read(pci::Address a, uint16_t offset, unsigned size) {
    sched::SpinGuard guard(config_lock);
    x86::outl(config_address, address_of(a, offset));
    uint32_t v = x86::inl(config_data);
    v >>= (offset & 3) * 8;
    return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

void write(pci::Address a, uint16_t offset, unsigned size, uint32_t value) {
    sched::SpinGuard guard(config_lock);
    x86::outl(config_address, address_of(a, offset));
    uint16_t port = static_cast<uint16_t>(config_data + (offset & 3));
    if (size == 1) x86::outb(port, static_cast<uint8_t>(value));
    else if (size == 2) x86::outw(port, static_cast<uint16_t>(value));
    else x86::outl(config_data, value);
}

int route_intx(const pci::Device& d, uint8_t, uint8_t, uint8_t, unsigned& line, irq::LineConfig& config) {
    uint8_t isa = d.read8(reg_interrupt_line);
    if (isa == no_line || isa == 0) return -errno_nodev;  // the firmware routed nothing
    config = {irq::Trigger::level, irq::Polarity::high};
    line = isa < isa_irqs ? x86_isa::gsi(isa, config) : isa;
    return 0;
}

const pci::Host legacy_host{"legacy", read, write, route_intx, 0, 255, false, {}, 0};

bool init() {
    // Probe for the mechanism: the address register must read back what was written.
    x86::outl(config_address, enable_bit);
    if (x86::inl(config_address) != enable_bit) return false;
    pci::enumerate(legacy_host);
    return pci::device_count() > 0;
}
}  // namespace

extern const Driver pci_driver{"pci", Phase::bus, init};

}  // namespace mica::drivers
