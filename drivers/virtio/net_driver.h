// The virtio-net driver's device object, shared by its three files: net.cc (probe, the
// receive thread, link state, stopping a broken device, counters), net_rx.cc (the receive
// ring and buffers) and net_tx.cc (transmit). Not for other subsystems: mica/virtio/net.h is
// the driver's interface.
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
// and after tx_reclaim_delay_ns when it is idle with buffers out. When the ring is full,
// frames wait in a backlog (lwIP has no queue in front of a driver, as Linux's qdisc is) and
// the transmit interrupt, used only then, tells the thread when the device has made room.
//
// The watchdog. Event-index notification suppression is a store-then-load handshake: the
// driver writes an index, fences, and reads the device's; the device does the mirror image.
// QEMU's TCG emits no fence for a guest with one vCPU (it believes nothing else observes the
// guest's memory, but its device threads do), so the host may order the driver's load before
// its store: both sides then decide the other will act, and an interrupt or a doorbell is
// lost for good (seen under the network benchmark: every few ten thousand frames, the
// transmit ring stuck with frames the device never heard of, or received frames nobody was
// told about). Kernel code cannot force that fence. So the thread never sleeps blind after
// such a handshake: it wakes after watchdog_ns, takes what the device finished, and rings the
// transmit doorbell if the device has not moved while frames wait. The first quiet check
// ends the watch (a later handshake starts it again), so an idle device costs no wake-ups.
//
// Offloads. VIRTIO_NET_F_CSUM: TCP checksums are finished by the device (TxOffload ->
// NEEDS_CSUM). VIRTIO_NET_F_GUEST_CSUM: frames marked DATA_VALID or NEEDS_CSUM skip the
// stack's checksum check. VIRTIO_NET_F_HOST_TSO4 (with CSUM; QEMU offers it on a tap
// backend): lwIP never builds a segment larger than the peer's MSS, so the driver merges the
// runs of consecutive segments of one connection that a lock section sends (net_tso.h says
// which may merge): the first zero-copy candidate waits in `tso_` instead of going into the
// ring, the next ones join it, and whatever cannot join, flush() or a full frame sends it:
// one descriptor chain of the headers (fixed up, in the head slot's spare bytes) and every
// segment's payload in place, the head slot the ring's token and the others its riders
// (released with it). With no room in the ring they go one by one, as if never merged.
// HOST_TSO6 (no IPv6), HOST_UFO (lwIP fragments datagrams itself) and the guest features
// (GUEST_TSO4/6, GUEST_UFO: frames up to 64 KiB that the receive path and the stack's MTU
// checks do not expect) are not negotiated.
//
// Locks: rx_lock_ guards the receive ring, the buffer pool and the assembler (the queue's
// interrupt handler takes it to turn interrupts off); tx_lock_ the transmit ring, its slots
// and backlog. Both are spinlocks, taken rx before tx, and nothing that may release a
// receive buffer (releasing a kept pbuf: an ICMP echo reply is the request's pbuf) runs
// under either.
#pragma once

#include <mica/net/netdev.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <mica/virtio/device.h>
#include <mica/virtio/net.h>
#include <mica/virtio/net_spec.h>
#include <mica/virtio/net_tso.h>

namespace mica::virtio::net_internal {
using namespace net_spec;

inline constexpr int errno_io = 5, errno_nomem = 12, errno_nodev = 19, errno_notsup = 95, errno_nobufs = 105;
inline constexpr uint16_t ring_entries = 256;      // per queue at most (the device may offer fewer)
inline constexpr size_t rx_budget = 64;            // frames per poll round, then yield (NAPI's weight)
inline constexpr size_t rx_pool_rings = 2;         // receive buffers: this many rings' worth
inline constexpr size_t tx_pool_rings = 2;         // transmit slots: the ring's and a backlog's worth
inline constexpr size_t tx_copybreak = 256;        // frames up to this are copied next to their header
inline constexpr size_t tx_reclaim_batch = 64;     // finished transmit buffers taken per lock hold
inline constexpr uint64_t tx_reclaim_delay_ns = 10'000'000;  // idle with buffers out: reclaim after 10 ms
inline constexpr uint64_t watchdog_ns = 10'000'000;          // after a handshake: look again after 10 ms
inline constexpr uint64_t release_wait_ns = 5'000'000'000;   // remove(): how long lent buffers may take
inline constexpr uint64_t release_poll_ns = 10'000'000;
inline constexpr size_t buffer_alignment = 64;

// The boot options (net.cc): written by the command-line parser, read by probe.
struct Options {
    uint32_t rx_buffer = 0;  // 0: default_mergeable_buffer
    bool polling = true;
    bool tso = true;
};
extern Options options;

class VirtioNet;

struct RxSlot {
    net::RxBuffer rx;  // first: the stack's view (data, length, next, release)
    VirtioNet* owner = nullptr;
    RxSlot* next_free = nullptr;
    uint8_t* memory = nullptr;  // plan.allocation bytes; the device writes from memory + ip_align
};

struct TxSlot {
    enum class Where : uint8_t { free, ring, backlog, tso };
    TxSlot* next = nullptr;  // in the free list, the backlog or a TSO frame's riders
    TxSlot* riders = nullptr;  // a TSO frame's head: the other segments' slots
    Where where = Where::free;
    uint8_t segment_count = 0;
    net::TxKeep kept = nullptr;  // zero copy: the stack's pbufs until the device is done
    uint8_t* bounce = nullptr;   // a long frame copied to the heap (memory the device cannot read)
    Segment segments[1 + net::max_tx_segments];  // the header, then the frame
    alignas(64) uint8_t bytes[header_size + tx_copybreak];  // the header, then a short frame
};
// A TSO frame's virtio header and merged headers go into its head slot's bytes from here (an
// in-place frame uses only the first header_size; its own header must stay for a fallback).
inline constexpr size_t tso_header_offset = 64;
static_assert(tso_header_offset + header_size + net_tso::header_length <= header_size + tx_copybreak);
// A TSO chain's descriptors at most (an indirect table of 1 KiB; within any ring's size).
inline constexpr size_t max_tso_descriptors = 64;

// What reclaiming leaves to release once no driver lock is held: up to a batch of used
// entries, each a slot and its riders.
inline constexpr size_t tx_leftover_capacity = tx_reclaim_batch + net_tso::max_frames + 1;
struct TxLeftover {
    net::TxKeep kept;
    uint8_t* bounce;
};

class VirtioNet final : public net::EthernetDevice {
public:
    explicit VirtioNet(Device& device) : device_(device) {}
    int probe();
    // Out of the system (net_detach): false if the stack kept buffers past the wait.
    bool remove();
    Device& device() { return device_; }
    int transmit(const net::TxFrame& frame) override;
    void flush() override;
    NetStats snapshot();

private:
    enum class State { starting, running, failed };

