// The model virtio-net device (net_virtio_model.h).
#include <mica/driver-config.h>
#if CONF_drivers_virtio_net
#include "net_virtio_model.h"

#include <mica/mm/phys.h>
#include <mica/sched/sched.h>
#include <mica/virtio/net.h>
#include <string.h>

using namespace mica;
using namespace mica::virtio;

namespace nettest {
namespace {
constexpr uint64_t wait_step_ns = 1'000'000;
constexpr uint64_t wait_limit_ns = 10'000'000'000ull;
constexpr uint8_t status_needs_reset_bit = 64;

inline void fence_release() { __atomic_thread_fence(__ATOMIC_RELEASE); }
inline void fence_acquire() { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

template <typename T>
T* guest(uint64_t device_address) {
    return static_cast<T*>(mm::phys_to_virt(device_address));
}
}  // namespace

ModelNet::ModelNet(uint64_t features, uint16_t mtu) : offered_(features | feature(feature_version_1)) {
    memcpy(config_ + net_spec::config_mac, model_mac, sizeof model_mac);
    config_[net_spec::config_status] = net_spec::status_link_up;
    config_[net_spec::config_mtu] = static_cast<uint8_t>(mtu);
    config_[net_spec::config_mtu + 1] = static_cast<uint8_t>(mtu >> 8);
}

ModelNet::~ModelNet() { delete device_; }

int ModelNet::attach() {
    device_ = new Device(*this, device_net, "virtio-model");
    reset();
    status_ = status_acknowledge | status_driver;
    int e = net_attach(*device_);
    if (e) {
        delete device_;
        device_ = nullptr;
    }
    return e;
}

bool ModelNet::detach() {
    if (!device_) return true;
    bool ok = net_detach(*device_);
    if (ok) {
        delete device_;
        device_ = nullptr;
    }
    return ok;
}

bool ModelNet::reset() {
    status_ = 0;
    for (Queue& q : queues_) q = Queue{};
    return true;
}

int ModelNet::queue_enable(unsigned index, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used) {
    if (index >= 2) return -22;
    Queue& q = queues_[index];
    q.size = size;
    q.desc = guest<Descriptor>(desc);
    q.avail = guest<volatile uint16_t>(avail);
    q.used = guest<uint8_t>(used);
    q.last_avail = q.used_idx = 0;
    q.enabled = true;
    return 0;
}

void ModelNet::queue_notify(unsigned index) {
    if (index < 2) __atomic_add_fetch(&queues_[index].notifications, 1, __ATOMIC_RELAXED);
}

int ModelNet::attach_interrupts(unsigned, const char** kind) {
    interrupts_attached_ = true;
    *kind = "model";
    return 0;
}

uint16_t ModelNet::available(unsigned index) {
    Queue& q = queues_[index];
    if (!q.enabled) return 0;
    fence_acquire();
    return static_cast<uint16_t>(q.avail[1] - q.last_avail);
}

bool ModelNet::pop(unsigned index, Chain& chain) {
    Queue& q = queues_[index];
    if (!available(index)) return false;
    uint16_t head = q.avail[2 + (q.last_avail & (q.size - 1))];
    ++q.last_avail;
    chain.head = head;
    chain.count = 0;
    const Descriptor* table = q.desc;
    uint16_t i = head;
    uint32_t table_size = q.size;
    if (q.desc[head].flags & desc_f_indirect) {
        table = guest<Descriptor>(q.desc[head].address);
        table_size = q.desc[head].length / sizeof(Descriptor);
        i = 0;
    }
    for (unsigned n = 0; n < table_size && chain.count < max_model_segments; ++n) {
        const Descriptor& d = table[i];
        chain.address[chain.count] = guest<uint8_t>(d.address);
        chain.length[chain.count] = d.length;
        chain.writable[chain.count] = d.flags & desc_f_write;
        ++chain.count;
        if (!(d.flags & desc_f_next)) break;
        i = d.next;
    }
    return true;
}

void ModelNet::push_used(unsigned index, uint32_t id, uint32_t length) {
    Queue& q = queues_[index];
    auto* ring = reinterpret_cast<volatile UsedElement*>(q.used + 4);
    ring[q.used_idx & (q.size - 1)].id = id;
    ring[q.used_idx & (q.size - 1)].length = length;
    fence_release();
    ++q.used_idx;
    *reinterpret_cast<volatile uint16_t*>(q.used + 2) = q.used_idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void ModelNet::interrupt(unsigned index, bool force) {
    Queue& q = queues_[index];
    if (!device_ || !interrupts_attached_ || lose_notifications) return;
    if (!force && (q.avail[0] & avail_f_no_interrupt)) return;  // no EVENT_IDX offered: flags decide
    sched::IrqGuard irqs_off;  // as a real interrupt arrives
    device_->queue_interrupt(index);
}

void ModelNet::config_changed() {
    ++generation_;
    if (!device_ || !interrupts_attached_) return;
    sched::IrqGuard irqs_off;
    device_->config_interrupt();
}

void ModelNet::set_link(bool up) {
    config_[net_spec::config_status] = up ? net_spec::status_link_up : 0;
    config_changed();
}

void ModelNet::set_needs_reset() {
    status_ |= status_needs_reset_bit;
    config_changed();
}

bool ModelNet::deliver(const uint8_t* frame, size_t length, net_spec::Header header) {
    bool mergeable = accepted_ & feature(net_spec::feature_mrg_rxbuf);
    uint16_t heads[max_model_segments];
    uint32_t written[max_model_segments];
    uint8_t* first = nullptr;
    unsigned count = 0;
    size_t at = 0;
    while (count == 0 || (mergeable && at < length)) {
        Chain c;
        if (count == max_model_segments || !pop(net_spec::receive_queue, c)) return false;
        uint32_t offset = count == 0 ? net_spec::header_size : 0;
        size_t room = c.length[0] - offset;
        size_t n = length - at < room ? length - at : room;
        memcpy(c.address[0] + offset, frame + at, n);
        at += n;
        if (count == 0) first = c.address[0];
        heads[count] = c.head;
        written[count] = static_cast<uint32_t>(offset + n);
        ++count;
    }
    header.num_buffers = static_cast<uint16_t>(count);
    net_spec::encode_header(header, first);
    for (unsigned i = 0; i < count; ++i) push_used(net_spec::receive_queue, heads[i], written[i]);
    interrupt(net_spec::receive_queue);
    return true;
}

long ModelNet::take_transmitted(uint8_t* out, size_t max, net_spec::Header* header) {
    Chain c;
    if (!pop(net_spec::transmit_queue, c)) return -1;
    uint8_t head[net_spec::header_size];
    size_t got = 0, frame = 0;
    for (unsigned i = 0; i < c.count; ++i) {
        for (uint32_t k = 0; k < c.length[i]; ++k, ++got) {
            uint8_t b = c.address[i][k];
            if (got < net_spec::header_size) head[got] = b;
            else if (frame < max) out[frame++] = b;
            else ++frame;
        }
    }
    if (header) *header = net_spec::decode_header(head);
    push_used(net_spec::transmit_queue, c.head, 0);
    interrupt(net_spec::transmit_queue);
    return static_cast<long>(frame);
}

long ModelNet::wait_transmitted(uint8_t* out, size_t max, net_spec::Header* header) {
    for (uint64_t waited = 0; waited < wait_limit_ns; waited += wait_step_ns) {
        long n = take_transmitted(out, max, header);
        if (n >= 0) return n;
        sched::sleep_ns(wait_step_ns);
    }
    return -1;
}

}  // namespace nettest
#endif
