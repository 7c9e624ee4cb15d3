// virtio over PCI, the modern interface (virtio 1.2, section 4.1): the vendor capabilities
// name where in which BAR the common configuration, the notification area, the ISR byte and
// the device configuration are. Interrupts: one MSI-X vector per queue plus one for
// configuration changes when the device has enough table entries and the platform has
// message interrupts; else a single MSI-X vector for everything; else INTx through the
// platform's routing, with the ISR byte telling queue from configuration interrupts.
// Transitional devices (ids 0x1000-0x103f) are driven through their modern capabilities;
// a device without them (legacy only) is refused with a message.
#include <arch/mmio.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/irq.h>
#include <mica/pci/pci.h>
#include <mica/virtio/device.h>

namespace mica::virtio {
namespace {
namespace mmio = arch::mmio;
constexpr uint16_t first_transitional = 0x1000, last_transitional = 0x103f, first_modern = 0x1040,
                   last_modern = 0x107f;
// Vendor capability: cfg_type at +3, bar at +4, offset at +8, length at +12; the notify
// capability adds the offset multiplier at +16.
constexpr uint8_t cap_cfg_type = 3, cap_bar = 4, cap_offset = 8, cap_length = 12, cap_notify_multiplier = 16;
constexpr uint8_t cfg_common = 1, cfg_notify = 2, cfg_isr = 3, cfg_device = 4;
// struct virtio_pci_common_cfg
constexpr uintptr_t common_device_feature_select = 0x00, common_device_feature = 0x04,
                    common_driver_feature_select = 0x08, common_driver_feature = 0x0c, common_config_msix = 0x10,
                    common_num_queues = 0x12, common_status = 0x14, common_config_generation = 0x15,
                    common_queue_select = 0x16, common_queue_size = 0x18, common_queue_msix = 0x1a,
                    common_queue_enable = 0x1c, common_queue_notify_off = 0x1e, common_queue_desc = 0x20,
                    common_queue_driver = 0x28, common_queue_device = 0x30;
constexpr uint16_t no_vector = 0xffff;
constexpr uint8_t isr_queue = 1, isr_config = 2;
constexpr int reset_polls = 1000000;
constexpr unsigned max_vectors = 16;
constexpr int errno_nodev = 19, errno_io = 5;

class PciTransport;
struct VectorContext {
    PciTransport* transport;
    int queue;  // -1: configuration changes; -2: everything (one shared vector)
};

class PciTransport final : public Transport {
public:
    explicit PciTransport(pci::Device& pci) : pci_(pci) {}

    // Finds and maps the four areas; false (with a message) when the device lacks them.
    bool locate() {
        for (uint8_t cap = pci_.find_capability(pci::cap_vendor); cap; cap = pci_.find_capability(pci::cap_vendor, cap)) {
            uint8_t type = pci_.read8(cap + cap_cfg_type), bar = pci_.read8(cap + cap_bar);
            uint32_t offset = pci_.read32(cap + cap_offset), length = pci_.read32(cap + cap_length);
            if (bar > 5) continue;  // reserved BAR numbers: skip, as the spec asks
            uint8_t** target = type == cfg_common ? &common_ : type == cfg_notify ? &notify_
                               : type == cfg_isr ? &isr_ : type == cfg_device ? &device_cfg_ : nullptr;
            if (!target || *target) continue;  // unknown, or a second one of a kind (the first wins)
            auto* base = static_cast<uint8_t*>(pci_.map_bar(bar));
            if (!base || uint64_t{offset} + length > pci_.bars[bar].size) continue;
            *target = base + offset;
            if (type == cfg_notify) notify_multiplier_ = pci_.read32(cap + cap_notify_multiplier);
            if (type == cfg_device) device_cfg_length_ = length;
        }
        return common_ && notify_ && isr_;
    }

