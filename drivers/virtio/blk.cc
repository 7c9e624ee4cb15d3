// virtio-blk: each disk is a block::Device (mica/block/device.h) named vda, vdb... in probe
// order. One request queue; any number of threads may have requests in flight at once. A
// transfer is cut into requests within the device's limits (blk_spec.h), up to
// max_batch of them submitted together (published one by one, a doorbell only when the
// device asks for one); the caller then sleeps on its own
// semaphore until all of its requests are back. The queue's interrupt callback (interrupt
// context, under the disk's spinlock) takes used requests, marks them finished and wakes
// their owners. The number of requests in flight is bounded by a counting semaphore, so the
// ring never overflows and a waiting caller sleeps instead of spinning.
#include <mica/trace/trace.h>
#include <arch/arch.h>
#include <mica/block/device.h>
#include <mica/clock.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <mica/virtio/blk_spec.h>
#include <mica/virtio/device.h>
#include <stdlib.h>
#include <string.h>

namespace mica::virtio {
namespace {
using namespace blk;
constexpr int errno_io = 5, errno_nomem = 12, errno_nodev = 19;
constexpr uint16_t queue_entries = 256;
constexpr unsigned max_batch = 8;  // requests one caller submits together
// A request the device has not returned after this long (no progress at all) means the device
// is gone: it is stopped and every waiter gets -EIO. Generous: TCG under load is slow.
constexpr uint64_t wait_slice_ns = 1000000000ull;  // then look at the ring ourselves
constexpr uint64_t give_up_ns = 120 * wait_slice_ns;
constexpr uint64_t mib = 1024 * 1024;

uint64_t to_device(const void* p) { return mm::virt_to_phys(p); }

// The block tracepoints' device number: 0 for vda, 1 for vdb, ...
uint64_t device_number(const char* name) {
    size_t n = strlen(name);
    return n ? static_cast<uint64_t>(name[n - 1] - 'a') : 0;
}

class Disk final : public block::Device {
public:
    Disk(virtio::Device& device, const Geometry& g, unsigned max_in_flight)
        : block::Device(g.capacity, g.sector_size, g.read_only), vdev_(device), geometry_(g),
          slots_(max_in_flight), max_in_flight_(max_in_flight) {}

    int read(uint64_t offset, void* buffer, size_t length) override {
        return transfer(false, offset, static_cast<uint8_t*>(buffer), length);
    }
    int write(uint64_t offset, const void* buffer, size_t length) override {
        return transfer(true, offset, static_cast<uint8_t*>(const_cast<void*>(buffer)), length);
    }
    int flush() override;

    void attach(Queue* queue) { queue_ = queue; }
    // Interrupt context: collect what the device returned.
    static void used(Queue&, void* context) {
        auto* disk = static_cast<Disk*>(context);
        sched::SpinGuard guard(disk->lock_);
        disk->collect();
    }

private:
    int transfer(bool write, uint64_t offset, uint8_t* buffer, size_t length);
    int run(Request* requests, unsigned count);
    void collect();  // lock held
    void stop(const char* why);  // lock held

