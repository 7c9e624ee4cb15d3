// virtio-net (virtio 1.2, section 5.1): one receive and one transmit queue per device, each
// device an Ethernet device of the network stack (mica/net/netdev.h). How it works and why:
// net_driver.h. This file: the boot options, probing, the receive thread, link state,
// stopping a device that breaks the protocol, and the counters.
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/random.h>
#include <string.h>

#include "net_driver.h"

namespace mica::virtio {
namespace net_internal {

Options options;

// The boot options' table (net_command_line_options()).
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
    {"virtio-net-tso", "on|off", "send runs of TCP segments as one frame the device cuts up, when it offers TSO (on, the default)",
     on_off, [](const char* v) -> const char* {
         options.tso = strcmp(v, "on") == 0;
         return nullptr;
     }},
};

namespace {
constexpr uint8_t locally_administered = 0x02;  // first MAC byte of a made-up address
constexpr uint8_t multicast_bit = 0x01;

void format_mac(const uint8_t* mac, char* out, size_t size) {
    fmt::snprintf(out, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

}  // namespace

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

int VirtioNet::probe() {
    // What the driver can use (net_driver.h says what it leaves out and why).
    uint64_t wanted = feature(feature_csum) | feature(feature_guest_csum) | feature(feature_mtu) |
                      feature(feature_mac) | feature(feature_mrg_rxbuf) | feature(feature_status);
    if (options.tso) wanted |= feature(feature_host_tso4);
    if (int e = device_.negotiate(wanted)) return e;
    if (int e = read_identity()) return e;
    polling_ = options.polling;
    tso_ = device_.has(feature_host_tso4) && device_.has(feature_csum);  // TSO4 requires CSUM
    plan_ = plan_buffers(device_.has(feature_mrg_rxbuf), mtu, options.rx_buffer);

    QueueConfig queues[2] = {{rx_interrupt, this, ring_entries}, {tx_interrupt, this, ring_entries}};
    if (int e = device_.setup_queues(2, queues)) return e;
    // From here the queues' interrupts name this object: a failure stops the device (which
    // detaches them) before the caller frees it.
    auto fail = [&](int e) {
        device_.fail(nullptr);
        free_rx();
        free_tx();
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
    if (int e = allocate_rx()) return fail(e);
    if (int e = allocate_tx()) return fail(e);
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
    sched::start(thread_);
    if (drivers::verbose()) {
        char address[18];
        format_mac(mac, address, sizeof address);
        kprintf("mica: %s: %s, virtio-net %s, MTU %u, link %s, receive %s buffers of %u bytes (%u-entry rings), "
                "checksum offload: transmit %s, receive %s, TSO %s, %s\n",
                name(), device_.name(), address, mtu, link_up_ ? "up" : "down",
                device_.has(feature_mrg_rxbuf) ? "mergeable" : "whole-frame", plan_.capacity, rxq_->size(),
                features.tx_checksum ? "yes" : "no", features.rx_checksum ? "yes" : "no", tso_ ? "yes" : "no",
                polling_ ? "polling under load" : "an interrupt per packet");
    }
    return 0;
}

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
    release_all_tx();  // no transmit() touches the slots once the state says failed
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

// The receive thread. It ends only when remove() asks; a stopped device leaves it asleep.
void VirtioNet::run() {
    bool watching = true;  // a handshake happened since the last quiet look (net_driver.h)
    for (;;) {
        // Idle with transmit buffers out: wake up later to reclaim them (no interrupt needed);
        // after a handshake: wake up to look for a lost notification.
        bool posted = wake_.wait(sleep_timeout(watching));
        __atomic_store_n(&sleeping_untimed_, false, __ATOMIC_RELEASE);
        if (__atomic_load_n(&stopping_, __ATOMIC_ACQUIRE)) return;
        if (const char* why = __atomic_exchange_n(&failure_, nullptr, __ATOMIC_ACQ_REL)) stop(why);
        if (state_ != State::running) continue;
        if (__atomic_exchange_n(&config_changed_, false, __ATOMIC_ACQ_REL)) update_link();
        bool watchdog = !posted;
        watching = false;
        for (;;) {
            size_t n = poll_rx();
            size_t reclaimed = reclaim_tx(watchdog);
            if (watchdog && n) ++watchdog_rx_;  // frames were waiting with no interrupt
            // Buffers the device may not have heard of (a lost refill doorbell starves it).
            if (watchdog && !n) notify_rx();
            if (n || reclaimed) watching = true;
            watchdog = false;
            if (state_ != State::running || __atomic_load_n(&stopping_, __ATOMIC_ACQUIRE)) break;
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

bool VirtioNet::remove() {
    __atomic_store_n(&stopping_, true, __ATOMIC_RELEASE);
    wake_.post();
    sched::join(thread_);  // no receive() from here on
    thread_ = nullptr;
    net::unregister_device(*this);  // no transmit() or flush() either; connections through it reset
    {
        sched::SpinGuard rx(rx_lock_);
        sched::SpinGuard tx(tx_lock_);
        if (state_ == State::running) state_ = State::failed;
    }
    if (device_.queue_count()) device_.fail(nullptr);  // reset: the device lets go of every buffer
    release_all_tx();
    {
        sched::SpinGuard guard(rx_lock_);
        recycle(assembler_.take_partial());
        posted_ = 0;
    }
    // The stack lets go of what it holds as the connections through the device end.
    uint64_t waited = 0;
    while (__atomic_load_n(&lent_, __ATOMIC_ACQUIRE) && waited < release_wait_ns) {
        sched::sleep_ns(release_poll_ns);
        waited += release_poll_ns;
    }
    if (__atomic_load_n(&lent_, __ATOMIC_ACQUIRE)) {
        kprintf("mica: %s: %zu receive buffers still held by the network stack; their memory stays\n",
                device_.name(), lent_);
        return false;
    }
    free_rx();
    free_tx();
    return true;
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
        s.rx_ring = static_cast<uint16_t>(rx_slot_count_ / rx_pool_rings);
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
        s.tx_ring = static_cast<uint16_t>(tx_slot_count_ / tx_pool_rings);
        s.tx_frames = tx_frames_;
        s.tx_zero_copy = tx_zero_copy_;
        s.tx_copied = tx_copied_;
        s.tx_bounced = tx_bounced_;
        s.tx_checksum_offload = tx_offload_;
        s.tx_backlogged = tx_backlogged_;
        s.tx_dropped = tx_dropped_;
        s.tx_kicks = tx_kicks_;
        s.tso = tso_;
        s.tx_tso_frames = tx_tso_frames_;
        s.tx_tso_segments = tx_tso_segments_;
    }
    s.watchdog_rx = __atomic_load_n(&watchdog_rx_, __ATOMIC_RELAXED);
    s.watchdog_tx = __atomic_load_n(&watchdog_tx_, __ATOMIC_RELAXED);
    return s;
}

}  // namespace net_internal

namespace {
using namespace net_internal;

// Owned here: the devices probed (appended in the devices phase; net_detach removes them).
VirtioNet* devices[net::max_devices];
size_t device_total = 0;

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

int net_attach(Device& device) {
    int e = probe(device);
    if (e) device.fail(nullptr);  // as attach_device does: the device is left reset
    return e;
}

bool net_detach(Device& device) {
    for (size_t i = 0; i < device_total; ++i) {
        VirtioNet* net = devices[i];
        if (&net->device() != &device) continue;
        if (!net->remove()) return false;  // buffers still out: the object must stay
        for (size_t j = i + 1; j < device_total; ++j) devices[j - 1] = devices[j];
        devices[--device_total] = nullptr;
        device.driver_data = nullptr;
        delete net;
        return true;
    }
    return false;
}

cmdline::OptionTable net_command_line_options() {
    return {net_internal::option_table, sizeof net_internal::option_table / sizeof net_internal::option_table[0]};
}

size_t net_device_count() { return device_total; }

bool net_stats(size_t index, NetStats& out) {
    if (index >= device_total) return false;
    out = devices[index]->snapshot();
    return true;
}

void print_net_stats() {
    for (size_t i = 0; i < device_total; ++i) {
        NetStats s = devices[i]->snapshot();
        auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
        kprintf("mica: %s stats: rx %llu frames (%llu merged, %llu buffers, %llu checksums verified, %llu dropped, "
                "%llu copied), %llu interrupts, %llu polls, %llu yields; tx %llu frames (%llu in place, %llu copied, "
                "%llu bounced, %llu checksums offloaded, %llu waited for room, %llu dropped), %llu kicks, "
                "%llu interrupts, %llu TSO frames of %llu segments; %llu config interrupts, %llu link changes; watchdog %llu rx, %llu tx%s\n",
                s.name, u(s.rx_frames), u(s.rx_merged_frames), u(s.rx_buffers), u(s.rx_checksum_verified),
                u(s.rx_dropped), u(s.rx_copied_frames), u(s.rx_interrupts), u(s.rx_polls), u(s.rx_yields),
                u(s.tx_frames), u(s.tx_zero_copy), u(s.tx_copied), u(s.tx_bounced), u(s.tx_checksum_offload),
                u(s.tx_backlogged), u(s.tx_dropped), u(s.tx_kicks), u(s.tx_interrupts), u(s.tx_tso_frames),
                u(s.tx_tso_segments), u(s.config_interrupts),
                u(s.link_changes), u(s.watchdog_rx), u(s.watchdog_tx), s.failed ? ", FAILED" : "");
    }
}

}  // namespace mica::virtio
