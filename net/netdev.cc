// The Ethernet driver interface (netdev.h) on top of lwIP: each EthernetDevice becomes an lwIP
// netif. Transmit turns a pbuf chain into a scatter list (plus checksum-offload metadata);
// receive wraps the driver's buffers in custom pbufs (zero copy) or copies small frames.
#include <mica/net/net.h>
#include <mica/net/netdev.h>
#include <mica/net/offload.h>
#include <mica/net/resolver_files.h>
#include <mica/panic.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <mica/format.h>
#include <new>
#include <stdlib.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/errno.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"
#include "stack_internal.h"

namespace mica::net {

// Frames up to this size are copied into a heap pbuf and the driver's buffer goes back at
// once: acknowledgements and ARP do not tie up receive-ring buffers while they wait in a
// queue, and the copy costs less than the bookkeeping for a lent buffer.
inline constexpr uint16_t rx_copybreak = 256;
// A frame may carry a VLAN tag on top of the MTU and the Ethernet header (dropped by lwIP,
// but not an error of the driver's).
inline constexpr size_t vlan_tag_length = 4;
// Bytes of a frame's head read to find the IPv4 and TCP headers for checksum offload: both
// headers at their largest (with options).
inline constexpr size_t max_ipv4_header = 60, max_tcp_header = 60;
inline constexpr size_t offload_header_bytes = ethernet_header_length + max_ipv4_header + max_tcp_header;

struct DeviceGlue {
    static DeviceState* state(const EthernetDevice& d) { return static_cast<DeviceState*>(d.stack_); }
    static void attach(EthernetDevice& d, DeviceState* s) {
        d.stack_ = s;
        fmt::snprintf(d.name_, sizeof(d.name_), "eth%u", s->number);
    }
    static void detach(EthernetDevice& d) {
        d.stack_ = nullptr;
        d.name_[0] = '\0';
    }
};

// The frame being received; written and read only with the core lock held.
ReceiveContext receive_context;

namespace {

// The registry (registered_device()): slot N holds ethN. registry_lock guards the slots and
// `stack_running`; after init() the core lock is held around every change as well.
sched::Spinlock registry_lock;
DeviceState* devices[max_devices];
bool stack_running = false;
// Devices with frames queued since their last flush(), guarded by the core lock.
DeviceState* flush_list = nullptr;

static_assert(sizeof(pbuf_custom) <= RxBuffer::stack_private_size, "RxBuffer::stack_private too small");

DeviceState* state_of(struct netif* n) { return static_cast<DeviceState*>(n->state); }

// lwIP's linkoutput: one frame, as a pbuf chain, to the driver.
err_t link_output(struct netif* n, struct pbuf* p) {
    DeviceState* s = state_of(n);
    EthernetDevice& device = *s->device;
    struct pbuf* frame = p;
    Segment segments[max_tx_segments];
    size_t count = 0;
    for (struct pbuf* q = p; q; q = q->next) {
        if (q->len == 0) continue;
        if (count == max_tx_segments) {
            count = 0;
            break;
        }
        segments[count++] = {q->payload, q->len};
    }
    if (count == 0 && p->tot_len) {
        // A chain longer than a scatter list: one contiguous copy.
        frame = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
        if (!frame) {
            ++s->stats.tx_dropped;
            return ERR_MEM;
        }
        segments[count++] = {frame->payload, frame->len};
    }
    TxFrame tx{segments, count, frame->tot_len, {}, frame};
    if (device.features.tx_checksum) {
        uint8_t head[offload_header_bytes];
        const uint8_t* bytes = static_cast<const uint8_t*>(frame->payload);
        size_t available = frame->len;
        if (available < sizeof(head) && frame->tot_len > available) {
            available = pbuf_copy_partial(frame, head, sizeof(head), 0);
            bytes = head;
        }
        uint16_t pseudo_sum;
        if (checksum_partial_for(bytes, available, frame->tot_len, tx.offload, pseudo_sum)) {
            // The device adds the segment's sum to the pseudo-header sum in the field.
            uint16_t at = static_cast<uint16_t>(tx.offload.checksum_start + tx.offload.checksum_offset);
            pbuf_put_at(frame, at, static_cast<uint8_t>(pseudo_sum >> 8));
            pbuf_put_at(frame, static_cast<uint16_t>(at + 1), static_cast<uint8_t>(pseudo_sum));
            ++s->stats.tx_checksum_partial;
        }
    }
    int r = device.transmit(tx);
    if (frame != p) pbuf_free(frame);
    if (!s->flush_pending) {
        s->flush_pending = true;
        s->next_flush = flush_list;
        flush_list = s;
    }
    if (r != 0) {
        ++s->stats.tx_dropped;
        return ERR_MEM;
    }
    ++s->stats.tx_frames;
    s->stats.tx_bytes += tx.length;
    return ERR_OK;
}

err_t netif_init_ethernet(struct netif* n) {
    DeviceState* s = state_of(n);
    const EthernetDevice& device = *s->device;
    n->name[0] = 'e';
    n->name[1] = 'n';
    n->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(n->hwaddr, device.mac, ETH_HWADDR_LEN);
    n->mtu = device.mtu;
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    n->output = etharp_output;
    n->linkoutput = link_output;
    netif_set_hostname(n, host_name);
    // TCP checksums are left to a device that offers it. UDP's stay in software even then:
    // lwIP sums a datagram before it fragments it, and a device cannot finish a sum that
    // spans fragments. Which checksums are verified is decided per packet (the IPv4 input hook).
    uint16_t flags = NETIF_CHECKSUM_GEN_IP | NETIF_CHECKSUM_GEN_UDP | NETIF_CHECKSUM_GEN_ICMP |
                     checksum_check_all;
    if (!device.features.tx_checksum) flags |= NETIF_CHECKSUM_GEN_TCP;
    NETIF_SET_CHECKSUM_CTRL(n, flags);
    return ERR_OK;
}

// Core lock held. `address` configures it (nullptr: no address; DHCP is up to the caller).
void add_netif(DeviceState* s, const StaticAddress* address) {
    ip4_addr_t ip = {}, mask = {}, gw = {};
    if (address) {
        ip.addr = lwip_htonl(address->address);
        mask.addr = lwip_htonl(address->netmask);
    }
    if (!netif_add(&s->netif, &ip, &mask, &gw, s, netif_init_ethernet, tcpip_input)) {
        panic("net: cannot add the interface for eth%u", s->number);
    }
    s->added = true;
    if (s->device->initial_link_up) netif_set_link_up(&s->netif);
    netif_set_up(&s->netif);
}

void release_lent_buffer(struct pbuf* p) {
    auto* buffer = reinterpret_cast<RxBuffer*>(reinterpret_cast<unsigned char*>(p) - offsetof(RxBuffer, stack_private));
    buffer->release(buffer);
}

// Core lock held: one frame into lwIP.
void input_frame(DeviceState* s, struct pbuf* p, bool verified) {
    receive_context.netif = &s->netif;
    receive_context.checksum_verified = verified && s->device->features.rx_checksum;
    if (ethernet_input(p, &s->netif) != ERR_OK) pbuf_free(p);
    receive_context = {};
}

// Every part of a frame back to its driver (read `next` first: a released buffer is the
// driver's again at once).
void release_frame(RxBuffer* buffer) {
    while (buffer) {
        RxBuffer* next = buffer->next;
        buffer->release(buffer);
        buffer = next;
    }
}

bool frame_length_ok(const DeviceState* s, size_t length) {
    return length >= ethernet_header_length && length <= s->device->mtu + ethernet_header_length + vlan_tag_length;
}

}  // namespace

DeviceState* registered_device(size_t number) { return number < max_devices ? devices[number] : nullptr; }

size_t registered_names(const char** names, char storage[][8], size_t max) {
    sched::SpinGuard guard(registry_lock);
    size_t n = 0;
    for (size_t i = 0; i < max_devices && n < max; ++i) {
        if (!devices[i]) continue;
        fmt::snprintf(storage[n], 8, "eth%zu", i);
        names[n] = storage[n];
        ++n;
    }
    return n;
}

void add_registered_devices(const Options& options) {
    DeviceState* snapshot[max_devices];
    {
        sched::SpinGuard guard(registry_lock);
        stack_running = true;
        memcpy(snapshot, devices, sizeof(devices));
    }
    for (DeviceState* s : snapshot) {
        if (!s || s->added) continue;
        add_netif(s, options.address_for(s->device->name()));
    }
}

void flush_transmits() {
    while (DeviceState* s = flush_list) {
        flush_list = s->next_flush;
        s->next_flush = nullptr;
        s->flush_pending = false;
        ++s->stats.tx_flushes;
        s->device->flush();
    }
}

int register_device(EthernetDevice& device) {
    if (device.mtu < min_mtu || device.mtu > max_mtu) return -EINVAL;
    if (DeviceGlue::state(device)) return -EINVAL;  // registered already
    void* memory = malloc(sizeof(DeviceState));
    if (!memory) return -ENOMEM;
    auto* s = new (memory) DeviceState();
    s->device = &device;
    bool running;
    {
        sched::SpinGuard guard(registry_lock);
        size_t slot = 0;
        while (slot < max_devices && devices[slot]) ++slot;
        if (slot == max_devices) {
            free(memory);
            return -ENOSPC;
        }
        s->number = static_cast<unsigned>(slot);
        devices[slot] = s;
        DeviceGlue::attach(device, s);
        running = stack_running;
    }
    if (running) {
        CoreLock lock;
        if (!s->added) add_netif(s, nullptr);
    }
    return 0;
}

void unregister_device(EthernetDevice& device) {
    DeviceState* s = DeviceGlue::state(device);
    if (!s) return;
    auto forget = [&] {
        sched::SpinGuard guard(registry_lock);
        devices[s->number] = nullptr;
        DeviceGlue::detach(device);
    };
    if (!initialized()) {
        forget();
    } else {
        bool was_added;
        {
            // Out of the registry under the core lock too: readers holding it never see a
            // device that is going away.
            CoreLock lock;
            was_added = s->added;
            if (s->added) {
                if (netif_dhcp_data(&s->netif)) {
                    dhcp_release_and_stop(&s->netif);
                    dhcp_cleanup(&s->netif);
                }
                netif_remove(&s->netif);
                s->added = false;
            }
            for (DeviceState** link = &flush_list; *link; link = &(*link)->next_flush) {
                if (*link == s) {
                    *link = s->next_flush;
                    break;
                }
            }
            forget();
        }
        if (was_added) {
            // A packet to the interface's own address may have scheduled a netif_poll in
            // tcpip_thread's mailbox: let it run before the netif's memory goes.
            tcpip_barrier();
            CoreLock lock;
            while (struct pbuf* p = s->netif.loop_first) {
                struct pbuf* end = p;
                while (end->len != end->tot_len) end = end->next;
                s->netif.loop_first = end->next;
                end->next = nullptr;
                pbuf_free(p);
            }
        }
    }
    s->~DeviceState();
    free(s);
}

void EthernetDevice::receive(RxBuffer* const* frames, size_t count, bool copy) {
    DeviceState* s = DeviceGlue::state(*this);
    if (!s || !initialized()) {
        for (size_t i = 0; i < count; ++i) release_frame(frames[i]);
        return;
    }
    CoreLock lock;
    ++s->stats.rx_batches;
    for (size_t i = 0; i < count; ++i) {
        RxBuffer* head = frames[i];
        bool verified = head->checksum_verified;  // head may be released before the input
        size_t length = 0, parts = 0;
        for (RxBuffer* b = head; b; b = b->next) {
            length += b->length;
            ++parts;
        }
        if (!s->added || !frame_length_ok(s, length)) {
            ++s->stats.rx_dropped;
            release_frame(head);
            continue;
        }
        struct pbuf* p;
        if (copy || length <= rx_copybreak) {
            p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(length), PBUF_RAM);
            if (p) {
                u16_t at = 0;
                for (RxBuffer* b = head; b; b = b->next) {
                    pbuf_take_at(p, b->data, b->length, at);
                    at = static_cast<u16_t>(at + b->length);
                }
                ++s->stats.rx_copied;
            }
            release_frame(head);
        } else {
            // Each part becomes a custom pbuf living in its buffer's stack_private, chained:
            // lwIP reads a frame across pbufs, and each buffer goes back on its own.
            p = nullptr;
            for (RxBuffer* b = head; b;) {
                RxBuffer* next = b->next;  // b may be released as soon as it is in the chain
                auto* custom = reinterpret_cast<pbuf_custom*>(b->stack_private);
                custom->custom_free_function = release_lent_buffer;
                struct pbuf* part = pbuf_alloced_custom(PBUF_RAW, b->length, PBUF_REF, custom, b->data, b->length);
                if (p) pbuf_cat(p, part);
                else p = part;
                b = next;
            }
            if (parts > 1) ++s->stats.rx_chained;
        }
        if (!p) {
            ++s->stats.rx_dropped;
            continue;
        }
        ++s->stats.rx_frames;
        s->stats.rx_bytes += length;
        input_frame(s, p, verified);
    }
}

