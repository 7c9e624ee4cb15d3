// TCP segmentation offload for the virtio-net driver (VIRTIO_NET_F_HOST_TSO4), the part that
// touches no device: deciding which frames can travel as one, and the headers of the frame
// that carries them. Host-tested (tests/unit/test_virtio_net_tso.cc).
//
// lwIP never builds a TCP segment longer than the peer's MSS, so the driver does the merging:
// the segments lwIP sends in one batch (one core-lock section: what the congestion and
// receive windows allow) are usually consecutive full-sized segments of one connection. The
// driver copies the first one's headers, fixes them for the whole (IP length and checksum,
// the TCP pseudo-header sum), and hands the device one frame of headers plus every segment's
// payload in place, with a virtio header asking it to cut the frame back into segments of
// the first one's size (gso_size). The device (the host's TCP/IP stack behind a tap) does
// what Linux's GSO does: each segment gets the headers with its own sequence number, length,
// IP id and checksums; PSH and FIN only on the last. So only segments that differ in nothing
// else may merge: same addresses, ports, acknowledgement, window, TOS and TTL, contiguous
// sequence numbers, every segment but the last exactly gso_size long, flags ACK (and PSH on
// the last), no IP or TCP options (lwIP sends none on data segments without timestamps).
#pragma once

#include <mica/virtio/net_spec.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::virtio::net_tso {

inline constexpr uint8_t gso_tcpv4 = 1;  // virtio_net_hdr.gso_type (5.1.6)
inline constexpr size_t ethernet_length = 14, ipv4_length = 20, tcp_length = 20;
inline constexpr size_t header_length = ethernet_length + ipv4_length + tcp_length;  // 54
inline constexpr size_t max_payload = 65535 - ipv4_length - tcp_length;  // one IPv4 packet's
inline constexpr unsigned max_frames = 48;  // segments merged into one frame at most

// One TCP segment's headers as the transmit path sees them.
struct Segment {
    uint8_t headers[header_length];  // Ethernet, IPv4, TCP: copied from the frame
    uint32_t seq = 0;
    uint16_t payload = 0;  // bytes after the headers
    uint8_t tcp_flags = 0;
};

inline constexpr uint8_t tcp_fin = 0x01, tcp_syn = 0x02, tcp_rst = 0x04, tcp_psh = 0x08, tcp_ack = 0x10,
                         tcp_urg = 0x20;

// Whether the frame (`frame_length` bytes; its first `available` contiguous at `bytes`) is a
// TCP data segment that may start or join a TSO frame: Ethernet II + IPv4 without options,
// not a fragment, TCP without options, ACK set and nothing but PSH besides, some payload.
// Fills `out` when it is.
bool candidate(const uint8_t* bytes, size_t available, size_t frame_length, Segment& out);

// Whether `next` may follow `last` in the TSO frame that `head` starts, `payload_so_far`
// bytes of payload in it: the same connection and header fields, a contiguous sequence
// number, `last` exactly head.payload long without PSH, `next` no longer than that, and the
// whole within one IPv4 packet.
bool continues(const Segment& head, const Segment& last, const Segment& next, size_t payload_so_far);

// The merged frame's headers in `out` (header_length bytes: `head`'s with the IPv4 total
// length and header checksum for `total_payload`, the TCP checksum field holding the
// pseudo-header sum over the whole segment, as for any partial checksum, and the last
// segment's TCP flags) and the virtio header asking the device to segment it.
net_spec::Header finish(const Segment& head, uint8_t last_flags, size_t total_payload, uint8_t* out);

}  // namespace mica::virtio::net_tso
