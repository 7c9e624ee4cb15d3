// virtio-net as the specification defines it (virtio 1.2, section 5.1), the parts the driver
// (drivers/virtio/net.cc) needs that touch no hardware and no kernel service, so they are
// host-tested (tests/unit/test_virtio_net.cc): feature bits, the configuration layout, the
// per-packet header, the receive buffer plan, and the assembler that turns the used receive
// buffers into frames (mergeable buffers: one frame across several) and refuses what a
// misbehaving device writes.
#pragma once

#include <mica/net/netdev.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::virtio::net_spec {

// Feature bits (5.1.3).
inline constexpr unsigned feature_csum = 0;        // the device finishes partial checksums (transmit)
inline constexpr unsigned feature_guest_csum = 1;  // the driver accepts partial/validated checksums (receive)
inline constexpr unsigned feature_mtu = 3;         // config.mtu is the largest MTU the device takes
inline constexpr unsigned feature_mac = 5;         // config.mac holds the address
inline constexpr unsigned feature_guest_tso4 = 7, feature_guest_tso6 = 8, feature_guest_ufo = 10;
inline constexpr unsigned feature_host_tso4 = 11, feature_host_tso6 = 12, feature_host_ufo = 14;
inline constexpr unsigned feature_mrg_rxbuf = 15;  // a received frame may span several buffers
inline constexpr unsigned feature_status = 16;     // config.status holds the link state
inline constexpr unsigned feature_ctrl_vq = 17;

// Device configuration (5.1.4): byte offsets.
inline constexpr uint32_t config_mac = 0, config_status = 6, config_mtu = 10;
inline constexpr uint16_t status_link_up = 1;

// Queue indices without VIRTIO_NET_F_MQ (5.1.2).
inline constexpr unsigned receive_queue = 0, transmit_queue = 1;

// struct virtio_net_hdr (5.1.6): 12 bytes in front of every frame, little-endian. With
// VIRTIO_F_VERSION_1 num_buffers is always there (legacy devices without MRG_RXBUF had 10).
inline constexpr size_t header_size = 12;
inline constexpr uint8_t header_needs_csum = 1;  // checksum partial: start/offset below
inline constexpr uint8_t header_data_valid = 2;  // the device checked the checksum
inline constexpr uint8_t gso_none = 0;

struct Header {
    uint8_t flags = 0;
    uint8_t gso_type = gso_none;
    uint16_t header_length = 0;
    uint16_t gso_size = 0;
    uint16_t csum_start = 0;
    uint16_t csum_offset = 0;
    uint16_t num_buffers = 0;
};
Header decode_header(const uint8_t* bytes);
void encode_header(const Header& header, uint8_t* bytes);
// The header of a frame to send: NEEDS_CSUM with the stack's offsets when it asks for
// checksum offload, nothing otherwise (no GSO: see net.cc on TSO).
Header transmit_header(const net::TxOffload& offload);

// Frames: the Ethernet header, up to `mtu` bytes of IP packet, and room for a VLAN tag (which
// the stack drops, but a device may deliver); no FCS.
inline constexpr size_t vlan_tag_length = 4;
constexpr size_t max_frame_length(uint16_t mtu) { return net::ethernet_header_length + vlan_tag_length + mtu; }

// Receive buffers. With mergeable buffers they are all `mergeable_size` bytes (a frame longer
// than one takes several); without, each must hold the header and the longest frame.
inline constexpr uint32_t default_mergeable_buffer = 2048;
inline constexpr uint32_t min_mergeable_buffer = 256;   // header + Ethernet, IPv4 and TCP headers with options
inline constexpr uint32_t max_mergeable_buffer = 65536;
// The header goes this far into each buffer so that the IP header after the 14-byte Ethernet
// header lands on a 4-byte boundary (Linux's NET_IP_ALIGN).
inline constexpr uint32_t ip_align = 2;
struct BufferPlan {
    uint32_t allocation;  // bytes to allocate per buffer
    uint32_t capacity;    // bytes the device may write, from `ip_align` into the allocation
};
// The plan for `mtu` with or without mergeable buffers; `mergeable_size` (0: the default)
// must be within [min_mergeable_buffer, max_mergeable_buffer] (else the default is used).
BufferPlan plan_buffers(bool mergeable, uint16_t mtu, uint32_t mergeable_size);
// A readable name for the first problem with a requested mergeable buffer size, or nullptr.
const char* check_mergeable_size(uint32_t bytes);

// What the driver negotiated, for the assembler.
struct RxLayout {
    uint32_t capacity = 0;      // bytes each buffer offers the device
    bool mergeable = false;     // VIRTIO_NET_F_MRG_RXBUF
    bool guest_csum = false;    // VIRTIO_NET_F_GUEST_CSUM
    uint16_t max_parts = 1;     // buffers posted at most (a frame can never take more)
    size_t max_frame = 0;       // max_frame_length(mtu)
};

struct RxCounters {
    uint64_t frames = 0;           // handed out
    uint64_t merged_frames = 0;    // of which spanned several buffers
    uint64_t buffers = 0;          // used buffers taken
    uint64_t checksum_verified = 0;
    uint64_t dropped_short = 0;    // shorter than the header plus an Ethernet header
    uint64_t dropped_long = 0;     // longer than max_frame
    uint64_t dropped_bad = 0;      // bad num_buffers, GSO not negotiated, bad checksum offsets
};

// Turns used receive buffers, in the order the device used them, into frames.
//
//   add(buffer, start, written): `start` is where the device began writing (buffer memory +
//   ip_align), `written` the length from the used ring. The assembler sets buffer->data,
//   ->length, ->next (the frame's further parts) and, on the first part,
//   ->checksum_verified. It returns
//     need_more  the frame continues in the next buffers (mergeable);
//     frame      take_frame() gives the whole frame (parts linked through next);
//     dropped    take_dropped() gives the frame's buffers, to be reposted unused;
//     broken     the device did something no correct device does (wrote past a buffer, or
//                announced a frame in more buffers than were ever posted): problem() says
//                what; the driver must stop the device. take_dropped() gives the buffers held.
//
// Not thread-safe (the driver's receive path owns it).
class RxAssembler {
public:
    enum class Result { need_more, frame, dropped, broken };

    void configure(const RxLayout& layout);
    Result add(net::RxBuffer* buffer, uint8_t* start, uint32_t written);
    net::RxBuffer* take_frame();
    net::RxBuffer* take_dropped();
    // Buffers of a frame still being assembled (the device is being stopped): linked through next.
    net::RxBuffer* take_partial();
    const char* problem() const { return problem_[0] ? problem_ : nullptr; }
    const RxCounters& counters() const { return counters_; }
    bool assembling() const { return head_ != nullptr; }

private:
    void append(net::RxBuffer* buffer);
    Result finish();
    Result broken(net::RxBuffer* buffer);
    void reset();

    RxLayout layout_;
    RxCounters counters_;
    net::RxBuffer* head_ = nullptr;  // the frame being assembled
    net::RxBuffer* tail_ = nullptr;
    uint16_t expected_ = 0;          // parts the header announced
    uint16_t received_ = 0;
    size_t total_ = 0;               // frame bytes so far
    uint64_t* drop_reason_ = nullptr;  // set: consume the frame to its end, then drop it
    net::RxBuffer* out_ = nullptr;   // the result of the last add
    uint8_t flags_ = 0;              // the first part's header
    uint16_t csum_start_ = 0, csum_offset_ = 0;
    char problem_[96] = {};
};

}  // namespace mica::virtio::net_spec
