// virtio-net (virtio 1.2, section 5.1): one receive and one transmit queue per device, each
// device an Ethernet device of the network stack (mica/net/netdev.h). docs/networking.md,
// "The virtio-net driver", says why it is built this way; in short:
//
// Receive. A pool of buffers (twice the ring) lent to the device; the used ones become frames
// (net_spec.h's RxAssembler: the header, mergeable buffers chained into one frame, a device
// that writes nonsense refused) and go up in batches with EthernetDevice::receive(), zero
// copy: the stack keeps a buffer until it releases it, and the buffer goes back to the pool.
// When more than a ring's worth is lent out (data waiting in sockets), frames are copied
// instead, so the ring can always be refilled. All of it runs in one thread per device, woken
// by the queue's interrupt, which turns the interrupt off: the thread polls while frames keep
// coming (a budget per round, then it yields), and turns interrupts on again only when the
// ring is empty, looking once more afterwards (enable_interrupts() false: frames arrived in
// between). Under load there is no interrupt per packet (Linux's NAPI).
//
// Transmit. The stack calls transmit() with its core lock held. A frame longer than
// tx_copybreak whose segments are all device-visible memory goes out in place (net::keep
// holds the stack's pbufs until the device is done); shorter ones are copied next to their
// header (one descriptor, nothing held); longer ones in memory the device cannot read
// (application pages) are copied to the heap. flush() rings the doorbell once per batch.
// Finished buffers are reclaimed lazily: at the next transmit, when the receive thread runs,
// and after tx_reclaim_delay_ns when it is idle with buffers out. The transmit interrupt is
// used only when the ring is full.
//
// Offloads. VIRTIO_NET_F_CSUM: TCP checksums are finished by the device (TxOffload ->
// NEEDS_CSUM). VIRTIO_NET_F_GUEST_CSUM: frames marked DATA_VALID or NEEDS_CSUM skip the
// stack's checksum check. TSO/GSO is not negotiated: lwIP never builds a segment larger than
// the peer's MSS, so the host TSO features (HOST_TSO4/6, HOST_UFO) would never be used, and
// the guest ones (GUEST_TSO4/6, GUEST_UFO) would let the host send frames up to 64 KiB that
// the receive path and the stack's MTU checks do not expect.
//
// A device that breaks the protocol (its rings, a buffer it overfills, an impossible frame
// count, DEVICE_NEEDS_RESET) is stopped with a message: the interface stays, link down.
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <mica/net/netdev.h>
#include <mica/random.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <mica/virtio/device.h>
#include <mica/virtio/net.h>
#include <mica/virtio/net_spec.h>
#include <new>
#include <stdlib.h>
#include <string.h>

