// A model virtio-net device for the in-guest tests of the real driver (drivers/virtio/net.cc):
// a virtio::Transport whose device side is this code, reading the driver's rings in guest
// memory and writing used entries as QEMU would, and able to do what no correct device does
// (used ids that are not in flight, overfilled buffers, impossible frame counts,
// DEVICE_NEEDS_RESET), so the tests can check the driver stops such a device and the kernel
// carries on. Used from the test thread only; interrupts are delivered with interrupts off,
// as a real one arrives.
#pragma once

#include <mica/virtio/device.h>
#include <mica/virtio/net_spec.h>
#include <stddef.h>
#include <stdint.h>

namespace nettest {

inline constexpr uint16_t model_queue_size = 64;
inline constexpr uint8_t model_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x4d, 0x01};
inline constexpr size_t max_model_segments = 24;

class ModelNet final : public mica::virtio::Transport {
public:
    struct Queue {
        uint16_t size = 0;
        bool enabled = false;
        mica::virtio::Descriptor* desc = nullptr;
        volatile uint16_t* avail = nullptr;  // flags, idx, ring[size]
        uint8_t* used = nullptr;             // flags, idx, ring[size]
        uint16_t last_avail = 0, used_idx = 0;
        uint64_t notifications = 0;
    };
    struct Chain {
        uint16_t head;
        unsigned count;
        uint8_t* address[max_model_segments];
        uint32_t length[max_model_segments];
        bool writable[max_model_segments];
    };

    // `features`: the device-type bits offered (VERSION_1 is always added).
    ModelNet(uint64_t features, uint16_t mtu);
    ~ModelNet();
    // Creates the virtio::Device and lets the driver probe it (virtio::net_attach): 0 or -errno.
    int attach();
    // virtio::net_detach, then frees the Device.
    bool detach();
    mica::virtio::Device* device() const { return device_; }

    // Transport (the driver's side calls these through the virtio core).
    uint64_t device_features() override { return offered_; }
    void set_driver_features(uint64_t f) override { accepted_ = f; }
    uint8_t status() override { return status_; }
    void set_status(uint8_t s) override {
        status_ = s;
        marked_failed_ |= s & mica::virtio::status_failed;
    }
    bool reset() override;
    unsigned queue_count() override { return 2; }
    uint16_t queue_max_size(unsigned index) override { return index < 2 ? model_queue_size : 0; }
    int queue_enable(unsigned index, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used) override;
    void queue_notify(unsigned index) override;
    int attach_interrupts(unsigned queues, const char** kind) override;
    void detach_interrupts() override { interrupts_attached_ = false; }
    uint32_t config_generation() override { return generation_; }
    uint8_t config_read8(uint32_t offset) override { return offset < sizeof config_ ? config_[offset] : 0; }
    void config_write8(uint32_t, uint8_t) override {}

    // --- The device's side -------------------------------------------------------------------
    Queue& queue(unsigned index) { return queues_[index]; }
    uint64_t accepted() const { return accepted_; }
    // The driver (or the core for it) set FAILED at some point.
    bool marked_failed() const { return marked_failed_; }
    // Buffers the driver made available and the device has not taken yet.
    uint16_t available(unsigned index);
    // Takes the next available chain (false when none), walking indirect tables.
    bool pop(unsigned index, Chain& chain);
    void push_used(unsigned index, uint32_t id, uint32_t length);
    // The queue's interrupt, unless the driver asked for none (or `force`).
    void interrupt(unsigned index, bool force = false);
    void config_changed();
    void set_link(bool up);
    void set_needs_reset();
    // Interrupts and doorbells lost as a device whose event-index handshake raced loses them
    // (drivers/virtio/net_driver.h, the watchdog): none delivered, doorbells only counted.
    bool lose_notifications = false;

    // A received frame: the header (num_buffers filled in), then the bytes, over as many
    // buffers as it takes (one without mergeable buffers), then the interrupt. False if the
    // driver had not posted enough buffers.
    bool deliver(const uint8_t* frame, size_t length, mica::virtio::net_spec::Header header = {});
    // The next frame the driver sent: its header and bytes; -1 if there is none (yet).
    long take_transmitted(uint8_t* out, size_t max, mica::virtio::net_spec::Header* header);
    // Waits (bounded) for a transmitted frame.
    long wait_transmitted(uint8_t* out, size_t max, mica::virtio::net_spec::Header* header);

private:
    uint64_t offered_;
    uint64_t accepted_ = 0;
    uint8_t status_ = 0;
    uint8_t config_[12] = {};  // mac, status, max_virtqueue_pairs, mtu
    uint32_t generation_ = 0;
    bool interrupts_attached_ = false;
    bool marked_failed_ = false;
    Queue queues_[2];
    mica::virtio::Device* device_ = nullptr;
};

}  // namespace nettest
