// PCI and PCI Express: the arch-neutral core (drivers/pci/pci.cc). A host backend gives
// configuration-space access and INTx routing (x86: legacy ports and the firmware's
// interrupt lines; aarch64: the device tree's ECAM and interrupt-map); the core enumerates,
// sizes BARs (and assigns them where no firmware did), keeps the device list and hands
// devices to the PCI drivers of the table in pci.cc (by vendor/device id).
#pragma once

#include <mica/irq.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::pci {

struct Address {
    uint8_t bus, device, function;
};

struct Bar {
    uint64_t address = 0;  // CPU physical address (memory BARs), or the port (I/O)
    uint64_t size = 0;     // 0: not implemented
    bool io = false, is64 = false, prefetchable = false;
    void* mapped = nullptr;
};

// Standard capability ids and configuration registers drivers use.
inline constexpr uint8_t cap_vendor = 0x09, cap_msix = 0x11;
inline constexpr uint16_t vendor_redhat_virtio = 0x1af4;

class Device {
public:
    Address address{};
    uint16_t vendor = 0, device_id = 0, subsystem_vendor = 0, subsystem_id = 0;
    uint8_t class_code = 0, subclass = 0, interrupt_pin = 0;
    Bar bars[6];
    int parent_bridge = -1;  // index in the device list of the bridge it sits behind
    char name[16] = {};      // "pci 00:03.0"

    uint8_t read8(uint16_t offset) const;
    uint16_t read16(uint16_t offset) const;
    uint32_t read32(uint16_t offset) const;
    void write8(uint16_t offset, uint8_t value) const;
    void write16(uint16_t offset, uint16_t value) const;
    void write32(uint16_t offset, uint32_t value) const;

    // The configuration offset of the next capability `id` after `after` (0: from the
    // start of the list), or 0. Walks at most 48 entries (a looping list ends there).
    uint8_t find_capability(uint8_t id, uint8_t after = 0) const;
    // The kernel address of memory BAR `index` (mapped with mm::vm::map_device on first
    // use), or nullptr for an I/O, absent or unassigned BAR.
    void* map_bar(unsigned index);
    // Memory decoding and bus mastering (DMA) on; INTx on or off (command register).
    void enable(bool bus_master);
    void set_intx_disabled(bool disabled) const;

    // The platform line INTx (interrupt_pin) raises, through the host's routing; -ENODEV
    // when the device has no pin or the platform no route.
    int intx_line(unsigned& line, irq::LineConfig& config) const;

    // MSI-X: the table size (0 without the capability); enable/disable the function (entries
    // start masked); program entry `entry` and unmask it.
    unsigned msix_table_size() const;
    int msix_enable(bool on);
    int msix_set_entry(unsigned entry, const irq::MsiMessage& message, bool masked);

private:
    volatile uint32_t* msix_table_ = nullptr;
};

// Configuration-space access and routing of one host bridge (the platform's backend).
struct Host {
    const char* name;
    uint32_t (*read)(Address a, uint16_t offset, unsigned size);
    void (*write)(Address a, uint16_t offset, unsigned size, uint32_t value);
    // The line and trigger for INTx `pin` (1-4) of `device`, already swizzled to the root bus
    // (bus and device are the root-bus bridge's, or the device's own on the root bus).
    int (*route_intx)(const Device& device, uint8_t root_bus, uint8_t root_device, uint8_t pin, unsigned& line,
                      irq::LineConfig& config);
    uint8_t bus_first, bus_last;
    // Where no firmware assigned BARs (aarch64 -kernel boots), the windows to assign from.
    bool assign_bars;
    static constexpr size_t max_windows = 4;
    struct Window {
        uint64_t cpu_address, pci_address, size;
        bool mem64, prefetchable;
    } windows[max_windows];
    size_t window_count;
};

// Scans the host's buses: records every function, sizes BARs and assigns them when the
// host asks. Called by the host backend's driver (bus phase).
void enumerate(const Host& host);
size_t device_count();
Device& device(size_t index);

// PCI drivers, an explicit table in pci.cc (driver-config.h), probed in the devices phase.
struct Driver {
    const char* name;
    bool (*match)(const Device& device);
    // 0: the device is the driver's; -errno: not taken (the driver has said why).
    int (*probe)(Device& device);
};
void probe_drivers();

}  // namespace mica::pci