namespace mica::virtio {
namespace {
using namespace net_spec;

constexpr int errno_io = 5, errno_nomem = 12, errno_nodev = 19, errno_notsup = 95, errno_nobufs = 105;
constexpr uint16_t ring_entries = 256;           // per queue at most (the device may offer fewer)
constexpr size_t rx_budget = 64;                 // frames per poll round, then yield (NAPI's weight)
constexpr size_t rx_pool_rings = 2;              // receive buffers: this many rings' worth
constexpr size_t tx_copybreak = 256;             // frames up to this are copied next to their header
constexpr size_t tx_reclaim_batch = 64;          // finished transmit buffers taken per lock hold
constexpr uint64_t tx_reclaim_delay_ns = 10'000'000;  // idle with buffers out: reclaim after 10 ms
constexpr uint8_t locally_administered = 0x02;   // first MAC byte of a made-up address
constexpr uint8_t multicast_bit = 0x01;

// The boot options: written by the command-line parser, read by probe.
struct Options {
    uint32_t rx_buffer = 0;  // 0: default_mergeable_buffer
    bool polling = true;
} options;

const char* const on_off[] = {"on", "off", nullptr};
const cmdline::Option option_table[] = {
    {"virtio-net-rx-buffer", "BYTES", "size of virtio-net's mergeable receive buffers (256-65536; default 2048)",
     nullptr,
     [](const char* v) -> const char* {
         uint64_t n = 0;
         for (const char* p = v; *p; ++p) {
             if (*p < '0' || *p > '9') return "expected a number of bytes";
             if (n <= max_mergeable_buffer) n = n * 10 + static_cast<unsigned>(*p - '0');
         }
         if (!*v) return "expected a number of bytes";
         if (const char* problem = check_mergeable_size(n > max_mergeable_buffer ? max_mergeable_buffer + 1 : static_cast<uint32_t>(n))) {
             return problem;
         }
         options.rx_buffer = static_cast<uint32_t>(n);
         return nullptr;
     }},
    {"virtio-net-poll", "on|off", "receive by polling under load (on, the default) or take an interrupt per packet",
     on_off, [](const char* v) -> const char* {
         options.polling = strcmp(v, "on") == 0;
         return nullptr;
     }},
};

class VirtioNet;

struct RxSlot {
    net::RxBuffer rx;  // the stack's view (data, length, next, release)
    VirtioNet* owner = nullptr;
    RxSlot* next_free = nullptr;
    uint8_t* memory = nullptr;  // plan.allocation bytes; the device writes from memory + ip_align
};

struct TxSlot {
    TxSlot* next_free = nullptr;
    bool in_flight = false;
    net::TxKeep kept = nullptr;  // zero copy: the stack's pbufs until the device is done
    uint8_t* bounce = nullptr;   // a long frame copied to the heap (memory the device cannot read)
    alignas(64) uint8_t bytes[header_size + tx_copybreak];  // the header, then a short frame
};

// What reclaiming leaves to release once no driver lock is held (releasing a kept pbuf may
// release a receive buffer of this very driver: an ICMP echo reply is the request's pbuf).
struct TxLeftover {
    net::TxKeep kept;
    uint8_t* bounce;
};

class VirtioNet final : public net::EthernetDevice {
public:
    explicit VirtioNet(Device& device) : device_(device) {}
    int probe();
    int transmit(const net::TxFrame& frame) override;
    void flush() override;
    NetStats snapshot();

private:
    enum class State { starting, running, failed };

    int read_identity();
    int allocate_buffers();
    void free_buffers();
    static void rx_interrupt(Queue&, void* self);
    static void tx_interrupt(Queue&, void* self);
    static void config_changed(Device&, void* self);
    static void release(net::RxBuffer* buffer);
    static void thread_main(void* self) { static_cast<VirtioNet*>(self)->run(); }
    void run();
    size_t poll_rx();
    void refill();
    void recycle(net::RxBuffer* chain);  // rx_lock_ held
    size_t reclaim_tx_locked(TxLeftover* out, size_t max);
    void reclaim_tx();
    static void release_leftovers(const TxLeftover* leftovers, size_t count);
    bool tx_pending();
    void update_link();
    void stop(const char* why);

    Device& device_;
    Queue* rxq_ = nullptr;
    Queue* txq_ = nullptr;
    BufferPlan plan_{};
    bool has_status_ = false, link_up_ = true;
    bool polling_ = true;
    sched::Semaphore wake_{0};
    sched::Thread* thread_ = nullptr;
    State state_ = State::starting;  // changed under both locks
    const char* failure_ = nullptr;  // a problem found outside the thread, for it to act on (atomic)
    bool config_changed_ = false;    // atomic

    // Receive, under rx_lock_ (the interrupt handler takes it to turn interrupts off).
    sched::Spinlock rx_lock_;
    RxSlot* rx_slots_ = nullptr;
    size_t rx_slot_count_ = 0;
    RxSlot* rx_free_ = nullptr;
    size_t posted_ = 0, lent_ = 0, lend_limit_ = 0;
    bool refill_wanted_ = false;
    RxAssembler assembler_;  // the thread's, rx_lock_ held
    // Transmit, under tx_lock_.
    sched::Spinlock tx_lock_;
    TxSlot* tx_slots_ = nullptr;
    size_t tx_slot_count_ = 0;
    TxSlot* tx_free_ = nullptr;
    size_t tx_in_flight_ = 0;
    bool tx_armed_ = false;  // the transmit interrupt is on (the ring was full)

