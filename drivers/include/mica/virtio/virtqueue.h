// The driver half of a virtio split virtqueue (virtio 1.2, section 2.7): the descriptor
// table with a free list, the available ring the driver fills and the used ring the device
// fills, indirect descriptor tables, VIRTIO_F_EVENT_IDX in both directions, and interrupt
// suppression. Transport-independent and host-tested against a model device
// (tests/unit/test_virtqueue.cc), so it touches no hardware: the transport tells the device
// where the rings are and rings its doorbell when publish() says so.
//
// Memory ordering: the rings are ordinary memory shared with the device (another CPU, as far
// as ordering goes), so the fences are the SMP ones (__atomic_thread_fence: dmb ish on
// aarch64, mfence or nothing on x86). Writes to device registers need the I/O barriers of
// arch/mmio.h, which the transports use.
//
// Not thread-safe: one user at a time (drivers hold their own lock; a queue's interrupt
// callback runs with interrupts off, so that lock is a spinlock).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::virtio {

// Ring layout, little-endian as the device sees it (Mica's architectures are little-endian).
struct Descriptor {
    uint64_t address;  // device (physical) address
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};
inline constexpr uint16_t desc_f_next = 1, desc_f_write = 2, desc_f_indirect = 4;
struct UsedElement {
    uint32_t id;      // head of the chain
    uint32_t length;  // bytes the device wrote into the chain's device-writable part
};
// Available ring: flags, idx, ring[size], used_event. Used ring: flags, idx, ring[size],
// avail_event.
inline constexpr uint16_t avail_f_no_interrupt = 1;
inline constexpr uint16_t used_f_no_notify = 1;

// The spec's vring_need_event: has `new_idx` passed `event` since `old_idx`?
inline bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
    return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

// A buffer segment: device address and length.
struct Segment {
    uint64_t address;
    uint32_t length;
};

// Where indirect descriptor tables come from (they must be device-visible): allocate `size`
// bytes and report the device address, or nullptr. Optional: without it, no indirect tables.
struct TableAllocator {
    void* (*allocate)(size_t size, uint64_t* device_address, void* context) = nullptr;
    void (*release)(void* table, void* context) = nullptr;
    void* context = nullptr;
};

class Virtqueue {
public:
    static constexpr uint16_t max_size = 32768;  // the split ring's limit
    // Byte offsets of the three parts in one block, each aligned as the spec requires
    // (descriptors 16, available ring 2, used ring 4; the used ring starts on its own page
    // so the device's writes never share a cache line with the driver's).
    struct Layout {
        size_t desc_offset, avail_offset, used_offset, total;
    };
    static Layout layout(uint16_t size);
    static bool valid_size(uint16_t size) { return size && size <= max_size && !(size & (size - 1)); }

    // `memory` (zeroed, layout(size).total bytes, device address `device_address`) holds the
    // rings; `state` is driver-private bookkeeping of state_size(size) bytes (suitably
    // aligned for pointers). -EINVAL for a size that is not a power of two up to max_size.
    static size_t state_size(uint16_t size);
    int init(uint16_t size, void* memory, uint64_t device_address, void* state, bool event_idx,
             bool indirect, TableAllocator tables = {});

    uint16_t size() const { return size_; }
    uint64_t desc_address() const { return device_address_ + layout_.desc_offset; }
    uint64_t avail_address() const { return device_address_ + layout_.avail_offset; }
    uint64_t used_address() const { return device_address_ + layout_.used_offset; }
    uint16_t free_descriptors() const { return free_count_; }

    // Adds one buffer: `out` device-readable segments followed by `in` device-writable ones,
    // remembered with `token` (returned by take_used; must not be nullptr). Not visible to the
    // device until publish(). 0, -ENOSPC when the ring has no room (try after take_used),
    // -EINVAL for no segments, a zero-length one, or more than the ring holds.
    int add(const Segment* segments, unsigned out, unsigned in, void* token);
    // Makes the buffers added since the last call visible to the device; true when the
    // device asked to be told (the caller then writes the transport's notify register).
    bool publish();

    // The next buffer the device has finished with: its token and the bytes it wrote; nullptr
    // when there is none (or the device broke the protocol: see broken()).
    void* take_used(uint32_t* written);
    bool has_used() const;

    // Interrupt suppression: disable asks the device not to interrupt for this queue (a hint
    // without EVENT_IDX); enable asks it to interrupt for the next used buffer and returns
    // false when one is already there (process it rather than wait for an interrupt).
    void disable_interrupts();
    bool enable_interrupts();

    // The device wrote something impossible into the used ring (an id that is not a buffer in
    // flight). The queue stops returning buffers; the driver should reset the device.
    const char* broken() const { return broken_; }

    // Tests: start the free-running indices at `index` instead of 0 (the device must start
    // its own there too), to cross the 16-bit wrap-around quickly.
    void start_indices_at(uint16_t index);

private:
    struct Extra;  // per descriptor: chain link, token, indirect table (driver-private)
    volatile uint16_t* avail_flags() const;
    volatile uint16_t* avail_idx() const;
    volatile uint16_t* avail_ring() const;
    volatile uint16_t* used_event() const;
    volatile uint16_t* used_flags() const;
    volatile uint16_t* used_idx() const;
    volatile UsedElement* used_ring() const;
    volatile uint16_t* avail_event() const;
    void free_chain(uint16_t head);

    uint8_t* memory_ = nullptr;
    uint64_t device_address_ = 0;
    Layout layout_ = {};
    Descriptor* desc_ = nullptr;
    Extra* extra_ = nullptr;
    TableAllocator tables_;
    uint16_t size_ = 0;
    uint16_t free_head_ = 0;
    uint16_t free_count_ = 0;
    uint16_t avail_shadow_ = 0;     // the driver's next available index
    uint16_t published_ = 0;        // the available index at the last publish()
    uint16_t last_used_ = 0;        // the next used index the driver will read
    bool event_idx_ = false;
    bool indirect_ = false;
    bool interrupts_enabled_ = true;
    const char* broken_ = nullptr;
};

}  // namespace mica::virtio