    uint64_t device_features() override {
        write32(common_device_feature_select, 1);
        uint64_t high = read32(common_device_feature);
        write32(common_device_feature_select, 0);
        return (high << 32) | read32(common_device_feature);
    }
    void set_driver_features(uint64_t f) override {
        write32(common_driver_feature_select, 0);
        write32(common_driver_feature, static_cast<uint32_t>(f));
        write32(common_driver_feature_select, 1);
        write32(common_driver_feature, static_cast<uint32_t>(f >> 32));
    }
    uint8_t status() override { return mmio::read<uint8_t>(common_ + common_status); }
    void set_status(uint8_t s) override { mmio::write<uint8_t>(common_ + common_status, s); }
    bool reset() override {
        set_status(0);
        for (int i = 0; i < reset_polls; ++i) {
            if (status() == 0) return true;
        }
        return false;
    }
    unsigned queue_count() override { return read16(common_num_queues); }
    uint16_t queue_max_size(unsigned index) override {
        if (index >= queue_count()) return 0;
        write16(common_queue_select, static_cast<uint16_t>(index));
        return read16(common_queue_size);
    }
    int queue_enable(unsigned index, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used) override {
        write16(common_queue_select, static_cast<uint16_t>(index));
        write16(common_queue_size, size);
        if (msix_) {
            uint16_t vector = per_queue_vectors_ ? static_cast<uint16_t>(index + 1) : 0;
            write16(common_queue_msix, vector);
            if (read16(common_queue_msix) != vector) return -errno_io;  // the device could not take it
        }
        write64(common_queue_desc, desc);
        write64(common_queue_driver, avail);
        write64(common_queue_device, used);
        notify_off_[index < max_vectors ? index : 0] = read16(common_queue_notify_off);
        write16(common_queue_enable, 1);
        return 0;
    }
    void queue_notify(unsigned index) override {
        uint16_t off = notify_off_[index < max_vectors ? index : 0];
        mmio::write<uint16_t>(notify_ + uintptr_t{off} * notify_multiplier_, static_cast<uint16_t>(index));
    }
    int attach_interrupts(unsigned queues, const char** kind) override {
        unsigned table = pci_.msix_table_size();
        if (table && irq::msi_available() && queues < max_vectors) {
            per_queue_vectors_ = table >= queues + 1;
            unsigned vectors = per_queue_vectors_ ? queues + 1 : 1;
            if (attach_msix(vectors) == 0) {
                fmt::snprintf(kind_, sizeof kind_, "msi-x, %u vector%s", vectors, vectors == 1 ? "" : "s");
                *kind = kind_;
                return 0;
            }
            detach_interrupts();
        }
        // INTx: one shared, level-triggered line.
        unsigned line;
        irq::LineConfig config;
        if (int e = pci_.intx_line(line, config)) {
            kprintf("mica: %s: no MSI-X and no INTx route\n", pci_.name);
            return e;
        }
        if (int e = irq::attach_line(line, config, intx_handler, this, bindings_[0])) return e;
        pci_.set_intx_disabled(false);
        fmt::snprintf(kind_, sizeof kind_, "intx line %u", line);
        *kind = kind_;
        return 0;
    }
    void detach_interrupts() override {
        if (msix_) {
            write16(common_config_msix, no_vector);
            pci_.msix_enable(false);
            msix_ = false;
        }
        for (irq::Binding& b : bindings_) irq::detach(b);
    }
    uint32_t config_generation() override { return mmio::read<uint8_t>(common_ + common_config_generation); }
    uint8_t config_read8(uint32_t offset) override {
        return device_cfg_ && offset < device_cfg_length_ ? mmio::read<uint8_t>(device_cfg_ + offset) : 0;
    }
    void config_write8(uint32_t offset, uint8_t v) override {
        if (device_cfg_ && offset < device_cfg_length_) mmio::write<uint8_t>(device_cfg_ + offset, v);
    }

