// virtio over MMIO, version 2 (virtio 1.2, section 4.2.2), and where its devices are found:
// `virtio,mmio` nodes of the device tree (QEMU virt: 32 slots, most of them empty) and the
// virtio_mmio.device= words of the command line (QEMU microvm without ACPI, Firecracker).
// One interrupt line per device, edge-triggered where the device tree says so (virt) and for
// command-line devices (Linux's default for them; QEMU raises and drops the line with the
// interrupt status, Firecracker pulses it), acknowledged through InterruptACK before the
// queues are looked at, so a buffer completed meanwhile raises a new edge.
#include <arch/mmio.h>
#include <mica/acpi/dsdt_devices.h>
#include <mica/console.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/irq.h>
#include <mica/mm/phys.h>
#include <mica/mm/vm.h>
#include <mica/pci/fdt_host.h>
#include <mica/virtio/device.h>
#include <mica/virtio/mmio_spec.h>

namespace mica::virtio {
namespace {
namespace mmio = arch::mmio;
constexpr uint32_t magic_value = 0x74726976;  // "virt"
constexpr uint32_t legacy_version = 1, modern_version = 2;
constexpr uintptr_t reg_magic = 0x000, reg_version = 0x004, reg_device_id = 0x008, reg_device_features = 0x010,
                    reg_device_features_sel = 0x014, reg_driver_features = 0x020, reg_driver_features_sel = 0x024,
                    reg_queue_sel = 0x030, reg_queue_num_max = 0x034, reg_queue_num = 0x038, reg_queue_ready = 0x044,
                    reg_queue_notify = 0x050, reg_interrupt_status = 0x060, reg_interrupt_ack = 0x064,
                    reg_status = 0x070, reg_queue_desc = 0x080, reg_queue_driver = 0x090, reg_queue_device = 0x0a0,
                    reg_config_generation = 0x0fc, reg_config = 0x100;
constexpr uint32_t interrupt_used_buffer = 1, interrupt_config_change = 2;
constexpr size_t min_window = 0x200;
constexpr unsigned max_queues = 8;
constexpr const char* virtio_mmio_hid = "LNRO0005";  // ACPI's id for virtio-mmio (Linaro's)  // MMIO has no queue count register: probe up to this many
constexpr int reset_polls = 1000000;
constexpr int errno_inval = 22;

class MmioTransport final : public Transport {
public:
    MmioTransport(uint8_t* base, unsigned line, irq::LineConfig config) : base_(base), line_(line), config_(config) {}

    uint32_t read32(uintptr_t reg) { return mmio::read<uint32_t>(base_ + reg); }
    void write32(uintptr_t reg, uint32_t v) { mmio::write<uint32_t>(base_ + reg, v); }

    uint64_t device_features() override {
        write32(reg_device_features_sel, 1);
        uint64_t high = read32(reg_device_features);
        write32(reg_device_features_sel, 0);
        return (high << 32) | read32(reg_device_features);
    }
    void set_driver_features(uint64_t f) override {
        write32(reg_driver_features_sel, 1);
        write32(reg_driver_features, static_cast<uint32_t>(f >> 32));
        write32(reg_driver_features_sel, 0);
        write32(reg_driver_features, static_cast<uint32_t>(f));
    }
    uint8_t status() override { return static_cast<uint8_t>(read32(reg_status)); }
    void set_status(uint8_t s) override { write32(reg_status, s); }
    bool reset() override {
        write32(reg_status, 0);
        for (int i = 0; i < reset_polls; ++i) {
            if (read32(reg_status) == 0) return true;
        }
        return false;
    }
    unsigned queue_count() override {
        unsigned n = 0;
        while (n < max_queues && queue_max_size(n)) ++n;
        return n;
    }
    uint16_t queue_max_size(unsigned index) override {
        write32(reg_queue_sel, index);
        if (read32(reg_queue_ready)) return 0;  // already in use
        uint32_t max = read32(reg_queue_num_max);
        return static_cast<uint16_t>(max > Virtqueue::max_size ? Virtqueue::max_size : max);
    }
    int queue_enable(unsigned index, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used) override {
        write32(reg_queue_sel, index);
        write32(reg_queue_num, size);
        write64(reg_queue_desc, desc);
        write64(reg_queue_driver, avail);
        write64(reg_queue_device, used);
        write32(reg_queue_ready, 1);
        return read32(reg_queue_ready) ? 0 : -errno_inval;
    }
    void queue_notify(unsigned index) override { write32(reg_queue_notify, index); }
    int attach_interrupts(unsigned, const char** kind) override {
        if (int e = irq::attach_line(line_, config_, handle, this, binding_)) return e;
        fmt::snprintf(kind_, sizeof kind_, "line %u (%s)", line_,
                      config_.trigger == irq::Trigger::edge ? "edge" : "level");
        *kind = kind_;
        return 0;
    }
    void detach_interrupts() override { irq::detach(binding_); }
    uint32_t config_generation() override { return read32(reg_config_generation); }
    uint8_t config_read8(uint32_t offset) override { return mmio::read<uint8_t>(base_ + reg_config + offset); }
    void config_write8(uint32_t offset, uint8_t v) override { mmio::write<uint8_t>(base_ + reg_config + offset, v); }

