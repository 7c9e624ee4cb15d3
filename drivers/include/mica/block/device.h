// Block devices (docs/architecture.md, "Block devices"): what filesystems and /dev/vdX see of
// a disk, whichever driver found it. A driver (virtio-blk) makes a Device and registers it in
// discovery order; the registry names it "vda", "vdb"... and keeps it for the kernel's
// lifetime.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::block {

inline constexpr uint32_t min_sector_size = 512;
inline constexpr size_t max_name = 8;  // "vda".."vdz", NUL-terminated

class Device {
public:
    Device(uint64_t capacity, uint32_t sector_size, bool read_only)
        : capacity_(capacity), sector_size_(sector_size), read_only_(read_only) {}
    virtual ~Device() = default;
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const char* name() const { return name_; }  // "vda", "vdb", ... in discovery order
    uint64_t capacity() const { return capacity_; }     // bytes
    uint32_t sector_size() const { return sector_size_; }  // >= 512, a power of two
    bool read_only() const { return read_only_; }

    // Synchronous I/O; may sleep; thread-safe (several threads may have requests in flight).
    // offset and length multiples of sector_size, inside the capacity; buffer: any kernel
    // memory. 0 or -errno: -EIO (device error), -EROFS (write to a read-only device),
    // -EINVAL (misaligned / out of range).
    virtual int read(uint64_t offset, void* buffer, size_t length) = 0;
    virtual int write(uint64_t offset, const void* buffer, size_t length) = 0;
    virtual int flush() = 0;  // 0 when the device has no write cache to flush

    // The checks every implementation makes first: -EINVAL for a range that is misaligned,
    // empty-but-misaligned or past the capacity (overflow-safe), -EROFS for a write to a
    // read-only device, else 0.
    int check(uint64_t offset, size_t length, bool write) const;

private:
    friend int register_device(Device* device);
    uint64_t capacity_;
    uint32_t sector_size_;
    bool read_only_;
    char name_[max_name] = {};
};

// Adds `device` (owned by its driver, alive for the kernel's lifetime) under the next name:
// 0, or -ENOSPC past "vdz".
int register_device(Device* device);
size_t device_count();
Device* device(size_t index);
// "vda" (also accepts "/dev/vda"); nullptr when absent.
Device* find(const char* name);

// Tests: forgets every registered device (the host tests register fakes).
void reset_registry_for_tests();

}  // namespace mica::block

namespace mica::block {
// Boot self-test (--test-disk=NAME, CONFIG_TEST_OPTIONS): reads the whole disk (at most
// 64 MiB) in one transfer, prints its 64-bit FNV-1a hash for the test to compare with the
// image's, then checks that 4 threads reading it at once in different request sizes, and a
// BufferCache of CONFIG_BLOCK_CACHE_KIB (byte-granular reads at pseudo-random offsets, big
// direct reads), all see the same bytes. Prints a line per check; true when all pass.
bool self_test(const char* name);
}  // namespace mica::block
