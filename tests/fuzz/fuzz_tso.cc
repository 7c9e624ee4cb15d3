// TSO's frame parser and merge rules (drivers/virtio/net_tso.cc) on arbitrary frames: a
// frame taken as a candidate has a plain IPv4/TCP header, segments that may follow each other
// keep to the rules, and the merged headers describe the merged frame.
#include <mica/virtio/net_tso.h>

#include <vector>

#include "fuzz.h"

using namespace mica::virtio::net_tso;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    Segment head, last;
    size_t payload = 0;
    unsigned frames = 0;
    for (int i = 0; i < 8 && !in.done(); ++i) {
        size_t length = in.below(2000);
        std::vector<uint8_t> frame(length);
        for (auto& b : frame) b = in.byte();
        size_t available = length ? in.below(length + 1) : 0;
        Segment s;
        if (!candidate(frame.data(), available, length, s)) continue;
        FUZZ_CHECK(available >= header_length && length > header_length);
        FUZZ_CHECK(s.payload == length - header_length && (s.tcp_flags & tcp_ack));
        FUZZ_CHECK(!(s.tcp_flags & (tcp_syn | tcp_fin | tcp_rst | tcp_urg)));
        if (frames && continues(head, last, s, payload)) {
            FUZZ_CHECK(s.seq == last.seq + last.payload && s.payload <= head.payload);
            FUZZ_CHECK(last.payload == head.payload && !(last.tcp_flags & tcp_psh));
            payload += s.payload;
            last = s;
            ++frames;
        } else {
            head = last = s;
            payload = s.payload;
            frames = 1;
        }
        FUZZ_CHECK(payload <= max_payload);
        uint8_t headers[header_length];
        auto h = finish(head, last.tcp_flags, payload, headers);
        FUZZ_CHECK(h.gso_type == gso_tcpv4 && h.gso_size == head.payload && h.header_length == header_length);
        FUZZ_CHECK(size_t{static_cast<uint16_t>(headers[16] << 8 | headers[17])} == 40 + payload);
        FUZZ_CHECK(memcmp(headers, head.headers, 16) == 0);  // Ethernet and the IP header's start
    }
    return 0;
}
