// The back-to-back test devices (test_pair.h). Written the way a NIC driver is, against
// netdev.h alone: a ring of receive buffers per device, transmit copying the scatter list
// into the peer's free buffer (the wire), a doorbell rung by flush(), and a receive thread
// that hands frames up in batches.
#include <mica/clock.h>
#include <mica/net/offload.h>
#include <mica/net/test_pair.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <new>
#include <stdlib.h>
#include <string.h>

namespace mica::net::testing {
namespace {

constexpr size_t vlan_tag_length = 4;
constexpr size_t frame_capacity = ethernet_mtu + ethernet_header_length + vlan_tag_length;
constexpr size_t batch_max = 32;               // frames per receive() call
constexpr uint64_t release_wait_ns = 5000000000;  // destroy(): how long lent buffers may take
constexpr uint64_t poll_ns = 10000000;
constexpr int enobufs = 105;
constexpr uint8_t locally_administered = 0x02;  // first MAC byte: not a vendor's address

struct Slot {
    RxBuffer rx;
    Slot* next_free = nullptr;
    // A frame carried by reference (PairOptions::zero_copy_transmit): the sender's segments,
    // kept alive until the receive side copies them.
    TxKeep kept = nullptr;
    Segment segments[max_tx_segments];
    size_t segment_count = 0;
    TxOffload offload;
    alignas(16) uint8_t data[frame_capacity];
};

class TestDevice;

}  // namespace

struct DevicePair::Impl {
    PairOptions options;
    TestDevice* devices[2] = {};
    size_t corrupt_remaining = 0;  // atomic
    size_t corrupt_min_length = 0;
};

namespace {

class TestDevice final : public EthernetDevice {
public:
    TestDevice(DevicePair::Impl* pair, Slot* slots, Slot** queue, size_t count, uint8_t id)
        : pair_(pair), slots_(slots), queue_(queue), slot_count_(count) {
        const PairOptions& o = pair->options;
        mac[0] = locally_administered;
        mac[5] = id;
        features.tx_checksum = o.tx_checksum;
        features.rx_checksum = o.rx_checksum;
        for (size_t i = 0; i < count; ++i) {
            Slot* s = new (&slots[i]) Slot();
            s->rx.data = s->data;
            s->rx.release = release_slot;
            s->rx.driver_data = this;
            s->next_free = free_;
            free_ = s;
        }
        free_count_ = count;
    }

    void set_peer(TestDevice* peer) { peer_ = peer; }

    bool start() {
        thread_ = sched::create("netpair-rx", [](void* self) { static_cast<TestDevice*>(self)->receive_loop(); },
                                this);
        if (!thread_) return false;
        sched::start(thread_);
        return true;
    }

    void stop() {
        if (!thread_) return;
        __atomic_store_n(&stopping_, true, __ATOMIC_RELEASE);
        doorbell_.post();
        sched::join(thread_);
        thread_ = nullptr;
    }

    // Frames still queued (the receive thread is gone) go back to the free list.
    void drop_queued() {
        for (;;) {
            Slot* s;
            {
                sched::SpinGuard guard(lock_);
                if (!queued_) return;
                s = queue_[head_];
                head_ = (head_ + 1) % slot_count_;
                --queued_;
            }
            if (s->kept) {
                release_kept(s->kept);
                s->kept = nullptr;
            }
            release_slot(&s->rx);
        }
    }

    bool wait_for_buffers() {
        uint64_t deadline = clock::monotonic_ns() + release_wait_ns;
        while (__atomic_load_n(&free_count_, __ATOMIC_ACQUIRE) != slot_count_) {
            if (clock::monotonic_ns() >= deadline) return false;
            sched::sleep_ns(poll_ns);
        }
        return true;
    }

    int transmit(const TxFrame& frame) override { return peer_->carry(frame); }
    void flush() override { peer_->doorbell_.post(); }

