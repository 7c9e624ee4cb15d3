// The virtio core: feature negotiation, the status handshake, queue set-up and the driver
// table (device.h).
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/driver-config.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <mica/virtio/device.h>
#include <new>
#include <stdlib.h>
#include <string.h>

namespace mica::virtio {

#if CONF_drivers_virtio_rng
extern const Driver rng_driver;
#endif
#if CONF_drivers_virtio_net
extern const Driver net_driver;
#endif
#if CONF_drivers_virtio_blk
extern const Driver blk_driver;
#endif

namespace {
constexpr int errno_nomem = 12, errno_io = 5, errno_inval = 22, errno_notsup = 95, errno_nodev = 19;
constexpr size_t page_size = 4096;
constexpr int max_generation_retries = 16;
constexpr size_t max_devices = 32;

const Driver* const drivers[] = {
#if CONF_drivers_virtio_rng
    &rng_driver,
#endif
#if CONF_drivers_virtio_net
    &net_driver,
#endif
#if CONF_drivers_virtio_blk
    &blk_driver,
#endif
    nullptr,
};

// Owned here: the devices drivers took (appended in the devices phase, boot CPU).
Device* taken[max_devices];
size_t taken_count = 0;

// Indirect tables from the heap (direct-mapped, contiguous within a block).
void* table_allocate(size_t size, uint64_t* device_address, void*) {
    void* p = mm::allocate(size, alignof(Descriptor), 0);
    if (p) *device_address = mm::virt_to_phys(p);
    return p;
}
void table_release(void* table, void*) { mm::release(table); }

unsigned order_for(size_t bytes) {
    unsigned order = 0;
    while ((page_size << order) < bytes) ++order;
    return order;
}
}  // namespace

const char* device_type_name(uint32_t id) {
    switch (id) {
    case device_net: return "net";
    case device_block: return "block";
    case device_console: return "console";
    case device_entropy: return "entropy (rng)";
    default: return "unknown";
    }
}

Device::Device(Transport& transport, uint32_t id, const char* name) : transport_(transport), id_(id) {
    fmt::snprintf(name_, sizeof name_, "%s", name);
}

Device::~Device() { free_queues(); }

int Device::negotiate(uint64_t wanted) {
    uint64_t offered = transport_.device_features();
    if (!(offered & feature(feature_version_1))) {
        kprintf("mica: %s: legacy virtio device (no VIRTIO_F_VERSION_1): Mica drives virtio 1.0 devices only\n", name_);
        return -errno_notsup;
    }
    // The core's part: virtio 1.0, and the ring features the virtqueue implements. Packed
    // rings and platform DMA translation (ACCESS_PLATFORM, an IOMMU) are not offered back.
    uint64_t core = feature(feature_version_1) | feature(feature_event_idx) | feature(feature_indirect_desc);
    features_ = offered & (wanted | core);
    transport_.set_driver_features(features_);
    transport_.set_status(transport_.status() | status_features_ok);
    if (!(transport_.status() & status_features_ok)) {
        kprintf("mica: %s: the device refused features %#llx\n", name_, (unsigned long long)features_);
        return -errno_io;
    }
    return 0;
}

int Device::setup_queues(unsigned count, const QueueConfig* configs) {
    if (queues_ || count == 0) return -errno_inval;
    if (count > transport_.queue_count()) {
        kprintf("mica: %s: needs %u queues, the device has %u\n", name_, count, transport_.queue_count());
        return -errno_nodev;
    }
    void* p = mm::allocate(sizeof(Queue) * count, alignof(Queue), 0);
    if (!p) return -errno_nomem;
    queues_ = static_cast<Queue*>(p);
    for (unsigned i = 0; i < count; ++i) new (&queues_[i]) Queue;
    queue_count_ = count;
    for (unsigned i = 0; i < count; ++i) {
        Queue& q = queues_[i];
        q.device_ = this;
        q.index_ = i;
        q.config_ = configs[i];
        uint16_t size = transport_.queue_max_size(i);
        if (size == 0) {
            kprintf("mica: %s: queue %u is not available\n", name_, i);
            return -errno_nodev;
        }
        // The largest power of two within both limits (virtio 1.0 requires a power of two
        // for split rings).
        uint16_t limit = configs[i].max_size && configs[i].max_size < size ? configs[i].max_size : size;
        uint16_t s = 1;
        while (s * 2 <= limit && s * 2 <= Virtqueue::max_size) s = static_cast<uint16_t>(s * 2);
        auto layout = Virtqueue::layout(s);
        q.memory_order_ = order_for(layout.total);
        q.memory_ = mm::alloc_pages(q.memory_order_);
        q.state_ = mm::allocate(Virtqueue::state_size(s), alignof(void*), 0);
        if (!q.memory_ || !q.state_) return -errno_nomem;
        memset(q.memory_, 0, page_size << q.memory_order_);
        q.ring_.init(s, q.memory_, mm::virt_to_phys(q.memory_), q.state_, has(feature_event_idx),
                     has(feature_indirect_desc), {table_allocate, table_release, nullptr});
    }
    if (int e = transport_.attach_interrupts(count, &interrupt_kind_)) {
        kprintf("mica: %s: no interrupt (error %d)\n", name_, e);
        return e;
    }
    interrupts_attached_ = true;
    for (unsigned i = 0; i < count; ++i) {
        Queue& q = queues_[i];
        if (int e = transport_.queue_enable(i, q.ring_.size(), q.ring_.desc_address(), q.ring_.avail_address(),
                                            q.ring_.used_address())) {
            kprintf("mica: %s: queue %u could not be enabled\n", name_, i);
            return e;
        }
    }
    return 0;
}

void Device::ready() { transport_.set_status(transport_.status() | status_driver_ok); }

int Device::read_config(uint32_t offset, void* out, size_t size) {
    auto* bytes = static_cast<uint8_t*>(out);
    for (int attempt = 0; attempt < max_generation_retries; ++attempt) {
        uint32_t before = transport_.config_generation();
        for (size_t i = 0; i < size; ++i) bytes[i] = transport_.config_read8(offset + static_cast<uint32_t>(i));
        if (transport_.config_generation() == before) return 0;
    }
    kprintf("mica: %s: configuration keeps changing while read\n", name_);
    return -errno_io;
}

void Device::write_config(uint32_t offset, const void* data, size_t size) {
    auto* bytes = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < size; ++i) transport_.config_write8(offset + static_cast<uint32_t>(i), bytes[i]);
}

