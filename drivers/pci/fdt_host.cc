#include <mica/drivers/fdt.h>
#include <mica/pci/fdt_host.h>

namespace mica::pci {
namespace {
constexpr uint32_t pci_cells = 3;                 // phys.hi, phys.mid, phys.lo
constexpr uint32_t space_shift = 24, space_mask = 3;
constexpr uint32_t space_io = 1, space_mem32 = 2;  // 3: 64-bit memory
constexpr uint32_t prefetchable_bit = 1u << 30;
constexpr uint32_t gic_spi = 0, gic_ppi = 1, first_spi = 32, first_ppi = 16;
constexpr uint32_t trigger_edge_rising = 1, trigger_level_high = 4;
constexpr uint32_t max_cells = 4;

uint64_t cells_value(const fdt::Property& p, size_t first, uint32_t count) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < count; ++i) v = (v << 32) | p.u32(first + i);
    return v;
}

uint32_t own_cells(const fdt::Tree& tree, const fdt::Node& node, const char* name, uint32_t fallback) {
    fdt::Property p = tree.property(node, name);
    return p.length == 4 ? p.u32() : fallback;
}
}  // namespace

bool decode_gic_interrupt(uint32_t type, uint32_t number, uint32_t flags, unsigned& line, irq::LineConfig& config) {
    if (type == gic_spi) line = first_spi + number;
    else if (type == gic_ppi) line = first_ppi + number;
    else return false;
    switch (flags & 0xf) {
    case trigger_edge_rising: config = {irq::Trigger::edge, irq::Polarity::high}; return true;
    case trigger_level_high: config = {irq::Trigger::level, irq::Polarity::high}; return true;
    default: return false;  // falling edge / active low: the GIC has neither
    }
}

const char* parse_fdt_host(const fdt::Tree& tree, const fdt::Node& node, FdtHost& out) {
    out = FdtHost{};
    uint64_t size = 0;
    if (!tree.reg(node, 0, out.ecam_base, size) || size == 0) return "no ECAM range in reg";
    out.ecam_size = size;
    fdt::Property buses = tree.property(node, "bus-range");
    if (buses.found()) {
        if (buses.length != 8 || buses.u32(0) > buses.u32(1) || buses.u32(1) > 255) return "malformed bus-range";
        out.bus_first = static_cast<uint8_t>(buses.u32(0));
        out.bus_last = static_cast<uint8_t>(buses.u32(1));
    } else {
        out.bus_last = static_cast<uint8_t>(size / (1u << 20) - 1 > 255 ? 255 : size / (1u << 20) - 1);
    }
    if ((uint64_t{out.bus_last} - out.bus_first + 1) << 20 > size) return "bus-range is larger than the ECAM";
    if (own_cells(tree, node, "#address-cells", 0) != pci_cells) return "#address-cells is not 3";
    uint32_t size_cells = own_cells(tree, node, "#size-cells", 0);
    if (size_cells < 1 || size_cells > 2) return "unsupported #size-cells";
    uint32_t parent_cells = node.address_cells;
    if (parent_cells < 1 || parent_cells > 2) return "unsupported parent #address-cells";

    fdt::Property ranges = tree.property(node, "ranges");
    uint32_t entry = pci_cells + parent_cells + size_cells;
    if (ranges.length % (entry * 4)) return "ranges is not a whole number of entries";
    for (size_t i = 0; i < ranges.length / 4; i += entry) {
        uint32_t hi = ranges.u32(i);
        uint32_t space = (hi >> space_shift) & space_mask;
        Window w{};
        w.kind = space == space_io ? Window::Kind::io : space == space_mem32 ? Window::Kind::mem32 : Window::Kind::mem64;
        if (space == 0) continue;  // configuration space: not a window
        w.prefetchable = hi & prefetchable_bit;
        w.pci_address = cells_value(ranges, i + 1, 2);
        w.cpu_address = cells_value(ranges, i + pci_cells, parent_cells);
        w.size = cells_value(ranges, i + pci_cells + parent_cells, size_cells);
        if (w.size == 0 || w.cpu_address + w.size < w.cpu_address) return "a ranges window is empty or wraps";
        if (out.window_count == FdtHost::max_windows) return "too many ranges windows";
        out.windows[out.window_count++] = w;
    }

    fdt::Property mask = tree.property(node, "interrupt-map-mask");
    fdt::Property map = tree.property(node, "interrupt-map");
    if (!map.found()) return nullptr;  // no INTx routing: devices must use MSI-X
    if (mask.length != 16) return "interrupt-map without a 4-cell interrupt-map-mask";
    if (own_cells(tree, node, "#interrupt-cells", 0) != 1) return "#interrupt-cells is not 1";
    out.map_mask_hi = mask.u32(0);
    out.map_mask_pin = mask.u32(3);
    size_t pos = 0, cells = map.length / 4;
    while (pos < cells) {
        if (pos + pci_cells + 2 > cells) return "truncated interrupt-map entry";
        uint32_t child_hi = map.u32(pos), pin = map.u32(pos + pci_cells);
        uint32_t phandle = map.u32(pos + pci_cells + 1);
        fdt::Node parent = tree.find_phandle(phandle);
        if (!parent.valid) return "interrupt-map names a missing interrupt controller";
        uint32_t p_address = own_cells(tree, parent, "#address-cells", 0);
        uint32_t p_interrupt = own_cells(tree, parent, "#interrupt-cells", 0);
        if (p_address > max_cells || p_interrupt != 3) return "interrupt-map parent is not a 3-cell GIC";
        size_t spec = pos + pci_cells + 2 + p_address;
        if (spec + p_interrupt > cells) return "truncated interrupt-map entry";
        IntxRoute r{};
        r.child_hi = child_hi & out.map_mask_hi;
        r.pin = static_cast<uint8_t>(pin & out.map_mask_pin);
        if (!decode_gic_interrupt(map.u32(spec), map.u32(spec + 1), map.u32(spec + 2), r.line, r.config)) {
            return "interrupt-map entry the GIC cannot take (type or trigger)";
        }
        if (out.route_count == FdtHost::max_routes) return "interrupt-map has too many entries";
        out.routes[out.route_count++] = r;
        pos = spec + p_interrupt;
    }
    return nullptr;
}

bool FdtHost::route(uint8_t bus, uint8_t device, uint8_t pin, unsigned& line, irq::LineConfig& config) const {
    constexpr unsigned bus_shift = 16, device_shift = 11;
    uint32_t hi = ((uint32_t{bus} << bus_shift) | (uint32_t{device} << device_shift)) & map_mask_hi;
    uint8_t p = static_cast<uint8_t>(pin & map_mask_pin);
    for (size_t i = 0; i < route_count; ++i) {
        if (routes[i].child_hi == hi && routes[i].pin == p) {
            line = routes[i].line;
            config = routes[i].config;
            return true;
        }
    }
    return false;
}

}  // namespace mica::pci
