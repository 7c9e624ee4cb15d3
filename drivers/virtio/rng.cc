// virtio-rng: one request queue; each request is a device-writable buffer the device fills
// with random bytes. Requests are made one at a time (a mutex), the queue's interrupt
// callback only wakes the waiting requester, which takes the used buffer itself.
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <mica/random.h>
#include <mica/sched/sync.h>
#include <mica/virtio/device.h>
#include <mica/virtio/rng.h>
#include <string.h>

namespace mica::virtio {
namespace {
constexpr int errno_io = 5, errno_nomem = 12, errno_nodev = 19, errno_timedout = 110;
constexpr size_t request_bytes = 4096;  // one page: physically contiguous
constexpr size_t seed_bytes = 64;
constexpr uint64_t probe_timeout_ns = 1000000000;  // 1 s
constexpr size_t max_rng_devices = 4;
constexpr uint16_t queue_entries = 8;

struct Rng {
    Device* device = nullptr;
    Queue* queue = nullptr;
    uint8_t* buffer = nullptr;  // the request buffer (a page)
    sched::Mutex requests;
    sched::Semaphore done{0};
    uint64_t bytes = 0, requests_made = 0;
    bool stopped = false;  // the device failed: its queue is gone
};
// Owned here: the entropy devices probed (appended at boot, never removed).
Rng* rngs[max_rng_devices];
size_t rng_count = 0;

void used(Queue&, void* context) { static_cast<Rng*>(context)->done.post(); }

// One request of up to request_bytes; the bytes written, or -errno. `r.requests` held.
int64_t request(Rng& r, size_t length, uint64_t timeout_ns) {
    if (length > request_bytes) length = request_bytes;
    Segment s{mm::virt_to_phys(r.buffer), static_cast<uint32_t>(length)};
    if (int e = r.queue->add(&s, 0, 1, &r)) return e;
    r.queue->kick();
    ++r.requests_made;
    uint32_t written = 0;
    void* token = nullptr;
    // The callback posts once per interrupt; one post may cover an earlier spurious one, so
    // look at the ring after every wake-up and wait again until this buffer is back.
    for (;;) {
        token = r.queue->take_used(&written);
        if (token || r.queue->broken()) break;
        if (!r.done.wait(timeout_ns)) {
            token = r.queue->take_used(&written);
            break;
        }
    }
    if (r.queue->broken()) {
        r.device->fail(r.queue->broken());
        r.stopped = true;
        return -errno_io;
    }
    if (!token) {
        // The device still owns the buffer and may write it later: stop it (a reset takes
        // the buffer back) rather than reuse the page under it.
        r.device->fail("no answer from the entropy device");
        r.stopped = true;
        return -errno_timedout;
    }
    if (written > length) written = static_cast<uint32_t>(length);
    r.bytes += written;
    return written;
}

int64_t read_into(Rng& r, void* buffer, size_t length, uint64_t timeout_ns) {
    sched::LockGuard guard(r.requests);
    if (r.stopped) return -errno_io;
    size_t done = 0;
    while (done < length) {
        int64_t n = request(r, length - done, timeout_ns);
        if (n < 0) return done ? static_cast<int64_t>(done) : n;
        memcpy(static_cast<uint8_t*>(buffer) + done, r.buffer, static_cast<size_t>(n));
        done += static_cast<size_t>(n);
    }
    memset(r.buffer, 0, request_bytes);
    return static_cast<int64_t>(done);
}

int probe(Device& device) {
    if (rng_count == max_rng_devices) return -errno_nodev;
    if (int e = device.negotiate(0)) return e;  // virtio-rng has no feature bits of its own
    auto* r = new Rng;
    r->device = &device;
    r->buffer = static_cast<uint8_t*>(mm::alloc_pages(0));
    if (!r->buffer) {
        delete r;
        return -errno_nomem;
    }
    QueueConfig config{used, r, queue_entries};
    if (int e = device.setup_queues(1, &config)) {
        mm::free_pages(r->buffer, 0);
        delete r;
        return e;
    }
    r->queue = &device.queue(0);
    device.driver_data = r;
    device.ready();
    // Seed the kernel's generator now, so the application's first getrandom has it.
    uint8_t seed[seed_bytes];
    int64_t n = read_into(*r, seed, sizeof seed, probe_timeout_ns);
    if (n != static_cast<int64_t>(sizeof seed)) {
        kprintf("mica: %s: no random bytes from the device (%s)\n", device.name(),
                n == -errno_timedout ? "no answer within 1 s" : "error");
        if (!r->stopped) device.fail(nullptr);
        mm::free_pages(r->buffer, 0);
        delete r;
        return n < 0 ? static_cast<int>(n) : -errno_io;
    }
    random::add_entropy(seed, sizeof seed, true);
    memset(seed, 0, sizeof seed);
    rngs[rng_count++] = r;
    return 0;
}
}  // namespace

extern const Driver rng_driver{"virtio-rng", device_entropy, probe};

size_t rng_device_count() { return rng_count; }

int64_t rng_read(size_t index, void* buffer, size_t length, uint64_t timeout_ns) {
    if (index >= rng_count) return -errno_nodev;
    return read_into(*rngs[index], buffer, length, timeout_ns);
}

bool rng_self_test() {
    constexpr size_t test_bytes = 4096;
    // 4096 random bytes miss a given value with probability (255/256)^4096 ~ 1e-7: all 256
    // values appear unless the bytes are not random (zeros, a pattern, a stuck buffer).
    constexpr unsigned min_distinct = 250;
    if (rng_count == 0) {
        kprintf("mica: virtio-rng self-test: no entropy device\n");
        return false;
    }
    bool ok = true;
    static uint8_t bytes[test_bytes], previous[test_bytes];
    for (size_t i = 0; i < rng_count; ++i) {
        Rng& r = *rngs[i];
        uint64_t interrupts_before = r.queue->interrupts();
        int64_t n = rng_read(i, bytes, test_bytes, probe_timeout_ns);
        bool seen[256] = {};
        unsigned distinct = 0;
        for (int64_t k = 0; k < n; ++k) {
            distinct += !seen[bytes[k]];
            seen[bytes[k]] = true;
        }
        bool same_as_previous = i > 0 && memcmp(bytes, previous, test_bytes) == 0;
        // The device may finish a request before the requester looks (QEMU can answer inside
        // the doorbell write), so its interrupt can come after the bytes: wait for it, since
        // the point is to prove the interrupt path too.
        constexpr uint64_t poll_ns = 1000000, give_up_ns = 1000000000;
        for (uint64_t waited = 0; r.queue->interrupts() == interrupts_before && waited < give_up_ns; waited += poll_ns) {
            sched::sleep_ns(poll_ns);
        }
        bool interrupted = r.queue->interrupts() > interrupts_before;
        bool pass = n == static_cast<int64_t>(test_bytes) && distinct >= min_distinct && !same_as_previous && interrupted;
        kprintf("mica: virtio-rng self-test: %s: read %lld bytes, %u distinct values, %llu interrupts (%s): %s\n",
                r.device->name(), (long long)n, distinct, (unsigned long long)(r.queue->interrupts() - interrupts_before),
                r.device->interrupt_kind(), pass ? "ok" : "FAILED");
        ok &= pass;
        memcpy(previous, bytes, test_bytes);
    }
    kprintf("mica: kernel random generator seeded by a hardware source: %s\n", random::hardware_seeded() ? "yes" : "no");
    return ok && random::hardware_seeded();
}

}  // namespace mica::virtio
