// virtio-net transmit: slots, the ring and its backlog, lazy reclaiming (net_driver.h).
#include <mica/trace/trace.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <new>
#include <stdlib.h>
#include <string.h>

#include "net_driver.h"

namespace mica::virtio::net_internal {

int VirtioNet::allocate_tx() {
    tx_slot_count_ = tx_pool_rings * txq_->size();
    tx_slots_ = static_cast<TxSlot*>(mm::allocate(sizeof(TxSlot) * tx_slot_count_, alignof(TxSlot), 0));
    if (!tx_slots_) return -errno_nomem;
    // The slots' headers and short frames are read by the device in place.
    if (!mm::in_direct_map(tx_slots_, sizeof(TxSlot) * tx_slot_count_)) return -errno_nomem;
    for (size_t i = 0; i < tx_slot_count_; ++i) {
        new (&tx_slots_[i]) TxSlot;
        tx_slots_[i].next = tx_free_;
        tx_free_ = &tx_slots_[i];
    }
    return 0;
}

void VirtioNet::free_tx() {
    mm::release(tx_slots_);  // trivially destructible
    tx_slots_ = nullptr;
    tx_free_ = nullptr;
}

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

// Frames waiting for room go into the ring in order, as far as it takes them; the caller
// kicks (flush() in the transmit path, reclaim_tx() in the thread).
void VirtioNet::drain_backlog_locked() {
    while (TxSlot* slot = backlog_head_) {
        if (txq_->add(slot->segments, slot->segment_count, 0, slot) != 0) return;
        backlog_head_ = slot->next;
        if (!backlog_head_) backlog_tail_ = nullptr;
        slot->next = nullptr;
        slot->where = TxSlot::Where::ring;
        ++tx_in_ring_;
        tx_unkicked_ = true;
    }
}

// Frames wait: ask to be told when the device has used some of the ring.
void VirtioNet::arm_tx_locked() {
    if (tx_armed_) return;
    tx_armed_ = true;
    // false: buffers are already back; the thread takes them (and leaves the interrupt on,
    // which tells it nothing new but does no harm).
    if (!txq_->enable_interrupts()) wake_.post();
}

size_t VirtioNet::reclaim_tx_locked(TxLeftover* out, size_t max) {
    size_t n = 0;
    while (n < max) {  // out has room for a used entry's riders beyond max (tx_leftover_capacity)
        auto* slot = static_cast<TxSlot*>(txq_->take_used(nullptr));
        if (!slot) {
            if (const char* why = txq_->broken()) {
                __atomic_store_n(&failure_, why, __ATOMIC_RELEASE);
                wake_.post();
            }
            break;
        }
        --tx_in_ring_;
        TxSlot* riders = slot->riders;
        slot->riders = nullptr;
        for (TxSlot* s = slot; s;) {
            TxSlot* next = s == slot ? riders : s->next;
            if (s->kept || s->bounce) out[n++] = {s->kept, s->bounce};
            s->kept = nullptr;
            s->bounce = nullptr;
            s->where = TxSlot::Where::free;
            s->next = tx_free_;
            tx_free_ = s;
            s = next;
        }
    }
    if (backlog_head_) drain_backlog_locked();
    return n;
}

void VirtioNet::release_leftovers(const TxLeftover* leftovers, size_t count) {
    for (size_t i = 0; i < count; ++i) {
        if (leftovers[i].kept) net::release_kept(leftovers[i].kept);
        free(leftovers[i].bounce);
    }
}

size_t VirtioNet::reclaim_tx(bool watchdog) {
    size_t total = 0;
    for (;;) {
        TxLeftover leftovers[tx_leftover_capacity];
        size_t n;
        {
            sched::SpinGuard guard(tx_lock_);
            if (state_ != State::running) return total;
            n = reclaim_tx_locked(leftovers, tx_reclaim_batch);
            if (tx_unkicked_) {
                txq_->kick();
                tx_unkicked_ = false;
            } else if (watchdog && total + n == 0 && tx_in_ring_) {
                // A whole watchdog period without progress: the doorbell may have been lost.
                txq_->notify();
                ++watchdog_tx_;
            }
            if (backlog_head_) arm_tx_locked();
        }
        release_leftovers(leftovers, n);
        total += n;
        if (n < tx_reclaim_batch) return total;
    }
}

uint64_t VirtioNet::sleep_timeout(bool watching) {
    sched::SpinGuard guard(tx_lock_);  // flush() reads sleeping_untimed_ under it
    bool pending = state_ == State::running && (tx_in_ring_ || backlog_head_);
    uint64_t timeout = pending ? tx_reclaim_delay_ns : watching ? watchdog_ns : 0;
    __atomic_store_n(&sleeping_untimed_, timeout == 0, __ATOMIC_RELEASE);
    return timeout;
}

// The device was reset (stop()): every frame it had, or that waited, is done with.
void VirtioNet::release_all_tx() {
    for (size_t i = 0; i < tx_slot_count_; ++i) {
        TxSlot& s = tx_slots_[i];
        if (s.where == TxSlot::Where::free) continue;
        TxLeftover leftover{s.kept, s.bounce};
        s.kept = nullptr;
        s.bounce = nullptr;
        s.riders = nullptr;
        s.where = TxSlot::Where::free;
        release_leftovers(&leftover, 1);
    }
    tso_pending_ = {};
}

void VirtioNet::enqueue_locked(TxSlot* slot) {
    if (!backlog_head_ && txq_->add(slot->segments, slot->segment_count, 0, slot) == 0) {
        slot->where = TxSlot::Where::ring;
        ++tx_in_ring_;
        return;
    }
    // The ring is full (or others wait already: order is kept): the frame waits.
    slot->where = TxSlot::Where::backlog;
    slot->next = nullptr;
    if (backlog_tail_) backlog_tail_->next = slot;
    else backlog_head_ = slot;
    backlog_tail_ = slot;
    ++tx_backlogged_;
    arm_tx_locked();
}

// Adds a zero-copy TCP segment to the TSO frame being gathered, or starts one; false when it
// must go alone (after what was gathered, which this sends first).
bool VirtioNet::join_tso_locked(TxSlot* slot, const net_tso::Segment& segment) {
    auto& t = tso_pending_;
    unsigned descriptors = slot->segment_count;  // the frame's own; the head's header is shared
    if (t.frames && t.frames < net_tso::max_frames && t.descriptors + descriptors <= max_tso_descriptors &&
        net_tso::continues(t.head, t.last, segment, t.payload)) {
        t.last_slot->next = slot;
        t.last_slot = slot;
        t.last = segment;
        t.payload += segment.payload;
        ++t.frames;
        t.descriptors += descriptors;
    } else {
        finish_tso_locked();
        if (segment.tcp_flags & net_tso::tcp_psh) return false;  // pushed: nothing may follow
        t.first = t.last_slot = slot;
        t.head = t.last = segment;
        t.payload = segment.payload;
        t.frames = 1;
        t.descriptors = 1 + descriptors;
    }
    slot->next = nullptr;
    slot->where = TxSlot::Where::tso;
    if (segment.tcp_flags & net_tso::tcp_psh) finish_tso_locked();
    return true;
}

void VirtioNet::finish_tso_locked() {
    auto& t = tso_pending_;
    TxSlot* head = t.first;
    if (!head) return;
    if (t.frames > 1 && !backlog_head_) {
        // One chain: the virtio header and the merged headers (in the head slot's spare
        // bytes), then every segment's payload in place: each frame's segments (after its
        // own virtio header) from its 55th byte on.
        Segment chain[max_tso_descriptors];
        uint8_t* bytes = head->bytes + tso_header_offset;
        Header h = net_tso::finish(t.head, t.last.tcp_flags, t.payload, bytes + header_size);
        encode_header(h, bytes);
        unsigned count = 0;
        chain[count++] = {mm::virt_to_phys(bytes), static_cast<uint32_t>(header_size + net_tso::header_length)};
        for (TxSlot* s = head; s; s = s->next) {
            size_t skip = net_tso::header_length;
            for (unsigned i = 1; i < s->segment_count; ++i) {
                Segment piece = s->segments[i];
                if (skip >= piece.length) {
                    skip -= piece.length;
                    continue;
                }
                piece.address += skip;
                piece.length -= static_cast<uint32_t>(skip);
                skip = 0;
                chain[count++] = piece;
            }
        }
        if (txq_->add(chain, count, 0, head) == 0) {
            head->where = TxSlot::Where::ring;
            head->riders = head->next;
            head->next = nullptr;
            for (TxSlot* s = head->riders; s; s = s->next) s->where = TxSlot::Where::ring;
            ++tx_in_ring_;
            ++tx_tso_frames_;
            tx_tso_segments_ += t.frames;
            t = {};
            return;
        }
    }
    // One segment, or no room in the ring: each goes as it came.
    t = {};
    for (TxSlot* s = head; s;) {
        TxSlot* next = s->next;
        enqueue_locked(s);
        s = next;
    }
}

int VirtioNet::transmit(const net::TxFrame& frame) {
    // Decide how the frame goes out, and copy what must be copied, before taking the lock.
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
        if (!mm::in_direct_map(bounce, header_size + frame.length)) {
            free(bounce);
            return -errno_nobufs;
        }
    }
    Header header = transmit_header(frame.offload);
    // A TCP segment that may travel in a TSO frame (read before the lock: the frame is ours).
    net_tso::Segment tcp;
    bool tso_candidate = tso_ && in_place && frame.offload.checksum_partial && frame.segment_count &&
                         net_tso::candidate(static_cast<const uint8_t*>(frame.segments[0].data),
                                            frame.segments[0].length, frame.length, tcp);
    TxLeftover leftovers[tx_leftover_capacity];
    size_t leftover_count = 0;
    int result = 0;
    {
        sched::SpinGuard guard(tx_lock_);
        TxSlot* slot = nullptr;
        if (state_ != State::running) {
            result = -errno_io;
        } else {
            leftover_count = reclaim_tx_locked(leftovers, tx_reclaim_batch);
            slot = tx_free_;
            if (txq_->broken()) {
                slot = nullptr;  // the thread stops the device (failure_)
                result = -errno_io;
            } else if (!slot) {
                // The ring and the backlog are full: the frame is dropped (the stack counts
                // it, TCP retransmits).
                ++tx_dropped_;
                result = -errno_nobufs;
                arm_tx_locked();
            }
        }
        if (slot) {
            tx_free_ = slot->next;
            slot->next = nullptr;
            encode_header(header, slot->bytes);
            unsigned count = 0;
            if (in_place) {
                slot->segments[count++] = {mm::virt_to_phys(slot->bytes), static_cast<uint32_t>(header_size)};
                for (size_t i = 0; i < frame.segment_count; ++i) {
                    const net::Segment& s = frame.segments[i];
                    if (s.length) slot->segments[count++] = {mm::virt_to_phys(s.data), static_cast<uint32_t>(s.length)};
                }
                slot->kept = net::keep(frame);
                ++tx_zero_copy_;
            } else if (bounce) {
                memcpy(bounce, slot->bytes, header_size);
                slot->segments[count++] = {mm::virt_to_phys(bounce), static_cast<uint32_t>(header_size + frame.length)};
                slot->bounce = bounce;
                bounce = nullptr;
                ++tx_bounced_;
            } else {
                size_t at = header_size;
                for (size_t i = 0; i < frame.segment_count; ++i) {
                    memcpy(slot->bytes + at, frame.segments[i].data, frame.segments[i].length);
                    at += frame.segments[i].length;
                }
                slot->segments[count++] = {mm::virt_to_phys(slot->bytes), static_cast<uint32_t>(at)};
                ++tx_copied_;
            }
            slot->segment_count = static_cast<uint8_t>(count);
            if (!tso_candidate || !join_tso_locked(slot, tcp)) {
                finish_tso_locked();  // what was gathered goes first: order is kept
                enqueue_locked(slot);
            }
            tx_offload_ += frame.offload.checksum_partial;
            ++tx_frames_;
            TRACE(net_tx, frame.length);
        }
    }
    if (bounce) leftovers[leftover_count++] = {nullptr, bounce};  // not sent
    release_leftovers(leftovers, leftover_count);
    return result;
}

void VirtioNet::flush() {
    sched::SpinGuard guard(tx_lock_);
    if (state_ != State::running) return;
    finish_tso_locked();
    bool notified = txq_->kick();
    tx_unkicked_ = false;
    ++tx_kicks_;
    // The device said it would look by itself: should that handshake have failed, the
    // thread, asleep without a timer, must come to watch the ring (net_driver.h).
    if (!notified && __atomic_load_n(&sleeping_untimed_, __ATOMIC_ACQUIRE)) wake_.post();
}

}  // namespace mica::virtio::net_internal
