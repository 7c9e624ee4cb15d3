// Writing the rings out: the trace file (format.h), base64 in framed console lines that
// tools/run --trace-out collects (docs/tracing.md "Console frames"):
//   \x1e MICA-TRACE BEGIN <reason>
//   \x1e MICA-TRACE <base64 of up to 57 bytes of the file>      (as many as needed)
//   \x1e MICA-TRACE END <file bytes> <crc32 of the file, 8 hex digits>
#include "internal.h"

#include <arch/arch.h>
#include <mica/bootchart.h>
#include <mica/clock.h>
#include <mica/console.h>
#include <mica/format.h>

namespace mica::trace {

using namespace internal;

namespace {

constexpr char frame_prefix[] = "\x1e MICA-TRACE ";
constexpr size_t line_bytes = 57;  // 76 base64 characters
// How long the dump waits for a CPU to finish the record it is writing: a CPU halted by a
// panic in the middle of one never does, and its ring is still safe to read (the record
// was never published).
constexpr unsigned busy_wait_spins = 1000000;

// Owned by dump() (one dump per boot).
struct Framer {
    uint8_t pending[line_bytes];
    size_t count = 0;
    uint64_t total = 0;
    uint32_t crc = 0;
} framer;
int dumped = 0;  // atomic

void flush_line() {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[sizeof frame_prefix + line_bytes / 3 * 4 + 2];
    size_t n = sizeof frame_prefix - 1;
    __builtin_memcpy(line, frame_prefix, n);
    for (size_t i = 0; i < framer.count; i += 3) {
        uint32_t b = uint32_t{framer.pending[i]} << 16;
        size_t have = framer.count - i;
        if (have > 1) b |= uint32_t{framer.pending[i + 1]} << 8;
        if (have > 2) b |= framer.pending[i + 2];
        line[n++] = alphabet[b >> 18 & 63];
        line[n++] = alphabet[b >> 12 & 63];
        line[n++] = have > 1 ? alphabet[b >> 6 & 63] : '=';
        line[n++] = have > 2 ? alphabet[b & 63] : '=';
    }
    line[n++] = '\n';
    console::write(line, n);
    framer.count = 0;
}

void frame_bytes(void*, const void* data, size_t size) {
    auto* p = static_cast<const uint8_t*>(data);
    framer.crc = crc32(framer.crc, p, size);
    framer.total += size;
    while (size) {
        size_t take = line_bytes - framer.count < size ? line_bytes - framer.count : size;
        __builtin_memcpy(framer.pending + framer.count, p, take);
        framer.count += take;
        p += take;
        size -= take;
        if (framer.count == line_bytes) flush_line();
    }
}

}  // namespace

void dump(const char* reason) {
    if (!ring_count || __atomic_exchange_n(&dumped, 1, __ATOMIC_ACQ_REL)) return;
    name_live_threads();
    // Stop the writers and wait for records in progress (write_record's fence pairs with this).
    __atomic_store_n(&stopped, true, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (size_t i = 0; i < point_count; ++i) __atomic_store_n(&enabled[i], false, __ATOMIC_RELAXED);
    for (unsigned c = 0; c < ring_count; ++c) {
        for (unsigned spin = 0; spin < busy_wait_spins && __atomic_load_n(&rings[c].busy, __ATOMIC_ACQUIRE); ++spin) {
            arch::cpu_relax();
        }
    }
    if (!console::at_line_start()) console::write("\n", 1);
    kprintf("%sBEGIN %s\n", frame_prefix, reason);
    Sink sink(frame_bytes, nullptr);
    uint64_t since_entry = bootchart::ns_since_entry(), wall = clock::realtime_ns();
    FileHeader header{ring_count, wall > since_entry ? wall - since_entry : 0, CONFIG_ARCH, 0,
                      (options.backtrace ? flag_backtraces : 0u) | (options.profile_hz ? flag_profile : 0u)};
    write_header(sink, header, descriptors, point_count);
    Clock clock{bootchart::origin_cycles(), arch::cycles_per_second()};
    size_t records = 0;
    uint64_t lost = 0;
    for (unsigned c = 0; c < ring_count; ++c) {
        Ring::Snapshot s = rings[c].ring.snapshot(scratch, rings[c].ring.capacity());
        SectionInput in{c, s.lost, static_cast<const uint8_t*>(scratch), s.bytes, options.backtrace,
                        static_cast<uint16_t>(Point::profile_sample)};
        records += write_cpu_section(sink, in, descriptors, point_count, clock);
        lost += s.lost;
    }
    write_end(sink);
    if (framer.count) flush_line();
    kprintf("%sEND %llu %08x\n", frame_prefix, static_cast<unsigned long long>(framer.total), framer.crc);
    kprintf("mica: trace: %zu records from %u CPUs (%llu overwritten) written to the console (%s)\n", records,
            ring_count, static_cast<unsigned long long>(lost), reason);
}

}  // namespace mica::trace
