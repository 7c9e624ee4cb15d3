// PCI bus enumeration through the legacy configuration mechanism (ports 0xcf8/0xcfc).
// Today it finds and lists devices (--verbose); device drivers will attach here.
#include <arch/x86_64/io.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uint16_t config_address = 0xcf8, config_data = 0xcfc;
constexpr uint32_t enable_bit = 0x80000000u;
constexpr uint16_t no_device = 0xffff;
constexpr uint8_t header_multifunction = 0x80;

uint32_t read32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset) {
    x86::outl(config_address, enable_bit | (uint32_t{bus} << 16) | (uint32_t{device} << 11) |
                                  (uint32_t{function} << 8) | (offset & 0xfc));
    return x86::inl(config_data);
}

// Owned here: number of functions found, for the boot log.
unsigned functions_found = 0;
constexpr uint8_t class_bridge = 0x06, subclass_pci_bridge = 0x04;
constexpr int max_bridge_depth = 8;

void scan_bus(uint8_t bus, int depth);

void probe(uint8_t bus, uint8_t device, uint8_t function, int depth) {
    uint32_t id = read32(bus, device, function, 0);
    if ((id & 0xffff) == no_device) return;
    uint32_t class_reg = read32(bus, device, function, 8);
    ++functions_found;
    if (verbose()) {
        kprintf("mica: pci %02x:%02x.%x vendor %04x device %04x class %02x.%02x\n", bus, device, function,
                id & 0xffff, id >> 16, class_reg >> 24, (class_reg >> 16) & 0xff);
    }
    // Follow PCI-to-PCI bridges to the buses behind them (a depth limit guards against a
    // misprogrammed bridge that points back up the tree).
    if ((class_reg >> 24) == class_bridge && ((class_reg >> 16) & 0xff) == subclass_pci_bridge &&
        depth < max_bridge_depth) {
        uint8_t secondary = (read32(bus, device, function, 0x18) >> 8) & 0xff;
        if (secondary > bus) scan_bus(secondary, depth + 1);
    }
}

void scan_bus(uint8_t bus, int depth) {
    for (uint8_t device = 0; device < 32; ++device) {
        if ((read32(bus, device, 0, 0) & 0xffff) == no_device) continue;
        bool multi = (read32(bus, device, 0, 0x0c) >> 16) & header_multifunction;
        for (uint8_t f = 0; f < (multi ? 8 : 1); ++f) probe(bus, device, f, depth);
    }
}

bool init() {
    // Probe for the mechanism: the address register must read back what was written.
    x86::outl(config_address, enable_bit);
    if (x86::inl(config_address) != enable_bit) return false;
    scan_bus(0, 0);
    return functions_found > 0;
}
}  // namespace

extern const Driver pci_driver{"pci", Phase::bus, init};

}  // namespace mica::drivers