    // Counters: each written under the lock of its path; interrupt counts atomically.
    uint64_t rx_interrupts_ = 0, tx_interrupts_ = 0, config_interrupts_ = 0;
    uint64_t rx_polls_ = 0, rx_yields_ = 0, rx_copied_frames_ = 0;
    uint64_t tx_frames_ = 0, tx_zero_copy_ = 0, tx_copied_ = 0, tx_bounced_ = 0, tx_offload_ = 0, tx_full_ = 0,
             tx_kicks_ = 0, link_changes_ = 0;
};

// Owned here: the devices probed (appended in the devices phase, never removed).
VirtioNet* devices[net::max_devices];
size_t device_total = 0;

void format_mac(const uint8_t* mac, char* out, size_t size) {
    fmt::snprintf(out, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int VirtioNet::read_identity() {
    if (device_.has(feature_mac)) {
        if (int e = device_.read_config(config_mac, mac, sizeof mac)) return e;
    } else {
        // No address from the device: a random one, locally administered and unicast.
        random::fill(mac, sizeof mac);
        mac[0] = static_cast<uint8_t>((mac[0] | locally_administered) & ~multicast_bit);
    }
    mtu = net::ethernet_mtu;
    if (device_.has(feature_mtu)) {
        uint8_t raw[2];
        if (int e = device_.read_config(config_mtu, raw, sizeof raw)) return e;
        uint16_t offered = static_cast<uint16_t>(raw[0] | raw[1] << 8);
        if (offered < net::min_mtu) {
            kprintf("mica: %s: the device's MTU %u is below IPv4's minimum of %u\n", device_.name(), offered,
                    static_cast<unsigned>(net::min_mtu));
            return -errno_notsup;
        }
        mtu = offered < net::max_mtu ? offered : net::max_mtu;
    }
    has_status_ = device_.has(feature_status);
    if (has_status_) {
        uint8_t raw[2];
        if (int e = device_.read_config(config_status, raw, sizeof raw)) return e;
        link_up_ = raw[0] & status_link_up;
    }
    initial_link_up = link_up_;
    features.tx_checksum = device_.has(feature_csum);
    features.rx_checksum = device_.has(feature_guest_csum);
    return 0;
}

int VirtioNet::allocate_buffers() {
    rx_slot_count_ = rx_pool_rings * rxq_->size();
    lend_limit_ = rx_slot_count_ - rxq_->size();  // at most this many out: the ring refills fully
    tx_slot_count_ = txq_->size();
    rx_slots_ = static_cast<RxSlot*>(mm::allocate(sizeof(RxSlot) * rx_slot_count_, alignof(RxSlot), 0));
    tx_slots_ = static_cast<TxSlot*>(mm::allocate(sizeof(TxSlot) * tx_slot_count_, alignof(TxSlot), 0));
    if (!rx_slots_ || !tx_slots_) return -errno_nomem;
    for (size_t i = 0; i < rx_slot_count_; ++i) new (&rx_slots_[i]) RxSlot;
    for (size_t i = 0; i < tx_slot_count_; ++i) new (&tx_slots_[i]) TxSlot;
    // The slots' headers and short frames are read by the device in place.
    if (!mm::in_direct_map(tx_slots_, sizeof(TxSlot) * tx_slot_count_)) return -errno_nomem;
    for (size_t i = 0; i < rx_slot_count_; ++i) {
        RxSlot& s = rx_slots_[i];
        s.memory = static_cast<uint8_t*>(mm::allocate(plan_.allocation, 64, 0));
        if (!s.memory) return -errno_nomem;
        if (!mm::in_direct_map(s.memory, plan_.allocation)) {
            kprintf("mica: %s: receive buffer memory is not device-visible\n", device_.name());
            return -errno_nomem;
        }
        s.owner = this;
        s.rx.release = release;
        s.rx.driver_data = this;
        s.next_free = rx_free_;
        rx_free_ = &s;
    }
    for (size_t i = 0; i < tx_slot_count_; ++i) {
        tx_slots_[i].next_free = tx_free_;
        tx_free_ = &tx_slots_[i];
    }
    return 0;
}

void VirtioNet::free_buffers() {
    if (rx_slots_) {
        for (size_t i = 0; i < rx_slot_count_; ++i) mm::release(rx_slots_[i].memory);
    }
    mm::release(rx_slots_);  // both trivially destructible
    mm::release(tx_slots_);
    rx_slots_ = nullptr;
    tx_slots_ = nullptr;
}

int VirtioNet::probe() {
    // What the driver can use (see the top of the file for what it leaves out and why).
    uint64_t wanted = feature(feature_csum) | feature(feature_guest_csum) | feature(feature_mtu) |
                      feature(feature_mac) | feature(feature_mrg_rxbuf) | feature(feature_status);
    if (int e = device_.negotiate(wanted)) return e;
    if (int e = read_identity()) return e;
    polling_ = options.polling;
    plan_ = plan_buffers(device_.has(feature_mrg_rxbuf), mtu, options.rx_buffer);

    QueueConfig queues[2] = {{rx_interrupt, this, ring_entries}, {tx_interrupt, this, ring_entries}};
    if (int e = device_.setup_queues(2, queues)) return e;
    // From here the queues' interrupts name this object: a failure stops the device (which
    // detaches them) before the caller frees it.
    auto fail = [&](int e) {
        device_.fail(nullptr);
        free_buffers();
        return e;
    };
    rxq_ = &device_.queue(receive_queue);
    txq_ = &device_.queue(transmit_queue);
    txq_->disable_interrupts();  // completions are reclaimed lazily
    RxLayout layout;
    layout.capacity = plan_.capacity;
    layout.mergeable = device_.has(feature_mrg_rxbuf);
    layout.guest_csum = device_.has(feature_guest_csum);
    layout.max_parts = rxq_->size();
    layout.max_frame = max_frame_length(mtu);
    assembler_.configure(layout);
    if (int e = allocate_buffers()) return fail(e);
    device_.set_config_callback(config_changed, this);
    if (int e = net::register_device(*this)) {
        kprintf("mica: %s: cannot add a network interface (error %d)\n", device_.name(), e);
        return fail(e);
    }
    thread_ = sched::create("virtio-net", thread_main, this);
    if (!thread_) {
        net::unregister_device(*this);
        return fail(-errno_nomem);
    }
    {
        sched::SpinGuard rx(rx_lock_);
        sched::SpinGuard tx(tx_lock_);
        state_ = State::running;
    }
    device_.ready();
    refill();  // the first buffers, and the first notification (after DRIVER_OK, as required)
    sched::detach(thread_);
    sched::start(thread_);
    if (drivers::verbose()) {
        char address[18];
        format_mac(mac, address, sizeof address);
        kprintf("mica: %s: %s, virtio-net %s, MTU %u, link %s, receive %s buffers of %u bytes (%u-entry rings), "
                "checksum offload: transmit %s, receive %s, %s\n",
                name(), device_.name(), address, mtu, link_up_ ? "up" : "down",
                device_.has(feature_mrg_rxbuf) ? "mergeable" : "whole-frame", plan_.capacity, rxq_->size(),
                features.tx_checksum ? "yes" : "no", features.rx_checksum ? "yes" : "no",
                polling_ ? "polling under load" : "an interrupt per packet");
    }
    return 0;
}

// --- Receive -------------------------------------------------------------------------------

void VirtioNet::rx_interrupt(Queue&, void* context) {
    auto* self = static_cast<VirtioNet*>(context);
    __atomic_add_fetch(&self->rx_interrupts_, 1, __ATOMIC_RELAXED);
    {
        sched::SpinGuard guard(self->rx_lock_);
        if (self->state_ != State::running) return;
        if (self->polling_) self->rxq_->disable_interrupts();  // the thread polls from here on
    }
    self->wake_.post();
}

void VirtioNet::release(net::RxBuffer* buffer) {
    auto* slot = reinterpret_cast<RxSlot*>(buffer);  // rx is RxSlot's first member
    VirtioNet* self = slot->owner;
    bool wake;
    {
        sched::SpinGuard guard(self->rx_lock_);
        slot->next_free = self->rx_free_;
        self->rx_free_ = slot;
        --self->lent_;
        wake = self->refill_wanted_;
        self->refill_wanted_ = false;
    }
    if (wake) self->wake_.post();
}

void VirtioNet::recycle(net::RxBuffer* chain) {
    while (chain) {
        auto* slot = reinterpret_cast<RxSlot*>(chain);
        chain = chain->next;
        slot->next_free = rx_free_;
        rx_free_ = slot;
    }
}

void VirtioNet::refill() {
    sched::SpinGuard guard(rx_lock_);
    if (state_ != State::running) return;
    bool added = false;
    while (rx_free_ && posted_ < rxq_->size()) {
        RxSlot* slot = rx_free_;
        Segment segment{mm::virt_to_phys(slot->memory + ip_align), plan_.capacity};
        if (rxq_->add(&segment, 0, 1, slot) != 0) break;
        rx_free_ = slot->next_free;
        slot->rx.next = nullptr;
        ++posted_;
        added = true;
    }
    // Short of buffers (the stack holds them): the next release wakes the thread to refill.
    refill_wanted_ = posted_ < rxq_->size();
    if (added) rxq_->kick();
}

// One round: up to rx_budget frames from the ring, handed up in one batch. Returns how many.
size_t VirtioNet::poll_rx() {
    net::RxBuffer* frames[rx_budget];
    size_t n = 0;
    const char* broken = nullptr;
    bool copy = false;
    {
        sched::SpinGuard guard(rx_lock_);
        if (state_ != State::running) return 0;
        while (n < rx_budget) {
            uint32_t written = 0;
            auto* slot = static_cast<RxSlot*>(rxq_->take_used(&written));
            if (!slot) {
                broken = rxq_->broken();
                break;
            }
            --posted_;
            auto result = assembler_.add(&slot->rx, slot->memory + ip_align, written);
            if (result == RxAssembler::Result::frame) {
                frames[n++] = assembler_.take_frame();
            } else if (result == RxAssembler::Result::dropped) {
                recycle(assembler_.take_dropped());
            } else if (result == RxAssembler::Result::broken) {
                recycle(assembler_.take_dropped());
                broken = assembler_.problem();
                break;
            }
        }
        for (size_t i = 0; i < n; ++i) {
            for (net::RxBuffer* b = frames[i]; b; b = b->next) ++lent_;
        }
        copy = lent_ > lend_limit_;
        if (copy) rx_copied_frames_ += n;
        ++rx_polls_;
    }
    if (n) receive(frames, n, copy);
    if (broken) stop(broken);
    else refill();
    return n;
}

// --- Transmit ------------------------------------------------------------------------------

void VirtioNet::tx_interrupt(Queue&, void* context) {
    auto* self = static_cast<VirtioNet*>(context);
    __atomic_add_fetch(&self->tx_interrupts_, 1, __ATOMIC_RELAXED);
    {
        sched::SpinGuard guard(self->tx_lock_);
        if (self->state_ != State::running || !self->tx_armed_) return;
        self->txq_->disable_interrupts();
        self->tx_armed_ = false;
    }
    self->wake_.post();
}

size_t VirtioNet::reclaim_tx_locked(TxLeftover* out, size_t max) {
    size_t n = 0;
    while (n < max) {
        auto* slot = static_cast<TxSlot*>(txq_->take_used(nullptr));
        if (!slot) {
            if (const char* why = txq_->broken()) __atomic_store_n(&failure_, why, __ATOMIC_RELEASE);
            break;
        }
        if (slot->kept || slot->bounce) out[n++] = {slot->kept, slot->bounce};
        slot->kept = nullptr;
        slot->bounce = nullptr;
        slot->in_flight = false;
        slot->next_free = tx_free_;
        tx_free_ = slot;
        --tx_in_flight_;
    }
    return n;
}

void VirtioNet::release_leftovers(const TxLeftover* leftovers, size_t count) {
    for (size_t i = 0; i < count; ++i) {
        if (leftovers[i].kept) net::release_kept(leftovers[i].kept);
        free(leftovers[i].bounce);
    }
}

void VirtioNet::reclaim_tx() {
    for (;;) {
        TxLeftover leftovers[tx_reclaim_batch];
        size_t n;
        {
            sched::SpinGuard guard(tx_lock_);
            if (state_ != State::running) return;
            n = reclaim_tx_locked(leftovers, tx_reclaim_batch);
        }
        release_leftovers(leftovers, n);
        if (n < tx_reclaim_batch) return;
    }
}

bool VirtioNet::tx_pending() {
    sched::SpinGuard guard(tx_lock_);
    return state_ == State::running && tx_in_flight_;
}

int VirtioNet::transmit(const net::TxFrame& frame) {
    // Decide how the frame goes out and do the copying before taking the lock.
    bool in_place = frame.length > tx_copybreak;
    for (size_t i = 0; in_place && i < frame.segment_count; ++i) {
        in_place = frame.segments[i].length == 0 || mm::in_direct_map(frame.segments[i].data, frame.segments[i].length);
    }
    uint8_t* bounce = nullptr;
    if (!in_place && frame.length > tx_copybreak) {
        bounce = static_cast<uint8_t*>(malloc(header_size + frame.length));
        if (!bounce) return -errno_nobufs;
        size_t at = header_size;
        for (size_t i = 0; i < frame.segment_count; ++i) {
            memcpy(bounce + at, frame.segments[i].data, frame.segments[i].length);
            at += frame.segments[i].length;
        }
    }
    Header header = transmit_header(frame.offload);
    TxLeftover leftovers[tx_reclaim_batch + 1];
    size_t leftover_count;
    int result = 0;
    {
        sched::SpinGuard guard(tx_lock_);
        if (state_ != State::running) {
            result = -errno_io;
            leftover_count = 0;
        } else {
            leftover_count = reclaim_tx_locked(leftovers, tx_reclaim_batch);
            TxSlot* slot = tx_free_;
            Segment segments[1 + net::max_tx_segments];
            unsigned count = 0;
            if (slot) {
                encode_header(header, slot->bytes);
                if (in_place) {
                    segments[count++] = {mm::virt_to_phys(slot->bytes), static_cast<uint32_t>(header_size)};
                    for (size_t i = 0; i < frame.segment_count; ++i) {
                        const net::Segment& s = frame.segments[i];
                        if (s.length) segments[count++] = {mm::virt_to_phys(s.data), static_cast<uint32_t>(s.length)};
                    }
                } else if (bounce) {
                    memcpy(bounce, slot->bytes, header_size);
                    segments[count++] = {mm::virt_to_phys(bounce), static_cast<uint32_t>(header_size + frame.length)};
                } else {
                    size_t at = header_size;
                    for (size_t i = 0; i < frame.segment_count; ++i) {
                        memcpy(slot->bytes + at, frame.segments[i].data, frame.segments[i].length);
                        at += frame.segments[i].length;
                    }
                    segments[count++] = {mm::virt_to_phys(slot->bytes), static_cast<uint32_t>(at)};
                }
            }
            if (!slot || txq_->add(segments, count, 0, slot) != 0) {
                // Full: the frame is dropped (the stack counts it, TCP retransmits); the
                // interrupt tells the thread when the device has made room.
                ++tx_full_;
                result = -errno_nobufs;
                if (!tx_armed_) {
                    tx_armed_ = true;
                    if (!txq_->enable_interrupts()) {
                        txq_->disable_interrupts();  // done already: no need to be told
                        tx_armed_ = false;
                    }
                }
            } else {
                tx_free_ = slot->next_free;
                slot->in_flight = true;
                ++tx_in_flight_;
                if (in_place) {
                    slot->kept = net::keep(frame);
                    ++tx_zero_copy_;
                } else if (bounce) {
                    slot->bounce = bounce;
                    bounce = nullptr;
                    ++tx_bounced_;
                } else {
                    ++tx_copied_;
                }
                tx_offload_ += frame.offload.checksum_partial;
                ++tx_frames_;
            }
        }
    }
    if (bounce) leftovers[leftover_count++] = {nullptr, bounce};  // not sent
    release_leftovers(leftovers, leftover_count);
    return result;
}

void VirtioNet::flush() {
    sched::SpinGuard guard(tx_lock_);
    if (state_ != State::running) return;
    txq_->kick();
    ++tx_kicks_;
}

// --- The thread ----------------------------------------------------------------------------

void VirtioNet::config_changed(Device&, void* context) {
    auto* self = static_cast<VirtioNet*>(context);
    __atomic_add_fetch(&self->config_interrupts_, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&self->config_changed_, true, __ATOMIC_RELEASE);
    self->wake_.post();
}

void VirtioNet::update_link() {
    if (device_.transport().status() & status_needs_reset) {
        stop("the device reports an error (DEVICE_NEEDS_RESET)");
        return;
    }
    if (!has_status_) return;
    uint8_t raw[2];
    if (device_.read_config(config_status, raw, sizeof raw) != 0) return;
    bool up = raw[0] & status_link_up;
    if (up == link_up_) return;
    link_up_ = up;
    ++link_changes_;
    kprintf("mica: %s: link %s\n", name(), up ? "up" : "down");
    set_link(up);
}

void VirtioNet::stop(const char* why) {
    {
        sched::SpinGuard rx(rx_lock_);
        sched::SpinGuard tx(tx_lock_);
        if (state_ != State::running) return;
        state_ = State::failed;
    }
    // Reset: the device lets go of every buffer; interrupts detached, rings freed.
    device_.fail(why);
    TxLeftover leftovers[1];
    for (size_t i = 0; i < tx_slot_count_; ++i) {
        TxSlot& s = tx_slots_[i];
        if (!s.in_flight) continue;
        leftovers[0] = {s.kept, s.bounce};
        s = TxSlot{};
        release_leftovers(leftovers, 1);
    }
    {
        sched::SpinGuard guard(rx_lock_);
        // The buffers the device had are the driver's again; those the stack holds come back
        // through release(). The memory stays: the interface remains, without a link.
        recycle(assembler_.take_partial());
        posted_ = 0;
    }
    link_up_ = false;
    set_link(false);
}

void VirtioNet::run() {
    for (;;) {
        // Idle with transmit buffers out: wake up later to reclaim them (no interrupt needed).
        wake_.wait(tx_pending() ? tx_reclaim_delay_ns : 0);
        if (const char* why = __atomic_exchange_n(&failure_, nullptr, __ATOMIC_ACQ_REL)) stop(why);
        if (state_ != State::running) return;
        if (__atomic_exchange_n(&config_changed_, false, __ATOMIC_ACQ_REL)) update_link();
        for (;;) {
            size_t n = poll_rx();
            reclaim_tx();
            if (state_ != State::running) return;
            if (n == rx_budget) {
                // Busy: keep interrupts off, let others run, poll again.
                __atomic_add_fetch(&rx_yields_, 1, __ATOMIC_RELAXED);
                sched::yield();
                continue;
            }
            if (!polling_) break;  // interrupts were never turned off
            bool idle;
            {
                sched::SpinGuard guard(rx_lock_);
                idle = state_ != State::running || rxq_->enable_interrupts();
                if (!idle) rxq_->disable_interrupts();  // frames came meanwhile: poll on
            }
            if (idle) break;
        }
    }
}

NetStats VirtioNet::snapshot() {
    NetStats s{};
    fmt::snprintf(s.name, sizeof s.name, "%s", name());
    s.mtu = mtu;
    s.mergeable = device_.has(feature_mrg_rxbuf);
    s.guest_csum = features.rx_checksum;
    s.csum = features.tx_checksum;
    s.polling = polling_;
    s.rx_buffer_capacity = plan_.capacity;
    s.rx_interrupts = __atomic_load_n(&rx_interrupts_, __ATOMIC_RELAXED);
    s.tx_interrupts = __atomic_load_n(&tx_interrupts_, __ATOMIC_RELAXED);
    s.config_interrupts = __atomic_load_n(&config_interrupts_, __ATOMIC_RELAXED);
    s.rx_yields = __atomic_load_n(&rx_yields_, __ATOMIC_RELAXED);
    s.link_changes = link_changes_;
    s.link_up = link_up_;
    {
        sched::SpinGuard guard(rx_lock_);
        s.failed = state_ == State::failed;
        s.rx_ring = s.failed ? 0 : rxq_->size();
        const RxCounters& c = assembler_.counters();
        s.rx_frames = c.frames;
        s.rx_merged_frames = c.merged_frames;
        s.rx_buffers = c.buffers;
        s.rx_checksum_verified = c.checksum_verified;
        s.rx_dropped = c.dropped_short + c.dropped_long + c.dropped_bad;
        s.rx_polls = rx_polls_;
        s.rx_copied_frames = rx_copied_frames_;
    }
    {
        sched::SpinGuard guard(tx_lock_);
        s.tx_ring = s.failed ? 0 : txq_->size();
        s.tx_frames = tx_frames_;
        s.tx_zero_copy = tx_zero_copy_;
        s.tx_copied = tx_copied_;
        s.tx_bounced = tx_bounced_;
        s.tx_checksum_offload = tx_offload_;
        s.tx_ring_full = tx_full_;
        s.tx_kicks = tx_kicks_;
    }
    return s;
}

int probe(Device& device) {
    if (device_total == net::max_devices) {
        kprintf("mica: %s: more than %zu network devices; ignored\n", device.name(), net::max_devices);
        return -errno_nodev;
    }
    auto* net = new VirtioNet(device);  // small; the kernel's new does not return null
    if (int e = net->probe()) {
        delete net;
        return e;
    }
    device.driver_data = net;
    devices[device_total++] = net;
    return 0;
}

}  // namespace

extern const Driver net_driver{"virtio-net", device_net, probe};

cmdline::OptionTable net_command_line_options() { return {option_table, sizeof option_table / sizeof option_table[0]}; }

size_t net_device_count() { return device_total; }

bool net_stats(size_t index, NetStats& out) {
    if (index >= device_total) return false;
    out = devices[index]->snapshot();
    return true;
}

void print_net_stats() {
    for (size_t i = 0; i < device_total; ++i) {
        NetStats s = devices[i]->snapshot();
        kprintf("mica: %s stats: rx %llu frames (%llu merged, %llu buffers, %llu checksums verified, %llu dropped, "
                "%llu copied), %llu interrupts, %llu polls, %llu yields; tx %llu frames (%llu in place, %llu copied, "
                "%llu bounced, %llu checksums offloaded, %llu ring full), %llu kicks, %llu interrupts; "
                "%llu config interrupts, %llu link changes%s\n",
                s.name, (unsigned long long)s.rx_frames, (unsigned long long)s.rx_merged_frames,
                (unsigned long long)s.rx_buffers, (unsigned long long)s.rx_checksum_verified,
                (unsigned long long)s.rx_dropped, (unsigned long long)s.rx_copied_frames,
                (unsigned long long)s.rx_interrupts, (unsigned long long)s.rx_polls, (unsigned long long)s.rx_yields,
                (unsigned long long)s.tx_frames, (unsigned long long)s.tx_zero_copy, (unsigned long long)s.tx_copied,
                (unsigned long long)s.tx_bounced, (unsigned long long)s.tx_checksum_offload,
                (unsigned long long)s.tx_ring_full, (unsigned long long)s.tx_kicks,
                (unsigned long long)s.tx_interrupts, (unsigned long long)s.config_interrupts,
                (unsigned long long)s.link_changes, s.failed ? ", FAILED" : "");
    }
}

}  // namespace mica::virtio
