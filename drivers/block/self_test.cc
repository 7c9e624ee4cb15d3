// --test-disk=NAME (mica/block/device.h): the block layer and the disk's driver on a real
// device, with several requests in flight, several threads, and the buffer cache.
#include <mica/block/buffer_cache.h>
#include <mica/block/device.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/sched/sched.h>
#include <stdlib.h>
#include <string.h>

namespace mica::block {
namespace {
constexpr uint64_t max_bytes = 64ull << 20;
constexpr unsigned reader_threads = 4;
constexpr size_t kib = 1024;
constexpr unsigned cache_reads = 2000;
constexpr uint64_t fnv_basis = 14695981039346656037ull, fnv_prime = 1099511628211ull;

uint64_t fnv1a(const uint8_t* p, size_t n) {
    uint64_t h = fnv_basis;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * fnv_prime;
    return h;
}

struct Reader {
    Device* device;
    const uint8_t* expected;
    uint64_t length;
    size_t chunk;  // bytes per read: from one sector to a megabyte
    bool ok;
};

void reader_main(void* arg) {
    auto* r = static_cast<Reader*>(arg);
    auto* buffer = static_cast<uint8_t*>(malloc(r->chunk));
    r->ok = buffer != nullptr;
    // Walk the disk from a different starting point per chunk size, wrapping around.
    uint64_t chunks = r->length / r->chunk;
    for (uint64_t i = 0; r->ok && i < chunks; ++i) {
        uint64_t offset = ((i + chunks / 2) % chunks) * r->chunk;
        r->ok = r->device->read(offset, buffer, r->chunk) == 0 && memcmp(buffer, r->expected + offset, r->chunk) == 0;
    }
    free(buffer);
}
}  // namespace

bool self_test(const char* name) {
    Device* d = find(name);
    if (!d) {
        kprintf("mica: disk self-test: no disk %s (%zu disks)\n", name, device_count());
        return false;
    }
    uint64_t length = d->capacity() < max_bytes ? d->capacity() : max_bytes;
    auto* whole = static_cast<uint8_t*>(malloc(length));
    if (!whole) {
        kprintf("mica: disk self-test: no memory for %llu bytes\n", (unsigned long long)length);
        return false;
    }
    bool ok = true;
    int e = d->read(0, whole, length);
    kprintf("mica: disk self-test: %s: read %llu bytes at once: %s, fnv1a %016llx\n", name,
            (unsigned long long)length, e ? "FAILED" : "ok", (unsigned long long)fnv1a(whole, length));
    ok &= e == 0;

    // Threads at once, each in its own request size (all multiples of the sector size).
    size_t chunks[reader_threads] = {d->sector_size(), 64 * kib, 256 * kib, 1024 * kib};
    Reader readers[reader_threads];
    sched::Thread* threads[reader_threads] = {};
    for (unsigned i = 0; i < reader_threads; ++i) {
        size_t chunk = chunks[i] < d->sector_size() ? d->sector_size() : chunks[i];
        if (chunk > length) chunk = length;
        readers[i] = {d, whole, length / chunk * chunk, chunk, false};
        threads[i] = sched::create("disk-test", reader_main, &readers[i]);
        if (threads[i]) sched::start(threads[i]);
    }
    for (unsigned i = 0; i < reader_threads; ++i) {
        if (!threads[i]) {
            ok = false;
            continue;
        }
        sched::join(threads[i]);
        kprintf("mica: disk self-test: %s: thread reading %zu bytes at a time: %s\n", name, readers[i].chunk,
                readers[i].ok ? "ok" : "FAILED");
        ok &= readers[i].ok;
    }

    // The buffer cache: byte-granular reads at pseudo-random offsets, and big direct ones.
    BufferCache cache(*d, CONFIG_BLOCK_CACHE_KIB * kib);
    uint8_t small[300];
    uint64_t x = 88172645463325252ull;
    bool cache_ok = true;
    for (unsigned i = 0; i < cache_reads && cache_ok; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = 1 + x % sizeof small;
        uint64_t offset = (x >> 16) % (length - n + 1);
        cache_ok = cache.read(offset, small, n) == 0 && memcmp(small, whole + offset, n) == 0;
    }
    size_t big = length > 3 * 100003 ? 3 * 100003 : static_cast<size_t>(length) - 1;
    auto* big_buffer = static_cast<uint8_t*>(malloc(big));
    cache_ok &= big_buffer && cache.read(1, big_buffer, big) == 0 && memcmp(big_buffer, whole + 1, big) == 0;
    free(big_buffer);
    cache_ok &= cache.cached_blocks() <= cache.max_blocks();
    kprintf("mica: disk self-test: %s: buffer cache: %llu hits, %llu misses, %llu direct reads, %zu of at most %zu blocks: %s\n",
            name, (unsigned long long)cache.hits(), (unsigned long long)cache.misses(),
            (unsigned long long)cache.direct_reads(), cache.cached_blocks(), cache.max_blocks(), cache_ok ? "ok" : "FAILED");
    ok &= cache_ok;
    free(whole);
    return ok;
}

}  // namespace mica::block
