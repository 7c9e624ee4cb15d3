// TSO: which TCP segments may travel as one frame, and that frame's headers (net_tso.h).
#include <mica/virtio/net_tso.h>
#include <string.h>

namespace mica::virtio::net_tso {
namespace {

constexpr size_t ip = ethernet_length, tcp = ethernet_length + ipv4_length;
constexpr uint16_t ethertype_ipv4 = 0x0800;
constexpr uint8_t protocol_tcp = 6;
constexpr uint16_t ip_more_fragments = 0x2000, ip_offset_mask = 0x1fff;

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }
void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// The ones' complement sum of 16-bit big-endian words, folded.
uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}
uint32_t add_words(uint32_t sum, const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
    return sum;
}

}  // namespace

bool candidate(const uint8_t* bytes, size_t available, size_t frame_length, Segment& out) {
    if (available < header_length || frame_length <= header_length) return false;
    if (get16(bytes + 12) != ethertype_ipv4) return false;
    const uint8_t* iph = bytes + ip;
    if (iph[0] != 0x45 || iph[9] != protocol_tcp) return false;  // IPv4, no options, TCP
    if (get16(iph + 6) & (ip_more_fragments | ip_offset_mask)) return false;
    size_t ip_total = get16(iph + 2);
    if (ip_total != frame_length - ethernet_length) return false;  // no padding, nothing odd
    const uint8_t* th = bytes + tcp;
    if ((th[12] >> 4) != tcp_length / 4) return false;  // no TCP options
    uint8_t flags = th[13];
    if (!(flags & tcp_ack) || (flags & ~(tcp_ack | tcp_psh))) return false;
    memcpy(out.headers, bytes, header_length);
    out.seq = get32(th + 4);
    out.payload = static_cast<uint16_t>(frame_length - header_length);
    out.tcp_flags = flags;
    return true;
}

bool continues(const Segment& head, const Segment& last, const Segment& next, size_t payload_so_far) {
    // Everything but the IP length, id and checksum, the sequence number, the flags and the
    // TCP checksum must be the same: the device repeats the head's headers.
    const uint8_t* a = head.headers;
    const uint8_t* b = next.headers;
    if (memcmp(a, b, ethernet_length) != 0) return false;                      // MAC addresses, type
    if (a[ip + 1] != b[ip + 1] || a[ip + 8] != b[ip + 8]) return false;         // TOS, TTL
    if (get16(a + ip + 6) != get16(b + ip + 6)) return false;                  // DF
    if (memcmp(a + ip + 12, b + ip + 12, 8) != 0) return false;                 // addresses
    if (memcmp(a + tcp, b + tcp, 4) != 0) return false;                         // ports
    if (memcmp(a + tcp + 8, b + tcp + 8, 4) != 0) return false;                 // acknowledgement
    if (memcmp(a + tcp + 14, b + tcp + 14, 2) != 0) return false;               // window
    if (memcmp(a + tcp + 18, b + tcp + 18, 2) != 0) return false;               // urgent pointer
    if (last.payload != head.payload || (last.tcp_flags & tcp_psh)) return false;
    if (next.seq != last.seq + last.payload) return false;
    if (next.payload > head.payload) return false;
    return payload_so_far + next.payload <= max_payload;
}

net_spec::Header finish(const Segment& head, uint8_t last_flags, size_t total_payload, uint8_t* out) {
    memcpy(out, head.headers, header_length);
    uint8_t* iph = out + ip;
    uint8_t* th = out + tcp;
    size_t tcp_segment = tcp_length + total_payload;
    put16(iph + 2, static_cast<uint16_t>(ipv4_length + tcp_segment));
    put16(iph + 10, 0);
    put16(iph + 10, static_cast<uint16_t>(~fold(add_words(0, iph, ipv4_length))));
    th[13] = static_cast<uint8_t>(tcp_ack | (last_flags & tcp_psh));
    // The pseudo header (addresses, protocol, TCP length) summed, not complemented: the device
    // adds the segment's bytes, as for NEEDS_CSUM, adjusting the length for each segment.
    uint32_t pseudo = add_words(0, iph + 12, 8) + protocol_tcp + static_cast<uint32_t>(tcp_segment);
    put16(th + 16, fold(pseudo));
    net_spec::Header h;
    h.flags = net_spec::header_needs_csum;
    h.gso_type = gso_tcpv4;
    h.header_length = static_cast<uint16_t>(header_length);
    h.gso_size = head.payload;
    h.csum_start = static_cast<uint16_t>(tcp);
    h.csum_offset = 16;
    return h;
}

}  // namespace mica::virtio::net_tso
