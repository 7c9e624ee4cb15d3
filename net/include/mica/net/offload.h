// Checksum offload, the stack's half: finding the TCP header of an outgoing frame and the
// pseudo-header sum a "checksum partial" device expects in the checksum field (netdev.h
// TxOffload), and what such a device then does. No lwIP: host-tested
// (tests/unit/test_net_offload.cc).
#pragma once

#include <mica/net/netdev.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::net {

inline constexpr uint16_t ethertype_ipv4 = 0x0800;
inline constexpr uint8_t ip_protocol_tcp = 6;
inline constexpr uint8_t ip_protocol_udp = 17;
inline constexpr uint16_t tcp_checksum_offset = 16;
inline constexpr uint16_t udp_checksum_offset = 6;

// For a frame that starts with an Ethernet header and carries an unfragmented IPv4 TCP
// segment: sets `offload` (checksum_partial, start = the TCP header, offset 16) and
// `pseudo_sum`, the folded ones' complement sum of the pseudo header (addresses, protocol,
// TCP length) that belongs in the checksum field. `head` holds the frame's first `available`
// bytes, `frame_length` is the whole frame's. false for anything else (ARP, ICMP, UDP, IP
// fragments, headers that do not add up): the frame goes out as it is.
bool checksum_partial_for(const uint8_t* head, size_t available, size_t frame_length, TxOffload& offload,
                          uint16_t& pseudo_sum);

// What a device does with a checksum-partial frame: sums the bytes from checksum_start to the
// end (the field holding the pseudo-header sum) and stores the complement in the field. For
// test devices, and drivers whose device lacks the feature. `frame` is contiguous.
void complete_checksum(uint8_t* frame, size_t length, const TxOffload& offload);

// The Internet checksum's arithmetic (RFC 1071): adds `length` bytes as big-endian 16-bit
// words (an odd last byte padded with zero) to `sum`, and folds a sum to 16 bits.
uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t length);
uint16_t checksum_fold(uint32_t sum);

}  // namespace mica::net
