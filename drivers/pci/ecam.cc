// PCIe through the ECAM of the device tree's generic host bridge (QEMU virt): configuration
// space is memory (1 MiB per bus, 4 KiB per function), mapped with mm::vm::map_device (virt
// puts it at 0x4010000000, above the identity map). Nothing assigns BARs on a -kernel boot,
// so the core assigns them from the node's `ranges`; INTx follows its interrupt-map.
#include <mica/console.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/mm/vm.h>
#include <mica/pci/fdt_host.h>
#include <mica/pci/pci.h>

namespace mica::drivers {
namespace {
constexpr unsigned bus_shift = 20, device_shift = 15, function_shift = 12;
constexpr int errno_nodev = 19;

// Owned here, set once by init: the parsed node, the ECAM's kernel address and the host.
pci::FdtHost fdt_host;
uint8_t* ecam = nullptr;
pci::Host host;

volatile uint8_t* config(pci::Address a, uint16_t offset) {
    return ecam + ((uintptr_t{a.bus} - fdt_host.bus_first) << bus_shift) + (uintptr_t{a.device} << device_shift) +
           (uintptr_t{a.function} << function_shift) + offset;
}

uint32_t read(pci::Address a, uint16_t offset, unsigned size) {
    volatile uint8_t* p = config(a, offset);
    if (size == 1) return *p;
    if (size == 2) return *reinterpret_cast<volatile uint16_t*>(p);
    return *reinterpret_cast<volatile uint32_t*>(p);
}

void write(pci::Address a, uint16_t offset, unsigned size, uint32_t value) {
    volatile uint8_t* p = config(a, offset);
    if (size == 1) *p = static_cast<uint8_t>(value);
    else if (size == 2) *reinterpret_cast<volatile uint16_t*>(p) = static_cast<uint16_t>(value);
    else *reinterpret_cast<volatile uint32_t*>(p) = value;
}

int route_intx(const pci::Device&, uint8_t bus, uint8_t device, uint8_t pin, unsigned& line, irq::LineConfig& config) {
    return fdt_host.route(bus, device, pin, line, config) ? 0 : -errno_nodev;
}

bool init() {
    const fdt::Tree* tree = device_tree();
    if (!tree) return false;
    fdt::Node node = tree->find_compatible("pci-host-ecam-generic");
    if (!node.valid) return false;
    if (const char* problem = pci::parse_fdt_host(*tree, node, fdt_host)) {
        kprintf("mica: pci: device tree node %s: %s\n", tree->name(node), problem);
        return false;
    }
    size_t buses = size_t{fdt_host.bus_last} - fdt_host.bus_first + 1;
    ecam = static_cast<uint8_t*>(mm::vm::map_device(fdt_host.ecam_base, buses << bus_shift));
    if (!ecam) {
        kprintf("mica: pci: cannot map the ECAM at %#llx\n", (unsigned long long)fdt_host.ecam_base);
        return false;
    }
    host = pci::Host{"ecam", read, write, route_intx, fdt_host.bus_first, fdt_host.bus_last, true, {}, 0};
    for (size_t i = 0; i < fdt_host.window_count && host.window_count < pci::Host::max_windows; ++i) {
        const pci::Window& w = fdt_host.windows[i];
        if (w.kind == pci::Window::Kind::io) continue;  // I/O BARs are not used
        host.windows[host.window_count++] = {w.cpu_address, w.pci_address, w.size,
                                             w.kind == pci::Window::Kind::mem64, w.prefetchable};
    }
    if (verbose()) {
        kprintf("mica: pci: ECAM at %#llx, buses %u-%u\n", (unsigned long long)fdt_host.ecam_base, fdt_host.bus_first,
                fdt_host.bus_last);
    }
    pci::enumerate(host);
    return true;
}
}  // namespace

extern const Driver pci_driver{"pci", Phase::bus, init};

}  // namespace mica::drivers