void Device::set_config_callback(void (*callback)(Device&, void*), void* context) {
    config_context_ = context;
    __atomic_store_n(&config_callback_, callback, __ATOMIC_RELEASE);
}

void Device::free_queues() {
    if (interrupts_attached_) {
        transport_.detach_interrupts();
        interrupts_attached_ = false;
    }
    for (unsigned i = 0; i < queue_count_; ++i) {
        Queue& q = queues_[i];
        if (q.memory_) mm::free_pages(q.memory_, q.memory_order_);
        if (q.state_) mm::release(q.state_);
        // Indirect tables still in flight belong to a device that was reset: drop them with
        // the ring (take_used will never return them).
        q.~Queue();
    }
    if (queues_) mm::release(queues_);
    queues_ = nullptr;
    queue_count_ = 0;
}

void Device::fail(const char* why) {
    if (why) kprintf("mica: %s: %s; device stopped\n", name_, why);
    transport_.set_status(transport_.status() | status_failed);
    transport_.reset();  // the device no longer touches the rings: they can be freed
    free_queues();
}

bool Queue::kick() {
    if (!ring_.publish()) return false;
    device_->transport().queue_notify(index_);
    return true;
}

void Queue::notify() {
    ring_.publish();
    device_->transport().queue_notify(index_);
}

void Device::queue_interrupt(unsigned index) {
    if (index >= queue_count_) return;
    Queue& q = queues_[index];
    ++q.interrupts_;
    if (q.config_.callback) q.config_.callback(q, q.config_.context);
}

void Device::all_queues_interrupt() {
    for (unsigned i = 0; i < queue_count_; ++i) queue_interrupt(i);
}

void Device::config_interrupt() {
    if (auto cb = __atomic_load_n(&config_callback_, __ATOMIC_ACQUIRE)) cb(*this, config_context_);
}

void attach_device(Device* device) {
    Transport& t = device->transport();
    if (!t.reset()) {
        kprintf("mica: %s: does not reset; ignored\n", device->name());
        delete device;
        return;
    }
    t.set_status(status_acknowledge);
    const Driver* driver = nullptr;
    for (const Driver* d : drivers) {
        if (d && d->device_id == device->id()) driver = d;
    }
    if (!driver) {
        if (drivers::verbose()) {
            kprintf("mica: %s: %s device, no driver\n", device->name(), device_type_name(device->id()));
        }
        t.reset();
        delete device;
        return;
    }
    t.set_status(status_acknowledge | status_driver);
    int e = driver->probe(*device);
    if (e != 0) {
        kprintf("mica: %s: %s driver did not take the device (error %d)\n", device->name(), driver->name, e);
        device->fail(nullptr);
        delete device;
        return;
    }
    if (drivers::verbose()) {
        kprintf("mica: %s: %s, %u queue%s, interrupts %s\n", device->name(), driver->name, device->queue_count(),
                device->queue_count() == 1 ? "" : "s", device->interrupt_kind());
    }
    if (taken_count < max_devices) taken[taken_count++] = device;
}

size_t device_count() { return taken_count; }
Device& device(size_t index) { return *taken[index]; }

}  // namespace mica::virtio
