// virtio-blk request logic (mica/virtio/blk_spec.h).
#include <mica/format.h>
#include <mica/virtio/blk_spec.h>
#include <string.h>

namespace mica::virtio::blk {
namespace {
constexpr int errno_inval = 22, errno_rofs = 30, errno_io = 5;
constexpr uint32_t header_and_status = 2;  // descriptors besides the data segments
// Without SIZE_MAX a segment is still bounded: it never crosses a page, and merged runs of
// contiguous pages stop here.
constexpr uint32_t default_segment_bytes = 1u << 20;

bool is_power_of_two(uint32_t v) { return v && !(v & (v - 1)); }
}  // namespace

int parse_geometry(uint64_t features, const RawConfig& raw, uint16_t queue_size, Geometry* out, char* error,
                   size_t error_size) {
    auto has = [&](unsigned bit) { return (features >> bit) & 1; };
    Geometry g;
    g.sector_size = has(feature_blk_size) ? raw.blk_size : sector_bytes;
    if (g.sector_size < sector_bytes || g.sector_size > max_sector_size || !is_power_of_two(g.sector_size)) {
        fmt::snprintf(error, error_size, "block size %u is not a power of two from 512 to 64 KiB", g.sector_size);
        return -errno_inval;
    }
    if (raw.capacity_sectors > UINT64_MAX / sector_bytes) {
        fmt::snprintf(error, error_size, "capacity of %llu sectors overflows", (unsigned long long)raw.capacity_sectors);
        return -errno_inval;
    }
    // A capacity that is not a multiple of the logical block size: the tail is unreachable.
    g.capacity = raw.capacity_sectors * sector_bytes / g.sector_size * g.sector_size;
    g.max_segment_bytes = default_segment_bytes;
    if (has(feature_size_max)) {
        if (raw.size_max < sector_bytes) {
            fmt::snprintf(error, error_size, "size_max %u is below one 512-byte sector", raw.size_max);
            return -errno_inval;
        }
        g.max_segment_bytes = raw.size_max;
    }
    // Without SEG_MAX the chain is bounded by the ring (header and status take two slots);
    // with indirect descriptors the core may still use the ring directly when it has no
    // memory for a table, so the ring bounds it in any case.
    uint32_t segments = queue_size > header_and_status ? queue_size - header_and_status : 0;
    if (has(feature_seg_max)) {
        if (raw.seg_max == 0) {
            fmt::snprintf(error, error_size, "seg_max is 0");
            return -errno_inval;
        }
        if (raw.seg_max < segments) segments = raw.seg_max;
    }
    if (segments > max_request_segments) segments = max_request_segments;
    g.max_segments = segments;
    // Every request must be able to carry one whole sector from any buffer: sector_size bytes
    // cut at page and size_max boundaries make at most sector_size / unit + 2 segments.
    uint32_t unit = g.max_segment_bytes < page_bytes ? g.max_segment_bytes : page_bytes;
    uint32_t needed = g.sector_size / unit + 2;
    if (g.max_segments < needed) {
        fmt::snprintf(error, error_size, "requests of %u segments (seg_max %u, queue size %u) cannot carry a %u-byte block",
                      g.max_segments, raw.seg_max, queue_size, g.sector_size);
        return -errno_inval;
    }
    g.max_request_bytes = max_request_bytes;
    g.read_only = has(feature_ro);
    g.flush = has(feature_flush);
    *out = g;
    return 0;
}

int check_transfer(const Geometry& g, uint64_t offset, size_t length, bool write) {
    uint64_t mask = g.sector_size - 1;
    if ((offset & mask) || (length & mask)) return -errno_inval;
    if (offset > g.capacity || length > g.capacity - offset) return -errno_inval;
    if (write && g.read_only) return -errno_rofs;
    return 0;
}

size_t build_transfer(Request& r, const Geometry& g, bool write, uint64_t offset, uint8_t* buffer, size_t length,
                      ToDevice to_device) {
    r.type = write ? type_out : type_in;
    r.header = {r.type, 0, offset / sector_bytes};
    r.status = 0xff;  // not a status: a device that never writes it is caught by finish()
    r.done = false;
    r.result = 0;
    r.chain[0] = {to_device(&r.header), sizeof(RequestHeader)};
    if (length > g.max_request_bytes) length = g.max_request_bytes;  // a multiple of any sector size
    unsigned n = 0;  // data segments
    size_t covered = 0;
    Segment* data = &r.chain[1];
    while (covered < length) {
        uint8_t* p = buffer + covered;
        size_t to_page_end = page_bytes - (reinterpret_cast<uintptr_t>(p) & (page_bytes - 1));
        size_t want = length - covered < to_page_end ? length - covered : to_page_end;
        uint64_t address = to_device(p);
        // Continue the previous segment when the device address follows on, up to size_max.
        if (n > 0 && data[n - 1].address + data[n - 1].length == address && data[n - 1].length < g.max_segment_bytes) {
            size_t room = g.max_segment_bytes - data[n - 1].length;
            size_t take = want < room ? want : room;
            data[n - 1].length += static_cast<uint32_t>(take);
            covered += take;
            continue;
        }
        if (n == g.max_segments) break;
        size_t take = want < g.max_segment_bytes ? want : g.max_segment_bytes;
        data[n++] = {address, static_cast<uint32_t>(take)};
        covered += take;
    }
    // A request carries whole sectors: give back the tail of a partial one (the next request
    // starts there).
    size_t whole = covered / g.sector_size * g.sector_size;
    size_t excess = covered - whole;
    while (excess > 0) {
        Segment& last = data[n - 1];
        if (last.length > excess) {
            last.length -= static_cast<uint32_t>(excess);
            excess = 0;
        } else {
            excess -= last.length;
            --n;
        }
    }
    r.bytes = static_cast<uint32_t>(whole);
    r.chain[1 + n] = {to_device(&r.status), 1};
    if (write) {
        r.out = 1 + n;
        r.in = 1;
    } else {
        r.out = 1;
        r.in = n + 1;
    }
    return whole;
}

void build_flush(Request& r, ToDevice to_device) {
    r.type = type_flush;
    r.header = {type_flush, 0, 0};
    r.status = 0xff;
    r.done = false;
    r.result = 0;
    r.bytes = 0;
    r.chain[0] = {to_device(&r.header), sizeof(RequestHeader)};
    r.chain[1] = {to_device(&r.status), 1};
    r.out = 1;
    r.in = 1;
}

int finish(Request& r, uint32_t) {
    r.result = r.status != status_ok ? -errno_io : 0;
    r.done = true;
    return r.result;
}

const char* status_name(uint8_t status) {
    switch (status) {
    case status_ok: return "ok";
    case status_ioerr: return "I/O error (VIRTIO_BLK_S_IOERR)";
    case status_unsupp: return "unsupported request (VIRTIO_BLK_S_UNSUPP)";
    case 0xff: return "no status written";
    default: return "unknown status";
    }
}

}  // namespace mica::virtio::blk