    Device* device = nullptr;

private:
    uint32_t read32(uintptr_t r) { return mmio::read<uint32_t>(common_ + r); }
    uint16_t read16(uintptr_t r) { return mmio::read<uint16_t>(common_ + r); }
    void write32(uintptr_t r, uint32_t v) { mmio::write<uint32_t>(common_ + r, v); }
    void write16(uintptr_t r, uint16_t v) { mmio::write<uint16_t>(common_ + r, v); }
    void write64(uintptr_t r, uint64_t v) {
        write32(r, static_cast<uint32_t>(v));
        write32(r + 4, static_cast<uint32_t>(v >> 32));
    }

    // Vector 0: configuration changes (and, with one vector, everything); vector i + 1: queue i.
    int attach_msix(unsigned vectors) {
        if (int e = pci_.msix_enable(true)) return e;
        msix_ = true;
        for (unsigned v = 0; v < vectors; ++v) {
            contexts_[v] = VectorContext{this, v == 0 ? (vectors == 1 ? -2 : -1) : static_cast<int>(v - 1)};
            irq::MsiMessage message;
            if (int e = irq::attach_msi(msix_handler, &contexts_[v], bindings_[v], message)) return e;
            if (int e = pci_.msix_set_entry(v, message, false)) return e;
        }
        write16(common_config_msix, 0);
        if (read16(common_config_msix) != 0) return -errno_io;
        return 0;
    }
    static void msix_handler(unsigned, void* context) {
        auto* c = static_cast<VectorContext*>(context);
        Device* d = c->transport->device;
        if (!d) return;
        if (c->queue >= 0) d->queue_interrupt(static_cast<unsigned>(c->queue));
        else if (c->queue == -1) d->config_interrupt();
        else {
            d->all_queues_interrupt();
            d->config_interrupt();
        }
    }
    static void intx_handler(unsigned, void* context) {
        auto* t = static_cast<PciTransport*>(context);
        uint8_t isr = mmio::read<uint8_t>(t->isr_);  // reading clears it and drops the line
        if (!isr || !t->device) return;              // a shared line: not this device
        if (isr & isr_queue) t->device->all_queues_interrupt();
        if (isr & isr_config) t->device->config_interrupt();
    }

    pci::Device& pci_;
    uint8_t* common_ = nullptr;
    uint8_t* notify_ = nullptr;
    uint8_t* isr_ = nullptr;
    uint8_t* device_cfg_ = nullptr;
    uint32_t device_cfg_length_ = 0;
    uint32_t notify_multiplier_ = 0;
    uint16_t notify_off_[max_vectors] = {};
    bool msix_ = false, per_queue_vectors_ = false;
    VectorContext contexts_[max_vectors] = {};
    irq::Binding bindings_[max_vectors];
    char kind_[32] = {};
};

bool match(const pci::Device& d) {
    return d.vendor == pci::vendor_redhat_virtio && d.device_id >= first_transitional && d.device_id <= last_modern;
}

int probe(pci::Device& d) {
    uint32_t id = d.device_id >= first_modern ? d.device_id - first_modern : d.subsystem_id;
    auto* transport = new PciTransport(d);
    if (!transport->locate()) {
        kprintf("mica: virtio-pci %s: legacy-only %s device (no virtio 1.0 capabilities): Mica drives virtio 1.0 "
                "devices only (QEMU: without disable-modern=on)\n",
                d.name + 4, device_type_name(id));
        delete transport;
        return -errno_nodev;
    }
    d.enable(true);  // memory decoding and DMA
    char name[48];
    fmt::snprintf(name, sizeof name, "virtio-pci %s", d.name + 4);
    auto* device = new Device(*transport, id, name);
    transport->device = device;
    attach_device(device);
    bool kept = false;
    for (size_t i = 0; i < device_count(); ++i) kept |= &virtio::device(i) == device;
    if (!kept) delete transport;
    return 0;
}
}  // namespace

}  // namespace mica::virtio

namespace mica::pci {
extern const Driver virtio_pci_driver{"virtio-pci", virtio::match, virtio::probe};
}
