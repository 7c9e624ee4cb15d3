// The Ethernet driver interface: what a network driver (virtio-net, the test pair) sees of
// the network stack. lwIP stays invisible here; net/netdev.cc is the glue.
//
// A driver derives from EthernetDevice, fills in its MAC, MTU and features, implements
// transmit() (and flush() if the device wants one notification per batch), and calls
// register_device(). Received frames go up with receive() (zero copy: the stack keeps the
// driver's buffer until it calls the buffer's release function) or receive_copy().
//
// Contexts and locks:
//  - transmit() and flush() are called with the stack's core lock held, from whichever thread
//    is sending (an application's system call, the tcpip thread, another device's receive
//    thread). They must not block, sleep or call back into the stack.
//  - receive(), receive_copy() and set_link() are called from the driver's thread (never from
//    an interrupt handler, never with the core lock held): they take the core lock, and the
//    protocol work for the frames (TCP acknowledgements, socket wake-ups) runs right there.
//  - RxBuffer::release may be called on any thread, possibly long after receive() returned
//    (the data may sit in a socket's receive queue until the application reads it).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::net {

inline constexpr size_t mac_length = 6;
inline constexpr uint16_t ethernet_mtu = 1500;     // the default: IP packet bytes per frame
inline constexpr uint16_t min_mtu = 576;           // IPv4's minimum reassembly size (RFC 791)
inline constexpr uint16_t max_mtu = 9000;          // jumbo frames
inline constexpr size_t ethernet_header_length = 14;
inline constexpr size_t max_devices = 8;           // eth0 .. eth7
inline constexpr size_t max_tx_segments = 16;      // longest scatter list transmit() gets

// One piece of a frame being sent.
struct Segment {
    const void* data;
    size_t length;
};

// What the driver must finish before the frame leaves (virtio's VIRTIO_NET_HDR_F_NEEDS_CSUM,
// Linux's CHECKSUM_PARTIAL). Set only on devices with Features::tx_checksum.
struct TxOffload {
    // The device computes the ones' complement sum of the bytes from checksum_start to the end
    // of the frame and stores its complement in the 16-bit field at checksum_start +
    // checksum_offset. The stack has already put the pseudo-header sum in that field, as
    // both virtio and Linux expect; a driver copies the three values into its header.
    bool checksum_partial = false;
    uint16_t checksum_start = 0;   // from the frame's first byte (the Ethernet header)
    uint16_t checksum_offset = 0;  // from checksum_start: 16 for TCP, 6 for UDP
};

// A frame to send: a scatter list of `length` bytes in total, starting with the Ethernet
// header. The data is only guaranteed during transmit() unless the driver calls keep().
struct TxFrame {
    const Segment* segments;
    size_t segment_count;
    size_t length;
    TxOffload offload;
    void* stack_ref;  // the stack's, for keep()
};

// A reference that keeps a TxFrame's data alive after transmit() returns, for drivers that
// let the device read the segments in place (zero-copy transmit). Release it once the
// device has finished with them; any thread.
using TxKeep = void*;
TxKeep keep(const TxFrame& frame);
void release_kept(TxKeep kept);

// A received frame the driver lends to the stack. The driver owns the object (typically one
// per receive ring slot); the stack uses stack_private while it holds the frame, so
// receiving needs no allocation per packet.
struct RxBuffer {
    static constexpr size_t stack_private_size = 48;

    uint8_t* data = nullptr;        // the Ethernet header's first byte (of this part)
    uint16_t length = 0;            // bytes of frame in this buffer (no FCS)
    bool checksum_verified = false; // the device checked the TCP/UDP checksum (virtio's
                                    // VIRTIO_NET_HDR_F_DATA_VALID); needs Features::rx_checksum;
                                    // read on a frame's first buffer only
    // A frame spanning several buffers (virtio's mergeable receive buffers): the frame goes
    // on in `next` (its data and length), and so on; nullptr on the last. Each part is
    // released on its own. Only the first part is in the array given to receive().
    // Called exactly once when the stack no longer needs data (for a small frame the stack
    // copies, already during receive()). From any thread, never with a lock the driver holds.
    void (*release)(RxBuffer* buffer) = nullptr;
    RxBuffer* next = nullptr;
    void* driver_data = nullptr;
    alignas(16) unsigned char stack_private[stack_private_size];
};

struct Features {
    bool tx_checksum = false;  // honours TxOffload::checksum_partial for TCP
    bool rx_checksum = false;  // sets RxBuffer::checksum_verified (receive_copy's flag)
};

// Per-device counters, updated by the stack under its core lock.
struct DeviceStats {
    uint64_t rx_frames = 0, rx_bytes = 0, rx_copied = 0, rx_dropped = 0;
    uint64_t tx_frames = 0, tx_bytes = 0, tx_checksum_partial = 0, tx_dropped = 0;
    uint64_t rx_batches = 0, tx_flushes = 0;
    uint64_t rx_chained = 0;  // frames handed up in several buffers, kept as a pbuf chain
};

class EthernetDevice {
public:
    virtual ~EthernetDevice() = default;

    // Set by the driver before register_device(), fixed afterwards.
    uint8_t mac[mac_length] = {};
    uint16_t mtu = ethernet_mtu;
    Features features;
    bool initial_link_up = true;

    // Queues `frame` for the device. 0, or a negative errno when it could not (-ENOBUFS: the
    // device's queue is full); the frame is then dropped and counted, and TCP retransmits.
    // Core lock held; must not block.
    virtual int transmit(const TxFrame& frame) = 0;
    // Called after one or more transmit() calls, at the latest before the core lock is
    // released: the place to notify the device once per batch. Core lock held.
    virtual void flush() {}

    // "eth0"... once registered ("" before).
    const char* name() const { return name_; }
    // Hands up `count` received frames in one batch (one core-lock acquisition). The stack
    // takes every frame: each buffer's release() is called once, sooner or later, even for
    // frames it drops. With `copy` every frame is copied and its buffers released before
    // this returns (for a driver running short of buffers the stack would otherwise keep).
    // Driver thread context.
    void receive(RxBuffer* const* frames, size_t count, bool copy = false);
    // Copies one frame; the driver's buffer is free again when this returns.
    void receive_copy(const void* frame, size_t length, bool checksum_verified);
    // Carrier changes (virtio's VIRTIO_NET_S_LINK_UP). Driver thread context.
    void set_link(bool up);
    // A snapshot of the counters (taken under the core lock).
    DeviceStats stats() const;

private:
    friend struct DeviceGlue;
    void* stack_ = nullptr;  // net/netdev.cc's state for this device
    char name_[8] = {};
};

// Registers a device: it becomes eth<N> with the lowest free N (in registration order at
// boot). Before net::init() it is brought up by init() with the boot options; afterwards at
// once, without an address (tests configure it). 0, -EINVAL (bad MTU), -ENOSPC (more than
// max_devices) or -ENOMEM.
int register_device(EthernetDevice& device);
// Takes the device out of the stack: no call reaches the driver once this returns. Buffers
// the stack still holds are released as the stack lets go of them (connections through the
// device are reset), so the driver frees its buffers only after every release().
void unregister_device(EthernetDevice& device);

}  // namespace mica::net
