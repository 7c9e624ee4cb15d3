#include <mica/virtio/virtqueue.h>
#include <string.h>

namespace mica::virtio {
namespace {
constexpr int errno_nospc = 28, errno_inval = 22;
constexpr size_t used_alignment = 4096;  // own page: see Layout
constexpr uint16_t no_next = 0xffff;

size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

// Shared-memory fences (see the header): the device is another agent in the coherence domain.
inline void fence_full() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void fence_release() { __atomic_thread_fence(__ATOMIC_RELEASE); }
inline void fence_acquire() { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
}  // namespace

struct Virtqueue::Extra {
    void* token;         // on a chain's head while the chain is in flight, else nullptr
    void* indirect;      // the head's indirect table, or nullptr
    uint16_t next;       // the next descriptor in the chain or the free list
    uint16_t count;      // on a head: ring descriptors the chain uses
};

Virtqueue::Layout Virtqueue::layout(uint16_t size) {
    Layout l{};
    l.desc_offset = 0;
    l.avail_offset = sizeof(Descriptor) * size;
    size_t avail_bytes = 2 * 3 + 2 * size_t{size};  // flags, idx, ring, used_event
    l.used_offset = align_up(l.avail_offset + avail_bytes, used_alignment);
    size_t used_bytes = 2 * 3 + sizeof(UsedElement) * size_t{size};  // flags, idx, ring, avail_event
    l.total = l.used_offset + used_bytes;
    return l;
}

size_t Virtqueue::state_size(uint16_t size) { return sizeof(Extra) * size; }

int Virtqueue::init(uint16_t size, void* memory, uint64_t device_address, void* state, bool event_idx,
                    bool indirect, TableAllocator tables) {
    if (!valid_size(size) || !memory || !state) return -errno_inval;
    size_ = size;
    memory_ = static_cast<uint8_t*>(memory);
    device_address_ = device_address;
    layout_ = layout(size);
    desc_ = reinterpret_cast<Descriptor*>(memory_ + layout_.desc_offset);
    extra_ = static_cast<Extra*>(state);
    event_idx_ = event_idx;
    indirect_ = indirect && tables.allocate && tables.release;
    tables_ = tables;
    for (uint16_t i = 0; i < size; ++i) extra_[i] = Extra{nullptr, nullptr, static_cast<uint16_t>(i + 1), 0};
    extra_[size - 1].next = no_next;
    free_head_ = 0;
    free_count_ = size;
    avail_shadow_ = published_ = last_used_ = 0;
    interrupts_enabled_ = true;
    broken_ = nullptr;
    return 0;
}

void Virtqueue::start_indices_at(uint16_t index) {
    avail_shadow_ = published_ = last_used_ = index;
    *avail_idx() = index;
    *used_idx() = index;
    if (event_idx_) *used_event() = index;
}

volatile uint16_t* Virtqueue::avail_flags() const {
    return reinterpret_cast<volatile uint16_t*>(memory_ + layout_.avail_offset);
}
volatile uint16_t* Virtqueue::avail_idx() const { return avail_flags() + 1; }
volatile uint16_t* Virtqueue::avail_ring() const { return avail_flags() + 2; }
volatile uint16_t* Virtqueue::used_event() const { return avail_ring() + size_; }
volatile uint16_t* Virtqueue::used_flags() const {
    return reinterpret_cast<volatile uint16_t*>(memory_ + layout_.used_offset);
}
volatile uint16_t* Virtqueue::used_idx() const { return used_flags() + 1; }
volatile UsedElement* Virtqueue::used_ring() const {
    return reinterpret_cast<volatile UsedElement*>(memory_ + layout_.used_offset + 4);
}
volatile uint16_t* Virtqueue::avail_event() const {
    return reinterpret_cast<volatile uint16_t*>(memory_ + layout_.used_offset + 4 + sizeof(UsedElement) * size_);
}

int Virtqueue::add(const Segment* segments, unsigned out, unsigned in, void* token) {
    unsigned total = out + in;
    if (!token || total == 0 || total > size_ || broken_) return -errno_inval;
    for (unsigned i = 0; i < total; ++i) {
        if (segments[i].length == 0) return -errno_inval;
    }
    // A chain of several segments takes one ring descriptor pointing at a table of its own
    // when the device accepts indirect descriptors (so a full ring still takes big requests).
    Descriptor* table = nullptr;
    uint64_t table_address = 0;
    if (indirect_ && total > 1 && free_count_ >= 1) {
        table = static_cast<Descriptor*>(tables_.allocate(sizeof(Descriptor) * total, &table_address, tables_.context));
    }
    unsigned needed = table ? 1 : total;
    if (free_count_ < needed) return -errno_nospc;

    uint16_t head = free_head_;
    if (table) {
        for (unsigned i = 0; i < total; ++i) {
            uint16_t flags = (i < out ? 0 : desc_f_write) | (i + 1 < total ? desc_f_next : 0);
            table[i] = Descriptor{segments[i].address, segments[i].length, flags, static_cast<uint16_t>(i + 1)};
        }
        desc_[head] = Descriptor{table_address, static_cast<uint32_t>(sizeof(Descriptor) * total), desc_f_indirect, 0};
        free_head_ = extra_[head].next;
        extra_[head].next = no_next;
    } else {
        uint16_t d = head, last = head;
        for (unsigned i = 0; i < total; ++i) {
            last = d;
            uint16_t next = extra_[d].next;
            uint16_t flags = (i < out ? 0 : desc_f_write) | (i + 1 < total ? desc_f_next : 0);
            desc_[d] = Descriptor{segments[i].address, segments[i].length, flags, i + 1 < total ? next : uint16_t{0}};
            d = next;
        }
        free_head_ = d;
        extra_[last].next = no_next;
    }
    free_count_ = static_cast<uint16_t>(free_count_ - needed);
    extra_[head].token = token;
    extra_[head].indirect = table;
    extra_[head].count = static_cast<uint16_t>(needed);
    avail_ring()[avail_shadow_ & (size_ - 1)] = head;
    ++avail_shadow_;
    return 0;
}

bool Virtqueue::publish() {
    uint16_t old = published_, now = avail_shadow_;
    if (old == now) return false;
    fence_release();  // descriptors and ring entries before the index
    *avail_idx() = now;
    published_ = now;
    fence_full();  // the index before reading whether the device wants to hear (store-load)
    if (event_idx_) return need_event(*avail_event(), now, old);
    return !(*used_flags() & used_f_no_notify);
}

bool Virtqueue::has_used() const { return !broken_ && *used_idx() != last_used_; }

void Virtqueue::free_chain(uint16_t head) {
    Extra& h = extra_[head];
    if (h.indirect) tables_.release(h.indirect, tables_.context);
    uint16_t last = head;
    for (uint16_t i = 1; i < h.count; ++i) last = extra_[last].next;
    extra_[last].next = free_head_;
    free_head_ = head;
    free_count_ = static_cast<uint16_t>(free_count_ + h.count);
    h.token = nullptr;
    h.indirect = nullptr;
    h.count = 0;
}

void* Virtqueue::take_used(uint32_t* written) {
    if (!has_used()) return nullptr;
    fence_acquire();  // the index before the entry it covers
    volatile UsedElement& e = used_ring()[last_used_ & (size_ - 1)];
    uint32_t id = e.id, length = e.length;
    if (id >= size_ || !extra_[id].token) {
        broken_ = "the device returned a buffer that is not in flight";
        return nullptr;
    }
    ++last_used_;
    void* token = extra_[id].token;
    free_chain(static_cast<uint16_t>(id));
    if (written) *written = length;
    // With EVENT_IDX and interrupts wanted, the device interrupts when it passes used_event:
    // keep that just ahead of what has been taken.
    if (event_idx_ && interrupts_enabled_) *used_event() = last_used_;
    return token;
}

void Virtqueue::disable_interrupts() {
    interrupts_enabled_ = false;
    if (event_idx_) {
        // An event index a whole ring behind: the device cannot pass it before the driver
        // enables interrupts again.
        *used_event() = static_cast<uint16_t>(last_used_ - size_ - 1);
    } else {
        *avail_flags() = avail_f_no_interrupt;
    }
}

bool Virtqueue::enable_interrupts() {
    interrupts_enabled_ = true;
    if (event_idx_) *used_event() = last_used_;
    else *avail_flags() = 0;
    fence_full();  // the request before looking at the used index (store-load)
    return !has_used();
}

}  // namespace mica::virtio
