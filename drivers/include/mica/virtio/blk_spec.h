// virtio-blk (virtio 1.2, section 5.2): the device's configuration and features, and the
// driver's request logic — checking a transfer, cutting it into requests within the device's
// limits (segments split at page boundaries), the descriptor chain of a request, and what the
// device's status byte means. Transport- and kernel-independent, so the host tests drive it
// against a model device (tests/unit/test_virtio_blk.cc); drivers/virtio/blk.cc is the glue
// (queue, interrupts, waiting).
#pragma once

#include <mica/virtio/virtqueue.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::virtio::blk {

// Feature bits (5.2.3).
inline constexpr unsigned feature_size_max = 1, feature_seg_max = 2, feature_ro = 5, feature_blk_size = 6,
                          feature_flush = 9;
// Configuration space offsets (struct virtio_blk_config, little-endian).
inline constexpr uint32_t config_capacity = 0;  // u64, in 512-byte sectors whatever blk_size is
inline constexpr uint32_t config_size_max = 8;  // u32: largest segment
inline constexpr uint32_t config_seg_max = 12;  // u32: most data segments per request
inline constexpr uint32_t config_blk_size = 20; // u32: logical block size
// Request types and status values (5.2.6).
inline constexpr uint32_t type_in = 0, type_out = 1, type_flush = 4;
inline constexpr uint8_t status_ok = 0, status_ioerr = 1, status_unsupp = 2;
inline constexpr uint32_t sector_bytes = 512;  // the unit of `sector` and capacity

struct RequestHeader {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};
static_assert(sizeof(RequestHeader) == 16);

// What the configuration space said, before checking.
struct RawConfig {
    uint64_t capacity_sectors = 0;
    uint32_t size_max = 0;
    uint32_t seg_max = 0;
    uint32_t blk_size = 0;
};

// The limits the driver works within.
struct Geometry {
    uint64_t capacity = 0;           // bytes (a multiple of sector_size)
    uint32_t sector_size = sector_bytes;
    uint32_t max_segments = 0;       // data segments per request
    uint32_t max_segment_bytes = 0;  // bytes per segment (size_max, or default_segment_bytes)
    uint32_t max_request_bytes = 0;  // data bytes per request: a big transfer is several requests
    bool read_only = false;
    bool flush = false;
};

inline constexpr uint32_t page_bytes = 4096;
// Data segments per request at most (also bounds the Request below); with indirect
// descriptors a request takes one ring slot.
inline constexpr uint32_t max_request_segments = 64;
inline constexpr uint32_t max_sector_size = 64 * 1024;
// A bound on one request's data (as Linux's max_sectors_kb), so a big transfer goes as several
// requests the device can work on in parallel, and one request never holds the disk long.
inline constexpr uint32_t max_request_bytes = 256 * 1024;

// Checks the configuration against the negotiated features and the queue size: 0, or -EINVAL
// with a message naming the problem in `error` (blk_size not a power of two in 512..64 KiB,
// seg_max 0, size_max below 512, a capacity that overflows bytes).
int parse_geometry(uint64_t features, const RawConfig& raw, uint16_t queue_size, Geometry* out, char* error,
                   size_t error_size);

// -EINVAL (misaligned, past the capacity), -EROFS (a write to a read-only device) or 0.
int check_transfer(const Geometry& g, uint64_t offset, size_t length, bool write);

// Device address of kernel memory (mm::virt_to_phys in the kernel, the identity in tests).
using ToDevice = uint64_t (*)(const void* address);

// One request and its descriptor chain: the header (device-readable), the data segments
// (readable for a write, writable for a read), the status byte (writable). The memory must be
// device-visible (the kernel heap is); it stays put while the device has it.
struct Request {
    RequestHeader header;
    uint8_t status;
    uint32_t type;
    uint32_t bytes;                       // data bytes it covers
    Segment chain[max_request_segments + 2];
    unsigned out, in;                     // chain: `out` readable then `in` writable segments
    int result;                           // after finish(): 0 or -EIO
    bool done;
    void* waiter;                         // the driver's: who to wake
};

// Fills `r` for the first part of a transfer of `length` bytes at device offset `offset`
// from/to `buffer` (already checked), within the geometry's limits: the bytes it covers (a
// multiple of the sector size, > 0). The rest goes in further requests.
size_t build_transfer(Request& r, const Geometry& g, bool write, uint64_t offset, uint8_t* buffer, size_t length,
                      ToDevice to_device);
void build_flush(Request& r, ToDevice to_device);

// The device returned the request (having written `written` bytes into its writable part):
// sets done and result (0; -EIO for IOERR, UNSUPP, an unknown status, or no status written:
// the byte starts as 0xff, not a status). `written` is not checked: devices differ in what
// they count (QEMU the whole writable part, others only the status byte on a write).
// Returns result.
int finish(Request& r, uint32_t written);
// Words for a failed request's status, for the message.
const char* status_name(uint8_t status);

}  // namespace mica::virtio::blk