    Device* device = nullptr;

private:
    void write64(uintptr_t reg, uint64_t v) {
        write32(reg, static_cast<uint32_t>(v));
        write32(reg + 4, static_cast<uint32_t>(v >> 32));
    }
    static void handle(unsigned, void* context) {
        auto* t = static_cast<MmioTransport*>(context);
        uint32_t status = t->read32(reg_interrupt_status);
        if (!status) return;  // a shared line: not this device
        t->write32(reg_interrupt_ack, status);
        if (!t->device) return;
        if (status & interrupt_used_buffer) t->device->all_queues_interrupt();
        if (status & interrupt_config_change) t->device->config_interrupt();
    }

    uint8_t* base_;
    unsigned line_;
    irq::LineConfig config_;
    irq::Binding binding_;
    char kind_[32] = {};
};

// Looks at one window; attaches the device if there is a modern one.
void probe(uint64_t base, uint64_t size, unsigned line, irq::LineConfig config, const char* source) {
    if (size < min_window) {
        kprintf("mica: virtio-mmio at %#llx (%s): window of %llu bytes is too small\n", (unsigned long long)base, source,
                (unsigned long long)size);
        return;
    }
    auto* regs = static_cast<uint8_t*>(mm::vm::map_device(base, size));
    if (!regs) {
        kprintf("mica: virtio-mmio at %#llx: cannot map it\n", (unsigned long long)base);
        return;
    }
    uint32_t magic = mmio::read<uint32_t>(regs + reg_magic);
    uint32_t version = mmio::read<uint32_t>(regs + reg_version);
    uint32_t id = mmio::read<uint32_t>(regs + reg_device_id);
    if (magic != magic_value) {
        kprintf("mica: virtio-mmio at %#llx (%s): no virtio device there (magic %#x)\n", (unsigned long long)base,
                source, magic);
        return;
    }
    if (id == 0) return;  // an empty slot
    if (version == legacy_version) {
        kprintf("mica: virtio-mmio at %#llx: legacy (version 1) %s device; Mica drives version 2 (virtio 1.0) "
                "devices only: run QEMU with -global virtio-mmio.force-legacy=false\n",
                (unsigned long long)base, device_type_name(id));
        return;
    }
    if (version != modern_version) {
        kprintf("mica: virtio-mmio at %#llx: unknown version %u\n", (unsigned long long)base, version);
        return;
    }
    auto* transport = new MmioTransport(regs, line, config);
    char name[48];
    fmt::snprintf(name, sizeof name, "virtio-mmio@%#llx", (unsigned long long)base);
    auto* device = new Device(*transport, id, name);
    transport->device = device;
    attach_device(device);
    // attach_device deleted a device no driver kept; the transport goes with it.
    bool kept = false;
    for (size_t i = 0; i < device_count(); ++i) kept |= &virtio::device(i) == device;
    if (!kept) delete transport;
}

bool init() {
    size_t before = device_count();
    bool any = false;
    if (const fdt::Tree* tree = drivers::device_tree()) {
        for (fdt::Node n = tree->find_compatible("virtio,mmio"); n.valid; n = tree->find_compatible("virtio,mmio", n)) {
            uint64_t base, size;
            fdt::Property irqs = tree->property(n, "interrupts");
            unsigned line;
            irq::LineConfig config;
            if (!tree->reg(n, 0, base, size) || irqs.length != 12 ||
                !pci::decode_gic_interrupt(irqs.u32(0), irqs.u32(1), irqs.u32(2), line, config)) {
                kprintf("mica: virtio-mmio node %s: unusable reg or interrupts\n", tree->name(n));
                continue;
            }
            any = true;
            probe(base, size, line, config, "device tree");
        }
    }
    // QEMU microvm with ACPI describes its transports only in the DSDT (and appends no words).
    uint64_t dsdt;
    size_t dsdt_length;
    if (drivers::acpi_dsdt(dsdt, dsdt_length)) {
        const char* problem = acpi::find_devices(static_cast<const uint8_t*>(mm::phys_to_virt(dsdt)), dsdt_length,
                                                 virtio_mmio_hid, [](const acpi::FixedDevice& d, void* any) {
            *static_cast<bool*>(any) = true;
            if (!d.has_irq) {
                kprintf("mica: virtio-mmio at %#llx (ACPI): no interrupt\n", (unsigned long long)d.base);
                return;
            }
            probe(d.base, d.size, d.irq, d.config, "ACPI");
        }, &any);
        if (problem && drivers::verbose()) kprintf("mica: virtio-mmio: DSDT read up to %s\n", problem);
    }
    for (size_t i = 0; i < cmdline_mmio_device_count(); ++i) {
        const MmioDeviceSpec& s = cmdline_mmio_device(i);
        any = true;
        probe(s.base, s.size, s.irq, {irq::Trigger::edge, irq::Polarity::high}, "command line");
    }
    return any && device_count() > before;
}
}  // namespace
}  // namespace mica::virtio

namespace mica::drivers {
extern const Driver virtio_mmio_driver{"virtio-mmio", Phase::devices, virtio::init};
}
