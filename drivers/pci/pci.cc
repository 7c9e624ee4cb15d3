// The PCI core (pci.h): enumeration over the host backend's configuration access, BAR sizing
// and (where no firmware did it) assignment, capabilities, MSI-X tables, INTx routing with the
// bridge swizzle, and the driver table.
#include <mica/console.h>
#include <mica/driver-config.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/mm/vm.h>
#include <mica/pci/fdt_host.h>
#include <mica/pci/pci.h>
#include <new>
#include <stdlib.h>

namespace mica::pci {

#if CONF_drivers_virtio_pci
extern const Driver virtio_pci_driver;
#endif

namespace {
constexpr int errno_nodev = 19, errno_inval = 22;
constexpr uint16_t reg_vendor = 0x00, reg_command = 0x04, reg_status = 0x06, reg_class = 0x08,
                   reg_header = 0x0e, reg_bar0 = 0x10, reg_bridge_buses = 0x18, reg_subsystem = 0x2c,
                   reg_cap_pointer = 0x34, reg_interrupt_pin = 0x3d;
constexpr uint16_t command_io = 1 << 0, command_memory = 1 << 1, command_bus_master = 1 << 2,
                   command_intx_disable = 1 << 10;
constexpr uint16_t status_capabilities = 1 << 4;
constexpr uint16_t no_device = 0xffff;
constexpr uint8_t header_type_mask = 0x7f, header_multifunction = 0x80, header_bridge = 1;
constexpr uint8_t class_bridge = 0x06, subclass_pci_bridge = 0x04;
constexpr int max_bridge_depth = 8;
constexpr unsigned max_capabilities = 48;
constexpr uint32_t bar_io = 1, bar_type_mask = 6, bar_type_64 = 4, bar_prefetchable = 8;
constexpr uint16_t msix_control = 2, msix_table = 4;
constexpr uint16_t msix_enable_bit = 1u << 15, msix_function_mask = 1u << 14, msix_size_mask = 0x7ff;
constexpr uint32_t msix_bir_mask = 7;
constexpr unsigned msix_entry_words = 4, msix_vector_control = 3;
constexpr uint32_t msix_entry_masked = 1;
constexpr size_t max_devices = 64;

const Driver* const drivers[] = {
#if CONF_drivers_virtio_pci
    &virtio_pci_driver,
#endif
    nullptr,
};

// Owned here: the host (one per machine, set once by enumerate) and the devices it found.
const Host* host = nullptr;
Device* devices[max_devices];
size_t count = 0;
uint64_t next_address[Host::max_windows] = {};  // per window: bump allocator

void scan_bus(uint8_t bus, int depth, int parent);

// Sizes BAR `i` (decoding off meanwhile) and records what the firmware programmed.
unsigned read_bar(Device& d, unsigned i) {
    uint16_t reg = reg_bar0 + 4 * i;
    uint32_t low = d.read32(reg);
    Bar& b = d.bars[i];
    b.io = low & bar_io;
    b.is64 = !b.io && (low & bar_type_mask) == bar_type_64;
    b.prefetchable = !b.io && (low & bar_prefetchable);
    d.write32(reg, 0xffffffffu);
    uint32_t size_low = d.read32(reg);
    d.write32(reg, low);
    uint64_t mask = size_low & (b.io ? ~uint32_t{3} : ~uint32_t{0xf});
    uint64_t address = low & (b.io ? ~uint32_t{3} : ~uint32_t{0xf});
    bool implemented = mask != 0;
    if (b.is64 && i < 5) {
        uint32_t high = d.read32(reg + 4);
        d.write32(reg + 4, 0xffffffffu);
        uint32_t size_high = d.read32(reg + 4);
        d.write32(reg + 4, high);
        mask |= uint64_t{size_high} << 32;
        address |= uint64_t{high} << 32;
        implemented |= size_high != 0;
    } else if (!b.io) {
        mask |= ~uint64_t{0xffffffff};
    } else {
        mask |= ~uint64_t{0xffff};
    }
    b.size = implemented ? (~mask + 1) : 0;
    b.address = address;
    return b.is64 ? 2 : 1;
}

// Assigns memory BARs from the host's windows (64-bit prefetchable ones to a 64-bit window
// when there is one), each aligned to its size.
void assign_bars(Device& d) {
    for (unsigned i = 0; i < 6; ++i) {
        Bar& b = d.bars[i];
        if (!b.size || b.io) {
            if (b.io) b.size = 0;  // I/O space is not used: leave it off
            continue;
        }
        int chosen = -1;
        for (size_t w = 0; w < host->window_count; ++w) {
            const Host::Window& win = host->windows[w];
            bool fits64 = b.is64 && b.prefetchable && win.mem64;
            if (fits64 || (!win.mem64 && chosen < 0)) chosen = static_cast<int>(w);
            if (fits64) break;
        }
        if (chosen < 0) {
            kprintf("mica: %s: no PCI window for BAR %u (%llu bytes)\n", d.name, i, (unsigned long long)b.size);
            b.size = 0;
            continue;
        }
        const Host::Window& win = host->windows[chosen];
        uint64_t offset = (next_address[chosen] + b.size - 1) & ~(b.size - 1);
        if (offset + b.size > win.size) {
            kprintf("mica: %s: PCI window full for BAR %u\n", d.name, i);
            b.size = 0;
            continue;
        }
        next_address[chosen] = offset + b.size;
        uint64_t bus_address = win.pci_address + offset;
        d.write32(reg_bar0 + 4 * i, static_cast<uint32_t>(bus_address) | (d.read32(reg_bar0 + 4 * i) & 0xf));
        if (b.is64) d.write32(reg_bar0 + 4 * i + 4, static_cast<uint32_t>(bus_address >> 32));
        b.address = win.cpu_address + offset;
        if (b.is64) ++i;
    }
}

void probe_function(uint8_t bus, uint8_t dev, uint8_t function, int depth, int parent) {
    Address a{bus, dev, function};
    uint32_t id = host->read(a, reg_vendor, 4);
    if ((id & 0xffff) == no_device) return;
    if (count == max_devices) {
        kprintf("mica: pci: more than %zu functions; the rest are ignored\n", max_devices);
        return;
    }
    void* p = malloc(sizeof(Device));
    if (!p) return;
    auto* d = new (p) Device;
    d->address = a;
    d->vendor = static_cast<uint16_t>(id);
    d->device_id = static_cast<uint16_t>(id >> 16);
    uint32_t class_reg = d->read32(reg_class);
    d->class_code = static_cast<uint8_t>(class_reg >> 24);
    d->subclass = static_cast<uint8_t>(class_reg >> 16);
    d->parent_bridge = parent;
    fmt::snprintf(d->name, sizeof d->name, "pci %02x:%02x.%x", bus, dev, function);
    uint8_t header = d->read8(reg_header) & header_type_mask;
    int index = static_cast<int>(count);
    devices[count++] = d;
    if (header == 0) {
        uint32_t sub = d->read32(reg_subsystem);
        d->subsystem_vendor = static_cast<uint16_t>(sub);
        d->subsystem_id = static_cast<uint16_t>(sub >> 16);
        d->interrupt_pin = d->read8(reg_interrupt_pin);
        uint16_t command = d->read16(reg_command);
        d->write16(reg_command, command & ~(command_io | command_memory));  // no decoding while sizing
        for (unsigned i = 0; i < 6;) i += read_bar(*d, i);
        if (host->assign_bars) {
            assign_bars(*d);
            command &= ~command_io;
        }
        d->write16(reg_command, command);
    }
    if (drivers::verbose()) {
        kprintf("mica: %s vendor %04x device %04x class %02x.%02x", d->name, d->vendor, d->device_id, d->class_code,
                d->subclass);
        for (unsigned i = 0; i < 6; ++i) {
            if (d->bars[i].size && !d->bars[i].io) {
                kprintf(" bar%u %#llx+%#llx", i, (unsigned long long)d->bars[i].address,
                        (unsigned long long)d->bars[i].size);
            }
        }
        kprintf("\n");
    }
    // Follow PCI-to-PCI bridges (a depth limit guards against one pointing back up).
    if (header == header_bridge && d->class_code == class_bridge && d->subclass == subclass_pci_bridge &&
        depth < max_bridge_depth) {
        uint8_t secondary = static_cast<uint8_t>(d->read32(reg_bridge_buses) >> 8);
        if (secondary > bus && secondary <= host->bus_last) scan_bus(secondary, depth + 1, index);
    }
}

void scan_bus(uint8_t bus, int depth, int parent) {
    for (uint8_t dev = 0; dev < 32; ++dev) {
        Address a{bus, dev, 0};
        if ((host->read(a, reg_vendor, 2) & 0xffff) == no_device) continue;
        bool multi = host->read(a, reg_header, 1) & header_multifunction;
        for (uint8_t f = 0; f < (multi ? 8 : 1); ++f) probe_function(bus, dev, f, depth, parent);
    }
}
}  // namespace

uint8_t Device::read8(uint16_t offset) const { return static_cast<uint8_t>(host->read(address, offset, 1)); }
uint16_t Device::read16(uint16_t offset) const { return static_cast<uint16_t>(host->read(address, offset, 2)); }
uint32_t Device::read32(uint16_t offset) const { return host->read(address, offset, 4); }
void Device::write8(uint16_t offset, uint8_t value) const { host->write(address, offset, 1, value); }
void Device::write16(uint16_t offset, uint16_t value) const { host->write(address, offset, 2, value); }
void Device::write32(uint16_t offset, uint32_t value) const { host->write(address, offset, 4, value); }

uint8_t Device::find_capability(uint8_t id, uint8_t after) const {
    if (!(read16(reg_status) & status_capabilities)) return 0;
    uint8_t at = after ? read8(after + 1) : read8(reg_cap_pointer);
    for (unsigned n = 0; n < max_capabilities && at >= 0x40; ++n) {
        at &= ~3;
        if (read8(at) == id) return at;
        at = read8(at + 1);
    }
    return 0;
}

void* Device::map_bar(unsigned index) {
    if (index >= 6 || !bars[index].size || bars[index].io || !bars[index].address) return nullptr;
    if (!bars[index].mapped) bars[index].mapped = mm::vm::map_device(bars[index].address, bars[index].size);
    return bars[index].mapped;
}

void Device::enable(bool bus_master) {
    uint16_t command = read16(reg_command) | command_memory;
    if (bus_master) command |= command_bus_master;
    write16(reg_command, command);
}

void Device::set_intx_disabled(bool disabled) const {
    uint16_t command = read16(reg_command);
    write16(reg_command, disabled ? command | command_intx_disable : command & ~command_intx_disable);
}

int Device::intx_line(unsigned& line, irq::LineConfig& config) const {
    if (!interrupt_pin || interrupt_pin > 4 || !host->route_intx) return -errno_nodev;
    // Up through the bridges to the root bus, swizzling the pin at each.
    uint8_t pin = interrupt_pin, bus = address.bus, dev = address.device;
    for (int b = parent_bridge; b >= 0; b = devices[b]->parent_bridge) {
        pin = swizzle(pin, dev);
        bus = devices[b]->address.bus;
        dev = devices[b]->address.device;
    }
    return host->route_intx(*this, bus, dev, pin, line, config);
}

unsigned Device::msix_table_size() const {
    uint8_t cap = find_capability(cap_msix);
    return cap ? (read16(cap + msix_control) & msix_size_mask) + 1u : 0;
}

int Device::msix_enable(bool on) {
    uint8_t cap = find_capability(cap_msix);
    if (!cap) return -errno_nodev;
    if (on && !msix_table_) {
        uint32_t table = read32(cap + msix_table);
        auto* bar = static_cast<uint8_t*>(map_bar(table & msix_bir_mask));
        if (!bar) return -errno_nodev;
        msix_table_ = reinterpret_cast<volatile uint32_t*>(bar + (table & ~msix_bir_mask));
        unsigned n = msix_table_size();
        for (unsigned i = 0; i < n; ++i) msix_table_[i * msix_entry_words + msix_vector_control] = msix_entry_masked;
    }
    uint16_t control = read16(cap + msix_control) & ~(msix_enable_bit | msix_function_mask);
    write16(cap + msix_control, on ? control | msix_enable_bit : control);
    set_intx_disabled(on);
    return 0;
}

int Device::msix_set_entry(unsigned entry, const irq::MsiMessage& message, bool masked) {
    if (!msix_table_ || entry >= msix_table_size()) return -errno_inval;
    volatile uint32_t* e = msix_table_ + entry * msix_entry_words;
    e[msix_vector_control] = msix_entry_masked;
    e[0] = static_cast<uint32_t>(message.address);
    e[1] = static_cast<uint32_t>(message.address >> 32);
    e[2] = message.data;
    e[msix_vector_control] = masked ? msix_entry_masked : 0;
    return 0;
}

void enumerate(const Host& h) {
    host = &h;
    // The root bus; the others are reached through bridges (hosts that decode several root
    // buses, which none of Mica's machines have, would need each scanned).
    scan_bus(h.bus_first, 0, -1);
}

size_t device_count() { return count; }
Device& device(size_t index) { return *devices[index]; }

void probe_drivers() {
    for (size_t i = 0; i < count; ++i) {
        for (const Driver* d : drivers) {
            if (d && d->match(*devices[i])) {
                d->probe(*devices[i]);
                break;
            }
        }
    }
}

}  // namespace mica::pci

namespace mica::drivers {
namespace {
bool probe_pci_drivers() {
    if (pci::device_count() == 0) return false;
    pci::probe_drivers();
    return true;
}
}  // namespace
// The PCI drivers run in the devices phase (they may sleep); enumeration ran in the bus phase.
extern const Driver pci_drivers_driver{"pci drivers", Phase::devices, probe_pci_drivers};
}  // namespace mica::drivers
