// virtio-net (drivers/virtio/net.cc): each virtio network device becomes an Ethernet device
// of the network stack (mica/net/netdev.h), eth0, eth1... in probe order. This header is what
// the rest of the kernel sees of the driver: its boot options and its counters (tests,
// --verbose, the measurements in docs/performance.md).
#pragma once

#include <mica/cmdline.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::virtio {

class Device;

// --virtio-net-rx-buffer=BYTES, --virtio-net-poll=on|off (see net.cc).
cmdline::OptionTable net_command_line_options();

struct NetStats {
    char name[8];                    // "eth0"
    bool link_up, failed;
    bool mergeable, guest_csum, csum, polling;
    uint16_t mtu;
    uint32_t rx_buffer_capacity;     // bytes the device may write per receive buffer
    uint16_t rx_ring, tx_ring;       // entries
    // Interrupts taken, by queue (with INTx or virtio-mmio one interrupt runs every queue's
    // handler: the receive count is then the device's total).
    uint64_t rx_interrupts, tx_interrupts, config_interrupts;
    uint64_t rx_polls;               // poll rounds (each hands up one batch)
    uint64_t rx_yields;              // rounds that used the whole budget and yielded
    uint64_t rx_frames, rx_merged_frames, rx_buffers, rx_checksum_verified;
    uint64_t rx_dropped;             // malformed (short, long, bad header)
    uint64_t rx_copied_frames;       // copied because too many buffers were lent to the stack
    uint64_t tx_frames, tx_zero_copy, tx_copied, tx_bounced, tx_checksum_offload;
    uint64_t tx_backlogged;          // frames that waited for room in the ring
    uint64_t tx_dropped;             // frames refused (-ENOBUFS): the ring and the backlog were full
    uint64_t tx_kicks;               // flush() calls that published frames
    bool tso;                        // VIRTIO_NET_F_HOST_TSO4 in use
    uint64_t tx_tso_frames;          // frames the device segments (net_tso.h)
    uint64_t tx_tso_segments;        // the TCP segments they carried
    // The watchdog's finds: frames waiting with no interrupt, a transmit ring the device had
    // not been told about (notifications lost: see net_driver.h).
    uint64_t watchdog_rx, watchdog_tx;
    uint64_t link_changes;
};

// Probes `device` as the driver table's probe does (devices that attach_device did not find:
// the in-guest tests' model devices). 0 or -errno.
int net_attach(Device& device);
// Takes a device the driver took out of the system (hot-unplug; the tests' model devices):
// the receive thread ends, the interface goes (connections through it are reset), the device
// is reset and its buffers freed once the stack has let go of them. false if it is not this
// driver's, or if the stack kept buffers past a few seconds (the driver's memory then stays).
bool net_detach(Device& device);

// Devices the driver took, in probe order.
size_t net_device_count();
// A snapshot of device `index`'s counters; false if there is no such device.
bool net_stats(size_t index, NetStats& out);
// One line per device with the counters (for test services and --verbose).
void print_net_stats();

}  // namespace mica::virtio
