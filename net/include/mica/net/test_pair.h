// Two Ethernet devices wired back to back (CONFIG_NET_TEST_PAIR), for the in-guest tests: a
// frame one transmits lands in a receive buffer of the other and is handed up by the other's
// receive thread, the way a NIC's interrupt thread would. They are real EthernetDevices
// (netdev.h): registration, scatter-list transmit with its flush per batch, zero-copy receive
// through lent buffers (or receive_copy), checksum offload both ways, link state.
#pragma once

#include <mica/net/netdev.h>
#include <stddef.h>

namespace mica::net::testing {

struct PairOptions {
    // Both devices offer Features::tx_checksum: TCP frames arrive with "checksum partial".
    bool tx_checksum = false;
    // Both devices offer Features::rx_checksum. The wire then delivers a partial-checksum
    // frame as it is, marked verified (as a virtual switch does between guests); without it
    // the wire completes the sum first, as a NIC would, and the receiver checks it.
    bool rx_checksum = false;
    // Frames go up through receive() and lent buffers (zero copy), or receive_copy().
    bool zero_copy = true;
    // Transmit keeps the frame (net::keep) and the receive thread copies it later, as a device
    // reading the sender's memory would; otherwise transmit copies at once.
    bool zero_copy_transmit = false;
    // Receive buffers per device; a frame arriving when all are lent out is dropped.
    size_t ring_size = 256;
};

class DevicePair {
public:
    // Creates and registers the two devices (named eth<N> by the registry); nullptr when
    // memory or device slots run out.
    static DevicePair* create(const PairOptions& options);
    // Stops the receive threads, unregisters both devices and frees everything. Buffers the
    // stack still holds are waited for (up to a few seconds); false if some never came back
    // (the memory is then left alone rather than freed under the stack's feet).
    bool destroy();

    EthernetDevice& first();
    EthernetDevice& second();
    // The next `count` frames that carry at least `min_length` bytes get their last byte
    // flipped on the wire (to prove that the receiver checks what it should).
    void corrupt_next(size_t count, size_t min_length);
    // Frames carried, and dropped on the wire for want of a receive buffer.
    size_t frames_carried() const;
    size_t frames_dropped() const;

    struct Impl;  // test_pair.cc's

private:
    DevicePair() = default;
    Impl* impl_ = nullptr;
};

}  // namespace mica::net::testing
