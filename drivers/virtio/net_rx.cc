// virtio-net receive: the buffer pool, the ring, and one poll round (net_driver.h).
#include <mica/trace/trace.h>
#include <mica/console.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <new>

#include "net_driver.h"

namespace mica::virtio::net_internal {

int VirtioNet::allocate_rx() {
    rx_slot_count_ = rx_pool_rings * rxq_->size();
    lend_limit_ = rx_slot_count_ - rxq_->size();  // at most this many out: the ring refills fully
    rx_slots_ = static_cast<RxSlot*>(mm::allocate(sizeof(RxSlot) * rx_slot_count_, alignof(RxSlot), 0));
    if (!rx_slots_) return -errno_nomem;
    for (size_t i = 0; i < rx_slot_count_; ++i) new (&rx_slots_[i]) RxSlot;
    for (size_t i = 0; i < rx_slot_count_; ++i) {
        RxSlot& s = rx_slots_[i];
        s.memory = static_cast<uint8_t*>(mm::allocate(plan_.allocation, buffer_alignment, 0));
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
    return 0;
}

void VirtioNet::free_rx() {
    if (!rx_slots_) return;
    for (size_t i = 0; i < rx_slot_count_; ++i) mm::release(rx_slots_[i].memory);
    mm::release(rx_slots_);  // trivially destructible
    rx_slots_ = nullptr;
    rx_free_ = nullptr;
}

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

void VirtioNet::notify_rx() {
    sched::SpinGuard guard(rx_lock_);
    if (state_ == State::running && posted_) rxq_->notify();
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
            size_t bytes = 0;
            for (net::RxBuffer* b = frames[i]; b; b = b->next) {
                ++lent_;
                bytes += b->length;
            }
            TRACE(net_rx, bytes);
        }
        // Too much lent out (data waiting in sockets): copy, so the ring can be refilled.
        copy = lent_ > lend_limit_;
        if (copy) rx_copied_frames_ += n;
        ++rx_polls_;
    }
    if (n) receive(frames, n, copy);
    if (broken) stop(broken);
    else refill();
    return n;
}

}  // namespace mica::virtio::net_internal
