// A PCIe host bridge described by the device tree (`pci-host-ecam-generic`, QEMU virt's):
// where its ECAM is, which buses it decodes, the windows that translate PCI addresses to CPU
// addresses (`ranges`), and how its INTx pins reach the interrupt controller
// (`interrupt-map`, `interrupt-map-mask`). Host-tested on blobs dumped from QEMU.
#pragma once

#include <mica/irq.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::fdt {
class Tree;
struct Node;
}  // namespace mica::fdt

namespace mica::pci {

struct Window {
    enum class Kind : uint8_t { io, mem32, mem64 };
    Kind kind;
    bool prefetchable;
    uint64_t pci_address;  // start on the PCI bus
    uint64_t cpu_address;  // where the CPU sees it
    uint64_t size;
};

struct IntxRoute {
    uint32_t child_hi;   // phys.hi of the child unit address (bus/device/function), masked
    uint8_t pin;         // 1-4 (INTA-INTD), masked
    unsigned line;       // the interrupt controller's line (GIC: SPI id = 32 + number)
    irq::LineConfig config;
};

struct FdtHost {
    static constexpr size_t max_windows = 8, max_routes = 64;
    uint64_t ecam_base = 0, ecam_size = 0;
    uint8_t bus_first = 0, bus_last = 0;
    Window windows[max_windows] = {};
    size_t window_count = 0;
    uint32_t map_mask_hi = 0, map_mask_pin = 0;
    IntxRoute routes[max_routes] = {};
    size_t route_count = 0;

    // The line and trigger of INTx `pin` (1-4) of the device at `device` on the root bus
    // (devices behind bridges are first swizzled to their root-bus bridge: swizzle()).
    bool route(uint8_t bus, uint8_t device, uint8_t pin, unsigned& line, irq::LineConfig& config) const;
};

// Reads `node` (a pci-host-ecam-generic node) into `out`; nullptr or what is wrong with it.
const char* parse_fdt_host(const fdt::Tree& tree, const fdt::Node& node, FdtHost& out);

// The standard INTx swizzle across a PCI-to-PCI bridge: the pin a device's `pin` (1-4)
// appears as on the bridge's own bus, for a device in slot `device`.
inline uint8_t swizzle(uint8_t pin, uint8_t device) { return static_cast<uint8_t>((pin - 1 + device) % 4 + 1); }

// Decodes a GIC interrupt specifier (3 cells: type 0 SPI / 1 PPI, number, flags) into the
// interrupt id and trigger; false for a type or flags the GIC cannot take.
bool decode_gic_interrupt(uint32_t type, uint32_t number, uint32_t flags, unsigned& line, irq::LineConfig& config);

}  // namespace mica::pci
