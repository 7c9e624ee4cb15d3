// virtio-net's header, buffer plan and receive assembler (net_spec.h). Host-tested.
#include <mica/format.h>
#include <mica/virtio/net_spec.h>

namespace mica::virtio::net_spec {
namespace {

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
void store16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}

// Allocation granularity for receive buffers: whole cache lines.
constexpr uint32_t buffer_alignment = 64;
constexpr uint32_t round_up(uint32_t n, uint32_t to) { return (n + to - 1) / to * to; }

}  // namespace

Header decode_header(const uint8_t* b) {
    Header h;
    h.flags = b[0];
    h.gso_type = b[1];
    h.header_length = load16(b + 2);
    h.gso_size = load16(b + 4);
    h.csum_start = load16(b + 6);
    h.csum_offset = load16(b + 8);
    h.num_buffers = load16(b + 10);
    return h;
}

void encode_header(const Header& h, uint8_t* b) {
    b[0] = h.flags;
    b[1] = h.gso_type;
    store16(b + 2, h.header_length);
    store16(b + 4, h.gso_size);
    store16(b + 6, h.csum_start);
    store16(b + 8, h.csum_offset);
    store16(b + 10, h.num_buffers);
}

Header transmit_header(const net::TxOffload& offload) {
    Header h;
    if (offload.checksum_partial) {
        h.flags = header_needs_csum;
        h.csum_start = offload.checksum_start;
        h.csum_offset = offload.checksum_offset;
    }
    return h;
}

const char* check_mergeable_size(uint32_t bytes) {
    if (bytes < min_mergeable_buffer) return "smaller than 256 bytes (the header and the Ethernet, IP and TCP headers must fit)";
    if (bytes > max_mergeable_buffer) return "larger than 65536 bytes";
    return nullptr;
}

BufferPlan plan_buffers(bool mergeable, uint16_t mtu, uint32_t mergeable_size) {
    uint32_t bytes;
    if (mergeable) {
        bytes = mergeable_size && !check_mergeable_size(mergeable_size) ? mergeable_size : default_mergeable_buffer;
        return {bytes, bytes - ip_align};
    }
    uint32_t capacity = static_cast<uint32_t>(header_size + max_frame_length(mtu));
    return {round_up(capacity + ip_align, buffer_alignment), capacity};
}

void RxAssembler::configure(const RxLayout& layout) {
    layout_ = layout;
    if (layout_.max_parts == 0) layout_.max_parts = 1;
    reset();
    out_ = nullptr;
    problem_[0] = '\0';
}

void RxAssembler::reset() {
    head_ = tail_ = nullptr;
    expected_ = received_ = 0;
    total_ = 0;
    drop_reason_ = nullptr;
    flags_ = 0;
    csum_start_ = csum_offset_ = 0;
}

void RxAssembler::append(net::RxBuffer* buffer) {
    buffer->next = nullptr;
    if (tail_) tail_->next = buffer;
    else head_ = buffer;
    tail_ = buffer;
}

RxAssembler::Result RxAssembler::broken(net::RxBuffer* buffer) {
    buffer->next = nullptr;
    if (tail_) {
        tail_->next = buffer;
        out_ = head_;
    } else {
        out_ = buffer;
    }
    reset();
    return Result::broken;
}

RxAssembler::Result RxAssembler::add(net::RxBuffer* buffer, uint8_t* start, uint32_t written) {
    ++counters_.buffers;
    buffer->next = nullptr;
    buffer->checksum_verified = false;
    if (written > layout_.capacity) {
        fmt::snprintf(problem_, sizeof problem_, "the device wrote %u bytes into a receive buffer of %u", written,
                      layout_.capacity);
        return broken(buffer);
    }
    if (!head_) {
        // The first buffer of a frame: the header, then the frame's beginning.
        if (written < header_size) {
            ++counters_.dropped_short;
            buffer->data = start;
            buffer->length = 0;
            out_ = buffer;
            return Result::dropped;
        }
        Header h = decode_header(start);
        buffer->data = start + header_size;
        buffer->length = static_cast<uint16_t>(written - header_size);
        expected_ = layout_.mergeable ? h.num_buffers : 1;
        if (expected_ > layout_.max_parts) {
            fmt::snprintf(problem_, sizeof problem_, "the device announced a frame in %u receive buffers; %u were posted",
                          expected_, layout_.max_parts);
            return broken(buffer);
        }
        append(buffer);
        received_ = 1;
        total_ = buffer->length;
        flags_ = h.flags;
        csum_start_ = h.csum_start;
        csum_offset_ = h.csum_offset;
        if (expected_ == 0) {
            expected_ = 1;  // nothing says how many follow: drop this one alone
            drop_reason_ = &counters_.dropped_bad;
        }
        // GSO frames were not negotiated (net.cc: no GUEST_TSO), nor partial checksums
        // without GUEST_CSUM: a device sending them is wrong, the frame is dropped.
        if (h.gso_type != gso_none || ((h.flags & header_needs_csum) && !layout_.guest_csum)) {
            drop_reason_ = &counters_.dropped_bad;
        }
    } else {
        buffer->data = start;
        buffer->length = static_cast<uint16_t>(written);
        append(buffer);
        ++received_;
        total_ += written;
        // A continuation the device left empty: no correct device does that (it takes a
        // buffer only for bytes that remain), and an empty piece has no place in a frame.
        if (written == 0) drop_reason_ = &counters_.dropped_bad;
    }
    if (received_ < expected_) return Result::need_more;
    return finish();
}

RxAssembler::Result RxAssembler::finish() {
    uint64_t* reason = drop_reason_;
    if (!reason && total_ < net::ethernet_header_length) reason = &counters_.dropped_short;
    if (!reason && total_ > layout_.max_frame) reason = &counters_.dropped_long;
    bool partial = flags_ & header_needs_csum;
    if (!reason && partial && size_t{csum_start_} + csum_offset_ + 2 > total_) reason = &counters_.dropped_bad;
    out_ = head_;
    if (reason) {
        ++*reason;
        reset();
        return Result::dropped;
    }
    // DATA_VALID: checked by the device. NEEDS_CSUM: the frame never left the host with a
    // wrong sum (it carries the pseudo-header sum only), trusted as Linux trusts
    // CHECKSUM_PARTIAL.
    bool verified = layout_.guest_csum && (flags_ & (header_needs_csum | header_data_valid));
    head_->checksum_verified = verified;
    counters_.checksum_verified += verified;
    ++counters_.frames;
    counters_.merged_frames += received_ > 1;
    reset();
    return Result::frame;
}

net::RxBuffer* RxAssembler::take_frame() {
    net::RxBuffer* f = out_;
    out_ = nullptr;
    return f;
}

net::RxBuffer* RxAssembler::take_dropped() { return take_frame(); }

net::RxBuffer* RxAssembler::take_partial() {
    net::RxBuffer* p = head_;
    reset();
    return p;
}

}  // namespace mica::virtio::net_spec