    size_t carried() const { return __atomic_load_n(&carried_, __ATOMIC_RELAXED); }
    size_t dropped() const { return __atomic_load_n(&dropped_, __ATOMIC_RELAXED); }

private:
    // The wire: `frame` from the peer into one of this device's receive buffers, copied now or
    // (zero_copy_transmit) kept by reference and copied by the receive thread, as a device
    // reading the sender's memory later would.
    int carry(const TxFrame& frame) {
        if (frame.length > frame_capacity) {
            __atomic_add_fetch(&dropped_, 1, __ATOMIC_RELAXED);
            return -enobufs;
        }
        Slot* s;
        {
            sched::SpinGuard guard(lock_);
            s = free_;
            if (s) {
                free_ = s->next_free;
                --free_count_;
            }
        }
        if (!s) {
            __atomic_add_fetch(&dropped_, 1, __ATOMIC_RELAXED);
            return -enobufs;
        }
        s->offload = frame.offload;
        s->segment_count = frame.segment_count;
        for (size_t i = 0; i < frame.segment_count; ++i) s->segments[i] = frame.segments[i];
        if (pair_->options.zero_copy_transmit) {
            s->kept = keep(frame);
        } else {
            materialize(s);
        }
        {
            sched::SpinGuard guard(lock_);
            queue_[(head_ + queued_) % slot_count_] = s;
            ++queued_;
        }
        __atomic_add_fetch(&carried_, 1, __ATOMIC_RELAXED);
        return 0;
    }

