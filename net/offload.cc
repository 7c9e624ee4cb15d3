#include <mica/net/offload.h>

namespace mica::net {
namespace {

constexpr size_t ethertype_at = 12;
constexpr size_t min_ip_header = 20;
constexpr size_t tcp_min_header = 20;
constexpr uint16_t ip_more_fragments = 0x2000, ip_fragment_offset_mask = 0x1fff;
constexpr uint8_t ip_version_4 = 4;

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t length) {
    uint64_t total = sum;
    size_t i = 0;
    for (; i + 1 < length; i += 2) total += read16(data + i);
    if (i < length) total += static_cast<uint32_t>(data[i]) << 8;
    while (total >> 32) total = (total & 0xffffffff) + (total >> 32);
    return static_cast<uint32_t>(total);
}

uint16_t checksum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

bool checksum_partial_for(const uint8_t* head, size_t available, size_t frame_length, TxOffload& offload,
                          uint16_t& pseudo_sum) {
    if (available < ethernet_header_length + min_ip_header || available > frame_length) return false;
    if (read16(head + ethertype_at) != ethertype_ipv4) return false;
    const uint8_t* ip = head + ethernet_header_length;
    if (ip[0] >> 4 != ip_version_4) return false;
    size_t ip_header = static_cast<size_t>(ip[0] & 0x0f) * 4;
    if (ip_header < min_ip_header || ethernet_header_length + ip_header > available) return false;
    size_t ip_length = read16(ip + 2);
    if (ip_length < ip_header + tcp_min_header || ethernet_header_length + ip_length > frame_length) return false;
    uint16_t fragment = read16(ip + 6);
    if (fragment & (ip_more_fragments | ip_fragment_offset_mask)) return false;
    if (ip[9] != ip_protocol_tcp) return false;
    size_t start = ethernet_header_length + ip_header;
    uint16_t tcp_length = static_cast<uint16_t>(ip_length - ip_header);
    uint32_t sum = checksum_add(0, ip + 12, 8);  // source and destination addresses
    sum += ip_protocol_tcp;
    sum += tcp_length;
    pseudo_sum = checksum_fold(sum);
    offload.checksum_partial = true;
    offload.checksum_start = static_cast<uint16_t>(start);
    offload.checksum_offset = tcp_checksum_offset;
    return true;
}

void complete_checksum(uint8_t* frame, size_t length, const TxOffload& offload) {
    if (!offload.checksum_partial) return;
    size_t field = size_t{offload.checksum_start} + offload.checksum_offset;
    if (offload.checksum_start >= length || field + 2 > length) return;
    uint16_t sum = static_cast<uint16_t>(~checksum_fold(checksum_add(0, frame + offload.checksum_start,
                                                                       length - offload.checksum_start)));
    frame[field] = static_cast<uint8_t>(sum >> 8);
    frame[field + 1] = static_cast<uint8_t>(sum);
}

}  // namespace mica::net
