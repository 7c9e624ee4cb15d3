// The virtio driver interface (docs/architecture.md, "virtio"): what a virtio device driver
// (virtio-rng, virtio-net, virtio-blk) sees, the same whichever transport found the device.
//
//   1. A driver is a `virtio::Driver` {name, device id, probe} in the table of device.cc
//      (explicit, under driver-config.h). The core calls probe(device) in the devices phase
//      of boot (scheduler and CPUs up, interrupts on) for each device with that id.
//   2. probe negotiates: device.negotiate(features it can use) — VERSION_1 and the ring
//      features (EVENT_IDX, INDIRECT_DESC) are added and handled by the core.
//   3. It reads its configuration: device.read_config(offset, &out, size) (consistent across
//      the generation counter), and creates its queues: device.setup_queues(n, configs), each
//      with a callback that runs in interrupt context when the device has used buffers (and
//      possibly spuriously): it must not block; typically it wakes a thread.
//   4. device.ready() sets DRIVER_OK; from then on the queues run: queue.add() buffers (device
//      addresses: mm::virt_to_phys of kernel memory), queue.kick() publishes them and rings
//      the doorbell only when the device asked, queue.take_used() collects finished ones,
//      queue.disable_interrupts()/enable_interrupts() switch to polling and back (enable
//      returns false when buffers are already waiting).
//   5. A probe that fails returns -errno after saying why; the core then resets the device
//      and frees its queues and interrupts (device.fail() does the same at any later time).
//
// Locking: a Queue is not thread-safe; its driver serialises use with its own lock (a
// spinlock when the callback takes it too). Device configuration calls are for probe time.
#pragma once

#include <mica/virtio/virtqueue.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::virtio {

// Device ids (virtio 1.2, section 5).
inline constexpr uint32_t device_net = 1, device_block = 2, device_console = 3, device_entropy = 4;

// Feature bits the core knows (device-type bits are the drivers').
inline constexpr unsigned feature_indirect_desc = 28, feature_event_idx = 29, feature_version_1 = 32,
                          feature_access_platform = 33, feature_ring_packed = 34;
inline constexpr uint64_t feature(unsigned bit) { return uint64_t{1} << bit; }

// Device status bits.
inline constexpr uint8_t status_acknowledge = 1, status_driver = 2, status_driver_ok = 4, status_features_ok = 8,
                         status_needs_reset = 64, status_failed = 128;

class Device;
class Queue;

// What a transport (virtio-pci, virtio-mmio) implements. Only the core calls it.
class Transport {
public:
    virtual ~Transport() = default;
    virtual uint64_t device_features() = 0;
    virtual void set_driver_features(uint64_t features) = 0;
    virtual uint8_t status() = 0;
    virtual void set_status(uint8_t status) = 0;
    // Writes 0 to the status and waits (bounded) until the device reads back 0.
    virtual bool reset() = 0;
    virtual unsigned queue_count() = 0;                 // how many queues the device may have
    virtual uint16_t queue_max_size(unsigned index) = 0;  // 0: no such queue
    // Tells the device where queue `index` (`size` entries) lives and enables it.
    virtual int queue_enable(unsigned index, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used) = 0;
    virtual void queue_notify(unsigned index) = 0;
    // Attaches the interrupts for `queues` queues (per-queue MSI-X vectors where possible,
    // else one line); the transport then calls Device::queue_interrupt/config_interrupt.
    // Called after the queues are known and before queue_enable. Returns a short
    // description ("msi-x", "intx gsi 11") through `kind`.
    virtual int attach_interrupts(unsigned queues, const char** kind) = 0;
    virtual void detach_interrupts() = 0;
    virtual uint32_t config_generation() = 0;
    virtual uint8_t config_read8(uint32_t offset) = 0;
    virtual void config_write8(uint32_t offset, uint8_t value) = 0;
};

struct QueueConfig {
    void (*callback)(Queue& queue, void* context) = nullptr;  // interrupt context
    void* context = nullptr;
    uint16_t max_size = 256;  // at most this many entries (the device may offer fewer)
};