    // Copies the frame's segments into the slot and does what the sender's NIC and the wire
    // do: finish a partial checksum (or pass it on as verified), corrupt when asked.
    void materialize(Slot* s) {
        size_t at = 0;
        for (size_t i = 0; i < s->segment_count; ++i) {
            memcpy(s->data + at, s->segments[i].data, s->segments[i].length);
            at += s->segments[i].length;
        }
        if (s->kept) {
            release_kept(s->kept);
            s->kept = nullptr;
        }
        s->rx.length = static_cast<uint16_t>(at);
        s->rx.checksum_verified = false;
        if (s->offload.checksum_partial) {
            if (features.rx_checksum) {
                s->rx.checksum_verified = true;  // passed on unsummed, trusted
            } else {
                complete_checksum(s->data, at, s->offload);  // what the sender's NIC does
            }
        }
        size_t& corrupt = pair_->corrupt_remaining;
        size_t left = __atomic_load_n(&corrupt, __ATOMIC_RELAXED);
        while (left && at >= pair_->corrupt_min_length) {
            if (__atomic_compare_exchange_n(&corrupt, &left, left - 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
                s->data[at - 1] ^= 0xff;
                break;
            }
        }
    }

    static void release_slot(RxBuffer* buffer) {
        auto* device = static_cast<TestDevice*>(buffer->driver_data);
        auto* s = reinterpret_cast<Slot*>(reinterpret_cast<unsigned char*>(buffer) - offsetof(Slot, rx));
        sched::SpinGuard guard(device->lock_);
        s->next_free = device->free_;
        device->free_ = s;
        __atomic_add_fetch(&device->free_count_, 1, __ATOMIC_RELEASE);
    }

    void receive_loop() {
        for (;;) {
            doorbell_.wait();
            for (;;) {
                RxBuffer* batch[batch_max];
                size_t n = 0;
                {
                    sched::SpinGuard guard(lock_);
                    while (n < batch_max && queued_) {
                        batch[n++] = &queue_[head_]->rx;
                        head_ = (head_ + 1) % slot_count_;
                        --queued_;
                    }
                }
                if (n == 0) break;
                for (size_t i = 0; i < n; ++i) {
                    auto* slot = reinterpret_cast<Slot*>(reinterpret_cast<unsigned char*>(batch[i]) - offsetof(Slot, rx));
                    if (slot->kept) materialize(slot);
                }
                if (pair_->options.zero_copy) {
                    receive(batch, n);
                } else {
                    for (size_t i = 0; i < n; ++i) {
                        receive_copy(batch[i]->data, batch[i]->length, batch[i]->checksum_verified);
                        release_slot(batch[i]);
                    }
                }
            }
            if (__atomic_load_n(&stopping_, __ATOMIC_ACQUIRE)) return;
        }
    }

    DevicePair::Impl* pair_;
    TestDevice* peer_ = nullptr;
    Slot* slots_;
    Slot** queue_;        // frames carried, not yet handed up: a ring of slot_count_
    size_t slot_count_;
    sched::Spinlock lock_;  // free_, free_count_ (writes), the queue
    Slot* free_ = nullptr;
    size_t free_count_ = 0;
    size_t head_ = 0, queued_ = 0;
    sched::Semaphore doorbell_{0};
    bool stopping_ = false;
    sched::Thread* thread_ = nullptr;
    size_t carried_ = 0, dropped_ = 0;

};

// One device with its buffers in a single allocation: [TestDevice][slots][queue].
TestDevice* make_device(DevicePair::Impl* pair, size_t count, uint8_t id) {
    size_t device_bytes = (sizeof(TestDevice) + alignof(Slot) - 1) / alignof(Slot) * alignof(Slot);
    void* memory = aligned_alloc(alignof(Slot), device_bytes + count * sizeof(Slot) + count * sizeof(Slot*));
    if (!memory) return nullptr;
    auto* bytes = static_cast<unsigned char*>(memory);
    auto* slots = reinterpret_cast<Slot*>(bytes + device_bytes);
    auto* queue = reinterpret_cast<Slot**>(bytes + device_bytes + count * sizeof(Slot));
    return new (memory) TestDevice(pair, slots, queue, count, id);
}

void free_device(TestDevice* d) {
    if (!d) return;
    d->~TestDevice();
    free(d);
}

}  // namespace

DevicePair* DevicePair::create(const PairOptions& options) {
    if (options.ring_size == 0) return nullptr;
    auto* pair = static_cast<DevicePair*>(malloc(sizeof(DevicePair)));
    auto* impl = static_cast<Impl*>(malloc(sizeof(Impl)));
    if (!pair || !impl) {
        free(pair);
        free(impl);
        return nullptr;
    }
    new (pair) DevicePair();
    pair->impl_ = new (impl) Impl();
    impl->options = options;
    for (uint8_t i = 0; i < 2; ++i) impl->devices[i] = make_device(impl, options.ring_size, static_cast<uint8_t>(i + 1));
    TestDevice* a = impl->devices[0];
    TestDevice* b = impl->devices[1];
    if (!a || !b) {
        pair->destroy();
        return nullptr;
    }
    a->set_peer(b);
    b->set_peer(a);
    if (!a->start() || !b->start() || register_device(*a) != 0 || register_device(*b) != 0) {
        pair->destroy();
        return nullptr;
    }
    return pair;
}

bool DevicePair::destroy() {
    bool clean = true;
    TestDevice** devices = impl_->devices;
    // The drivers' side first (no receive() from now on), then the stack's (no transmit()).
    for (TestDevice* d : impl_->devices) {
        if (d) d->stop();
    }
    for (TestDevice* d : impl_->devices) {
        if (d) unregister_device(*d);
    }
    for (TestDevice* d : impl_->devices) {
        if (!d) continue;
        d->drop_queued();
        clean &= d->wait_for_buffers();
    }
    if (!clean) return false;
    free_device(devices[0]);
    free_device(devices[1]);
    impl_->~Impl();
    free(impl_);
    this->~DevicePair();
    free(this);
    return true;
}

EthernetDevice& DevicePair::first() { return *impl_->devices[0]; }
EthernetDevice& DevicePair::second() { return *impl_->devices[1]; }

void DevicePair::corrupt_next(size_t count, size_t min_length) {
    impl_->corrupt_min_length = min_length;
    __atomic_store_n(&impl_->corrupt_remaining, count, __ATOMIC_RELEASE);
}

size_t DevicePair::frames_carried() const { return impl_->devices[0]->carried() + impl_->devices[1]->carried(); }
size_t DevicePair::frames_dropped() const { return impl_->devices[0]->dropped() + impl_->devices[1]->dropped(); }

}  // namespace mica::net::testing