void EthernetDevice::receive_copy(const void* frame, size_t length, bool checksum_verified) {
    DeviceState* s = DeviceGlue::state(*this);
    if (!s || !initialized()) return;
    CoreLock lock;
    ++s->stats.rx_batches;
    struct pbuf* p = nullptr;
    if (s->added && frame_length_ok(s, length)) p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(length), PBUF_RAM);
    if (!p) {
        ++s->stats.rx_dropped;
        return;
    }
    pbuf_take(p, frame, static_cast<u16_t>(length));
    ++s->stats.rx_frames;
    ++s->stats.rx_copied;
    s->stats.rx_bytes += length;
    input_frame(s, p, checksum_verified);
}

void EthernetDevice::set_link(bool up) {
    DeviceState* s = DeviceGlue::state(*this);
    if (!s) return;
    if (!initialized()) {
        initial_link_up = up;
        return;
    }
    CoreLock lock;
    if (!s->added) {
        initial_link_up = up;
    } else if (up) {
        netif_set_link_up(&s->netif);
    } else {
        netif_set_link_down(&s->netif);
    }
}

DeviceStats EthernetDevice::stats() const {
    const DeviceState* s = DeviceGlue::state(*this);
    if (!s) return {};
    if (!initialized() || core_locked()) return s->stats;
    CoreLock lock;  // the counters change under it
    return s->stats;
}

TxKeep keep(const TxFrame& frame) {
    auto* p = static_cast<struct pbuf*>(frame.stack_ref);
    pbuf_ref(p);
    return p;
}

void release_kept(TxKeep kept) { pbuf_free(static_cast<struct pbuf*>(kept)); }

}  // namespace mica::net