    virtio::Device& vdev_;
    Geometry geometry_;
    Queue* queue_ = nullptr;
    sched::Spinlock lock_;  // the queue, in_flight_, broken_ (taken in interrupt context)
    sched::Semaphore slots_;  // free request slots
    unsigned max_in_flight_;
    unsigned in_flight_ = 0;
    bool broken_ = false;
};

// Thread context only (never from the interrupt callback: stopping the device detaches its
// interrupts and frees its rings). Every waiter sees broken_ within a wait slice.
void Disk::stop(const char* why) {
    if (broken_) return;
    broken_ = true;
    vdev_.fail(why);  // the device lets go of every buffer
}

void Disk::collect() {
    if (broken_) return;
    uint32_t written;
    while (void* token = queue_->take_used(&written)) {
        auto* r = static_cast<Request*>(token);
        finish(*r, written);
        TRACE(block_complete, device_number(name()), r->header.sector, r->status);
        --in_flight_;
        static_cast<sched::Semaphore*>(r->waiter)->post();
    }
    // A broken ring is stopped by the next waiter to look (thread context), not here.
}

// Submits `count` built requests with one doorbell and waits until all are back (or the
// device is stopped): 0 or the first error.
int Disk::run(Request* requests, unsigned count) {
    sched::Semaphore done(0);
    unsigned submitted = 0;
    int result = 0;
    for (unsigned i = 0; i < count; ++i) {
        slots_.wait();
        sched::SpinGuard guard(lock_);
        if (broken_) {
            slots_.post();
            result = -errno_io;
            break;
        }
        requests[i].waiter = &done;
        int e = queue_->add(requests[i].chain, requests[i].out, requests[i].in, &requests[i]);
        if (e) {
            // Cannot happen within the slot bound; say so rather than hang.
            slots_.post();
            kprintf("mica: %s: request not queued (error %d)\n", name(), e);
            result = -errno_io;
            break;
        }
        ++in_flight_;
        ++submitted;
        TRACE(block_request, device_number(name()), requests[i].header.sector, requests[i].bytes,
              requests[i].type == type_out ? 1 : 0);
        // Published at once: a caller that sleeps on slots_ with requests still unpublished
        // could wait for slots held by another doing the same. With EVENT_IDX the device
        // is only notified when it asked to be, so this costs no doorbell while it is busy.
        queue_->kick();
    }
    // Wait for each of ours; a wake-up may be missed only if the device lost an interrupt, so
    // every slice look at the ring ourselves.
    uint64_t last_progress = clock::monotonic_ns();
    unsigned finished = 0;
    while (finished < submitted) {
        bool woken = done.wait(wait_slice_ns);
        sched::SpinGuard guard(lock_);
        if (!woken) collect();
        unsigned now_done = 0;
        for (unsigned i = 0; i < submitted; ++i) now_done += requests[i].done;
        if (now_done > finished) {
            finished = now_done;
            last_progress = clock::monotonic_ns();
        }
        if (!broken_ && queue_->broken()) stop(queue_->broken());
        if (broken_) break;
        if (finished < submitted && clock::monotonic_ns() - last_progress > give_up_ns) {
            stop("requests not returned for 120 s");
            break;
        }
    }
    for (unsigned i = 0; i < submitted; ++i) {
        slots_.post();
        Request& r = requests[i];
        if (!r.done) {
            if (!result) result = -errno_io;
            continue;
        }
        if (r.result && !result) {
            kprintf("mica: %s: %s of %u bytes at sector %llu failed: %s\n", name(),
                    r.type == type_in ? "read" : r.type == type_out ? "write" : "flush", r.bytes,
                    (unsigned long long)r.header.sector, status_name(r.status));
            result = r.result;
        }
    }
    if (broken_ && !result) result = -errno_io;
    return result;
}

int Disk::transfer(bool write, uint64_t offset, uint8_t* buffer, size_t length) {
    if (int e = check_transfer(geometry_, offset, length, write)) return e;
    if (length == 0) return 0;
    unsigned batch = max_batch < max_in_flight_ ? max_batch : max_in_flight_;
    auto* requests = static_cast<Request*>(malloc(sizeof(Request) * batch));
    if (!requests) return -errno_nomem;
    size_t done = 0;
    int result = 0;
    while (done < length && result == 0) {
        unsigned count = 0;
        while (count < batch && done < length) {
            done += build_transfer(requests[count], geometry_, write, offset + done, buffer + done, length - done,
                                   to_device);
            ++count;
        }
        result = run(requests, count);
    }
    free(requests);
    return result;
}

int Disk::flush() {
    if (!geometry_.flush) return 0;  // no write cache: writes are durable when done
    auto* r = static_cast<Request*>(malloc(sizeof(Request)));
    if (!r) return -errno_nomem;
    build_flush(*r, to_device);
    int result = run(r, 1);
    free(r);
    return result;
}

int probe(Device& device) {
    uint64_t wanted = feature(feature_size_max) | feature(feature_seg_max) | feature(feature_ro) |
                      feature(feature_blk_size) | feature(feature_flush);
    if (int e = device.negotiate(wanted)) return e;
    RawConfig raw;
    if (int e = device.read_config(config_capacity, &raw.capacity_sectors, sizeof raw.capacity_sectors)) return e;
    if (device.has(feature_size_max)) {
        if (int e = device.read_config(config_size_max, &raw.size_max, sizeof raw.size_max)) return e;
    }
    if (device.has(feature_seg_max)) {
        if (int e = device.read_config(config_seg_max, &raw.seg_max, sizeof raw.seg_max)) return e;
    }
    if (device.has(feature_blk_size)) {
        if (int e = device.read_config(config_blk_size, &raw.blk_size, sizeof raw.blk_size)) return e;
    }
    QueueConfig config{Disk::used, nullptr, queue_entries};
    // The context is set once the disk exists; the callback never runs before ready().
    auto* disk_memory = malloc(sizeof(Disk));
    if (!disk_memory) return -errno_nomem;
    config.context = disk_memory;
    if (int e = device.setup_queues(1, &config)) {
        free(disk_memory);
        return e;
    }
    Queue& queue = device.queue(0);
    Geometry g;
    char error[128];
    if (parse_geometry(device.features(), raw, queue.size(), &g, error, sizeof error)) {
        kprintf("mica: %s: virtio-blk: %s\n", device.name(), error);
        free(disk_memory);
        return -errno_nodev;
    }
    // With indirect descriptors each request takes one ring entry; without, a whole chain.
    unsigned in_flight = device.has(feature_indirect_desc) ? queue.size() : queue.size() / (g.max_segments + 2);
    if (in_flight == 0) in_flight = 1;
    auto* disk = new (disk_memory) Disk(device, g, in_flight);
    disk->attach(&queue);
    if (int e = block::register_device(disk)) {
        kprintf("mica: %s: virtio-blk: no name left for another disk\n", device.name());
        disk->~Disk();
        free(disk_memory);
        return e;
    }
    device.driver_data = disk;
    device.ready();
    if (drivers::verbose()) {
        kprintf("mica: %s: disk %s, %llu bytes (%llu MiB, %u-byte blocks)%s%s, %u segments per request\n", device.name(),
                disk->name(), (unsigned long long)g.capacity, (unsigned long long)(g.capacity / mib), g.sector_size,
                g.read_only ? ", read-only" : ", read-write", g.flush ? ", flush" : "", g.max_segments);
    }
    return 0;
}
}  // namespace

extern const Driver blk_driver{"virtio-blk", device_block, probe};

}  // namespace mica::virtio
