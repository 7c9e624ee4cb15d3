#include <mica/console.h>
#include <mica/driver-config.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {

// Each driver defines one Driver object; only enabled drivers are compiled and linked.
extern const Driver uart16550_driver, debugcon_driver, pci_driver, pit_driver, isa_debug_exit_driver,
    i8042_reset_driver, pl011_driver, psci_driver, semihosting_exit_driver, gic_driver, cmos_rtc_driver, pl031_driver,
    ioapic_driver, virtio_mmio_driver, pci_drivers_driver, uart16550_input_driver, pl011_input_driver;

namespace {
const Driver* const table[] = {
#if CONF_drivers_uart16550
    &uart16550_driver,
#endif
#if CONF_drivers_debugcon
    &debugcon_driver,
#endif
#if CONF_drivers_pl011
    &pl011_driver,
#endif
#if CONF_drivers_semihosting_exit
    &semihosting_exit_driver,  // before PSCI: it can report the status, PSCI cannot
#endif
#if CONF_drivers_psci
    &psci_driver,
#endif
#if CONF_drivers_gic
    &gic_driver,
#endif
#if CONF_drivers_isa_debug_exit
    &isa_debug_exit_driver,
#endif
#if CONF_drivers_i8042_reset
    &i8042_reset_driver,
#endif
#if CONF_drivers_pit
    &pit_driver,
#endif
#if CONF_drivers_ioapic
    &ioapic_driver,  // before PCI: INTx lines go through it
#endif
#if CONF_drivers_pci
    &pci_driver,
    &pci_drivers_driver,
#endif
#if CONF_drivers_virtio_mmio
    &virtio_mmio_driver,
#endif
// Console input (devices phase: after the interrupt controllers).
#if CONF_drivers_uart16550
    &uart16550_input_driver,
#endif
#if CONF_drivers_pl011
    &pl011_input_driver,
#endif
#if CONF_drivers_cmos_rtc
    &cmos_rtc_driver,
#endif
#if CONF_drivers_pl031
    &pl031_driver,
#endif
    nullptr,  // keeps the array non-empty for driver-less configurations
};
bool verbose_output = false;  // set once from --verbose
fdt::Tree tree;               // the boot device tree, set once by set_device_tree()
bool have_tree = false;
uint64_t dsdt_physical = 0;  // set once by the arch boot code
size_t dsdt_length = 0;
}  // namespace

void set_acpi_dsdt(uint64_t physical, size_t length) {
    dsdt_physical = physical;
    dsdt_length = length;
}

bool acpi_dsdt(uint64_t& physical, size_t& length) {
    physical = dsdt_physical;
    length = dsdt_length;
    return dsdt_physical != 0;
}

void set_device_tree(const fdt::Tree& validated) {
    tree = validated;
    have_tree = true;
}

const fdt::Tree* device_tree() { return have_tree ? &tree : nullptr; }

void set_verbose(bool on) { verbose_output = on; }
bool verbose() { return verbose_output; }

void init(Phase phase) {
    for (const Driver* d : table) {
        if (!d || d->phase != phase) continue;
        bool present = d->init();
        if (verbose_output) kprintf("mica: driver %-16s %s\n", d->name, present ? "ready" : "no device");
    }
}

}  // namespace mica::drivers