    // net.cc
    int read_identity();
    static void config_changed(Device&, void* self);
    static void thread_main(void* self) { static_cast<VirtioNet*>(self)->run(); }
    void run();
    void update_link();
    void stop(const char* why);
    // net_rx.cc
    int allocate_rx();
    void free_rx();
    static void rx_interrupt(Queue&, void* self);
    static void release(net::RxBuffer* buffer);
    size_t poll_rx();
    void refill();
    void notify_rx();
    void recycle(net::RxBuffer* chain);  // rx_lock_ held
    // net_tx.cc
    int allocate_tx();
    void free_tx();
    static void tx_interrupt(Queue&, void* self);
    size_t reclaim_tx_locked(TxLeftover* out, size_t max);
    void drain_backlog_locked();
    void enqueue_locked(TxSlot* slot);  // to the ring, or the backlog when it is full
    void finish_tso_locked();           // sends what waits in tso_
    bool join_tso_locked(TxSlot* slot, const net_tso::Segment& segment);
    void arm_tx_locked();
    // watchdog: the thread woke on its timer, not on an interrupt: notify the device if it
    // has not taken frames that wait. Returns how many frames were reclaimed.
    size_t reclaim_tx(bool watchdog = false);
    void release_all_tx();
    static void release_leftovers(const TxLeftover* leftovers, size_t count);
    // The thread's next wait: a watchdog or reclaim timer, or none (0); says which to flush().
    uint64_t sleep_timeout(bool watching);

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
    bool stopping_ = false;          // atomic: remove() asks the thread to end
    bool sleeping_untimed_ = false;  // atomic: the thread waits with no watchdog timer

    // Receive, under rx_lock_.
    sched::Spinlock rx_lock_;
    RxSlot* rx_slots_ = nullptr;
    size_t rx_slot_count_ = 0;
    RxSlot* rx_free_ = nullptr;
    size_t posted_ = 0, lent_ = 0, lend_limit_ = 0;
    bool refill_wanted_ = false;
    RxAssembler assembler_;
    // Transmit, under tx_lock_.
    sched::Spinlock tx_lock_;
    TxSlot* tx_slots_ = nullptr;
    size_t tx_slot_count_ = 0;
    TxSlot* tx_free_ = nullptr;
    TxSlot* backlog_head_ = nullptr;
    TxSlot* backlog_tail_ = nullptr;
    size_t tx_in_ring_ = 0;
    bool tx_armed_ = false;    // the transmit interrupt is on (frames wait for room)
    bool tx_unkicked_ = false; // backlog frames added to the ring since the last kick
    bool tso_ = false;         // HOST_TSO4 negotiated (set at probe)
    // The TSO frame being gathered: its slots (head first, linked through next).
    struct {
        TxSlot* first = nullptr;
        TxSlot* last_slot = nullptr;
        net_tso::Segment head, last;
        size_t payload = 0;
        unsigned frames = 0, descriptors = 0;
    } tso_pending_;

    // Counters: each written under the lock of its path; interrupt counts atomically.
    uint64_t rx_interrupts_ = 0, tx_interrupts_ = 0, config_interrupts_ = 0;
    uint64_t rx_polls_ = 0, rx_yields_ = 0, rx_copied_frames_ = 0;
    uint64_t tx_frames_ = 0, tx_zero_copy_ = 0, tx_copied_ = 0, tx_bounced_ = 0, tx_offload_ = 0,
             tx_backlogged_ = 0, tx_dropped_ = 0, tx_kicks_ = 0, link_changes_ = 0, tx_tso_frames_ = 0,
             tx_tso_segments_ = 0;
    uint64_t watchdog_rx_ = 0, watchdog_tx_ = 0;  // the thread's own
};

}  // namespace mica::virtio::net_internal
