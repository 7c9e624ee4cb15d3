// /dev/vda, /dev/vdb...: the block devices (mica/block/device.h) as Linux shows them.
//
// A block node is file data at an offset (not a stream): reads and writes come through the
// VFS's bounce buffer under the VFS lock, so lseek, pread and pwrite work as for a file and
// SEEK_END finds the capacity. The lock is held across the disk I/O: applications reading a
// raw disk are rare (filesystems reach the disk through block::Device, not through here).
// Byte-granular transfers go through a sector bounce buffer (read-modify-write for writes).
//
// Linux's answers: fstat gives S_IFBLK with st_size 0 (the devtmpfs inode), BLKGETSIZE64 the
// capacity; a read at or past the end returns 0, a write there ENOSPC; a write to a
// read-only disk EPERM (blkdev_write_iter: bdev_read_only), while opening it O_RDWR
// succeeds; fsync sends a cache flush.
#include <mica/block/device.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <string.h>
#include "files_internal.h"

namespace mica::abi::files {
namespace {
// virtio-blk's major on a typical Linux (it is dynamic there); 16 minors per disk.
constexpr uint32_t virtblk_major = 254, minors_per_disk = 16;
// <linux/fs.h> block ioctls (the same numbers on x86_64 and aarch64).
constexpr unsigned long blkroget = 0x125e, blkgetsize = 0x1260, blkflsbuf = 0x1261, blksszget = 0x1268,
                        blkgetsize64 = 0x80081272, blkpbszget = 0x127b;
constexpr int64_t errno_notty = 25;

class BlockNode final : public fs::Vnode {
public:
    BlockNode(fs::FileSystem* owner, block::Device* device, uint32_t index)
        : Vnode(owner, fs::s_ifblk | 0660), device_(device) {
        rdev = (uint64_t{virtblk_major} << 8) | (index * minors_per_disk);
        size = device->capacity();  // for SEEK_END; fstat reports 0 (fill_stat)
    }
    block::Device* device() const { return device_; }

    int64_t read(uint64_t offset, void* buffer, size_t length) override {
        uint64_t capacity = device_->capacity();
        if (offset >= capacity || length == 0) return 0;
        if (length > capacity - offset) length = static_cast<size_t>(capacity - offset);
        return transfer(false, offset, static_cast<uint8_t*>(buffer), length);
    }
    int64_t write(uint64_t offset, const void* buffer, size_t length) override {
        if (device_->read_only()) return -fs::errno_perm;
        uint64_t capacity = device_->capacity();
        if (length == 0) return 0;
        if (offset >= capacity) return -fs::errno_nospc;
        if (length > capacity - offset) length = static_cast<size_t>(capacity - offset);
        int64_t n = transfer(true, offset, static_cast<uint8_t*>(const_cast<void*>(buffer)), length);
        if (n > 0) touch_modified();
        return n;
    }

private:
    // One partial sector: the bytes [within, within + n) of the sector at `sector_offset`.
    int partial(bool write, uint64_t sector_offset, size_t within, uint8_t* data, size_t n, uint8_t* bounce) {
        uint32_t ss = device_->sector_size();
        if (int e = device_->read(sector_offset, bounce, ss)) return e;
        if (!write) {
            memcpy(data, bounce + within, n);
            return 0;
        }
        memcpy(bounce + within, data, n);
        return device_->write(sector_offset, bounce, ss);
    }

    int64_t transfer(bool write, uint64_t offset, uint8_t* data, size_t length) {
        uint32_t ss = device_->sector_size();
        uint64_t end = offset + length;
        uint64_t head_end = (offset + ss - 1) / ss * ss;  // first sector boundary at or after offset
        uint64_t tail_start = end / ss * ss;
        uint8_t* bounce = nullptr;
        if (offset % ss || end % ss) {
            bounce = static_cast<uint8_t*>(malloc(ss));
            if (!bounce) return -fs::errno_nomem;
        }
        int e = 0;
        if (head_end > tail_start) {
            // Inside one sector.
            e = partial(write, tail_start, static_cast<size_t>(offset - tail_start), data, length, bounce);
        } else {
            if (offset < head_end) e = partial(write, offset / ss * ss, static_cast<size_t>(offset % ss), data,
                                               static_cast<size_t>(head_end - offset), bounce);
            if (!e && tail_start > head_end) {
                uint8_t* middle = data + (head_end - offset);
                size_t n = static_cast<size_t>(tail_start - head_end);
                e = write ? device_->write(head_end, middle, n) : device_->read(head_end, middle, n);
            }
            if (!e && end > tail_start) e = partial(write, tail_start, 0, data + (tail_start - offset),
                                                    static_cast<size_t>(end - tail_start), bounce);
        }
        free(bounce);
        return e ? e : static_cast<int64_t>(length);
    }

    block::Device* device_;
};
}  // namespace

bool add_block_devices(fs::FileSystem* owner, StaticDir* root) {
    for (size_t i = 0; i < block::device_count(); ++i) {
        block::Device* d = block::device(i);
        if (!root->add(d->name(), fs::make_object<BlockNode>(owner, d, static_cast<uint32_t>(i)))) return false;
    }
    return true;
}

bool is_block_node(const fs::Vnode* node) { return fs::is_blk(node->mode) && node->fs && node->fs->type == &devfs_type; }

int block_node_flush(fs::Vnode* node) { return static_cast<BlockNode*>(node)->device()->flush(); }

int64_t block_node_ioctl(fs::Vnode* node, unsigned long request, uint64_t arg) {
    block::Device* d = static_cast<BlockNode*>(node)->device();
    auto* out = reinterpret_cast<void*>(arg);
    switch (request) {
    case blkgetsize64: {
        uint64_t bytes = d->capacity();
        return mm::vm::copy_to_app(out, &bytes, sizeof bytes);
    }
    case blkgetsize: {
        unsigned long sectors = static_cast<unsigned long>(d->capacity() / block::min_sector_size);
        return mm::vm::copy_to_app(out, &sectors, sizeof sectors);
    }
    case blksszget:
    case blkpbszget: {
        int size = static_cast<int>(d->sector_size());
        return mm::vm::copy_to_app(out, &size, sizeof size);
    }
    case blkroget: {
        int ro = d->read_only() ? 1 : 0;
        return mm::vm::copy_to_app(out, &ro, sizeof ro);
    }
    case blkflsbuf: return d->flush();  // no buffers of its own: the device's cache
    default: return -errno_notty;
    }
}

}  // namespace mica::abi::files