class Queue {
public:
    // See Virtqueue for add/take_used semantics.
    int add(const Segment* segments, unsigned out, unsigned in, void* token) { return ring_.add(segments, out, in, token); }
    // Publishes what was added and notifies the device if it asked to be (true if it did).
    bool kick();
    // Rings the doorbell whatever the device asked: the watchdog's answer to a notification
    // that may have been lost (net_driver.h says when that happens).
    void notify();
    void* take_used(uint32_t* written) { return ring_.take_used(written); }
    bool has_used() const { return ring_.has_used(); }
    void disable_interrupts() { ring_.disable_interrupts(); }
    bool enable_interrupts() { return ring_.enable_interrupts(); }
    uint16_t size() const { return ring_.size(); }
    uint16_t free_descriptors() const { return ring_.free_descriptors(); }
    unsigned index() const { return index_; }
    Device& device() const { return *device_; }
    const char* broken() const { return ring_.broken(); }
    // Statistics: interrupts taken for this queue.
    uint64_t interrupts() const { return interrupts_; }

private:
    friend class Device;
    Virtqueue ring_;
    Device* device_ = nullptr;
    unsigned index_ = 0;
    QueueConfig config_;
    void* memory_ = nullptr;  // the rings (pages)
    unsigned memory_order_ = 0;
    void* state_ = nullptr;
    uint64_t interrupts_ = 0;
};

class Device {
public:
    Device(Transport& transport, uint32_t id, const char* name);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    uint32_t id() const { return id_; }
    const char* name() const { return name_; }
    uint64_t features() const { return features_; }
    bool has(unsigned bit) const { return features_ & feature(bit); }

    // Negotiates `wanted` (device-type bits) plus what the core handles; 0, -ENOTSUP for a
    // device without VERSION_1 (legacy), -EIO when the device refuses the features.
    int negotiate(uint64_t wanted);
    // Creates `count` queues (indices 0..count-1) with the given configurations.
    int setup_queues(unsigned count, const QueueConfig* configs);
    Queue& queue(unsigned index) { return queues_[index]; }
    unsigned queue_count() const { return queue_count_; }
    const char* interrupt_kind() const { return interrupt_kind_; }
    // DRIVER_OK: the device may use the queues now.
    void ready();

    // Configuration space: `size` bytes at `offset`, read again until the generation counter
    // is the same before and after (so a multi-byte field is never torn). -EIO if it keeps
    // changing.
    int read_config(uint32_t offset, void* out, size_t size);
    void write_config(uint32_t offset, const void* data, size_t size);
    // Called (interrupt context) when the device says its configuration changed.
    void set_config_callback(void (*callback)(Device& device, void* context), void* context);

    // Marks the device FAILED and stops it: reset, interrupts detached, queues freed.
    void fail(const char* why);

    // For the driver: its state.
    void* driver_data = nullptr;

    // Transports call these from their interrupt handlers.
    void queue_interrupt(unsigned index);
    void all_queues_interrupt();
    void config_interrupt();
    Transport& transport() { return transport_; }

private:
    void free_queues();

    Transport& transport_;
    uint32_t id_;
    char name_[48];
    uint64_t features_ = 0;
    Queue* queues_ = nullptr;
    unsigned queue_count_ = 0;
    const char* interrupt_kind_ = "none";
    void (*config_callback_)(Device&, void*) = nullptr;
    void* config_context_ = nullptr;
    bool interrupts_attached_ = false;
};

// A device driver: the table in device.cc lists them by device id.
struct Driver {
    const char* name;
    uint32_t device_id;
    int (*probe)(Device& device);
};

// Transports call this for each device they find (devices phase). The device is reset, its
// driver (if any) probes it; without a driver, or when the probe fails, it stays reset.
// Takes ownership of `device` (kept for the kernel's lifetime when a driver took it).
void attach_device(Device* device);

// A name for a device id ("entropy", "net"...), for messages.
const char* device_type_name(uint32_t id);

// Devices that a driver took, for tests and --verbose.
size_t device_count();
Device& device(size_t index);

}  // namespace mica::virtio
