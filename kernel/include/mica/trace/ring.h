// A trace ring: one writer (a CPU with interrupts off, or one host thread), readers that take
// snapshots at any time. Host-testable: no kernel dependencies (tests/unit/test_trace_ring.cc).
//
// Records are whole multiples of 8 bytes that begin with a RecordHeader; the ring keeps
// 64-bit positions that only grow (`head` = where the next record goes, `tail` = the oldest
// record still whole), and a byte offset is the position modulo the capacity, so a record may
// straddle the end of the buffer. When a new record does not fit, the writer drops the oldest
// records (counting them in `lost`) and publishes the new tail before it overwrites their
// bytes; it publishes the new head only once the record is complete. A reader therefore
// decodes only [tail, head) as it saw them, and discards whatever the writer's tail moved past
// while it was copying: a record being written, or one being overwritten, is never decoded.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

namespace mica::trace {

// What every record begins with (the trace file's record layout, docs/tracing.md).
struct RecordHeader {
    uint64_t timestamp;  // in the ring: cycles; in the trace file: ns since kernel entry
    uint16_t id;         // the tracepoint
    uint16_t size;       // whole record in bytes, a multiple of 8
    uint32_t thread;
};
static_assert(sizeof(RecordHeader) == 16);

inline constexpr size_t record_align = 8;
inline constexpr size_t max_record_size = 0xfff8;  // size is a u16 multiple of 8

class Ring {
public:
    // `buffer` of `capacity` bytes: a power of two, at least 64.
    void init(void* buffer, size_t capacity) {
        data_ = static_cast<uint8_t*>(buffer);
        capacity_ = capacity;
        head_ = tail_ = lost_ = 0;
    }
    bool ready() const { return data_ != nullptr; }
    size_t capacity() const { return capacity_; }

    // The writer: a record of `size` bytes (a multiple of 8, at most capacity / 2) is made of
    // `pieces` (contiguous chunks, in order). False if it can never fit.
    struct Piece {
        const void* data;
        size_t size;
    };
    bool write(const Piece* pieces, size_t count, size_t size) {
        if (!data_ || size < sizeof(RecordHeader) || size % record_align || size > capacity_ / 2 ||
            size > max_record_size) {
            return false;
        }
        uint64_t head = head_;  // only this writer changes head and tail
        uint64_t tail = tail_;
        uint64_t dropped = 0;
        while (head + size - tail > capacity_) {
            tail += record_size_at(tail);
            ++dropped;
        }
        if (dropped) {
            __atomic_store_n(&tail_, tail, __ATOMIC_RELAXED);
            __atomic_store_n(&lost_, lost_ + dropped, __ATOMIC_RELAXED);
            // The new tail is visible before any byte of the dropped records changes (a
            // reader that copied changed bytes then sees the tail that excludes them).
            __atomic_thread_fence(__ATOMIC_RELEASE);
        }
        uint64_t at = head;
        for (size_t i = 0; i < count; ++i) {
            copy_in(at, pieces[i].data, pieces[i].size);
            at += pieces[i].size;
        }
        __atomic_store_n(&head_, head + size, __ATOMIC_RELEASE);
        return true;
    }

    // A consistent copy of the records, oldest first, into `out` (at least capacity() bytes).
    struct Snapshot {
        size_t bytes = 0;    // copied into `out`
        uint64_t lost = 0;   // records overwritten before the snapshot
    };
    Snapshot snapshot(void* out, size_t out_size) const {
        Snapshot s;
        if (!data_ || out_size < capacity_) return s;
        uint64_t head = __atomic_load_n(&head_, __ATOMIC_ACQUIRE);
        uint64_t tail = __atomic_load_n(&tail_, __ATOMIC_ACQUIRE);
        if (head - tail > capacity_) return s;  // cannot happen with one writer; be safe
        copy_out(tail, out, head - tail);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t tail_after = __atomic_load_n(&tail_, __ATOMIC_ACQUIRE);
        s.lost = __atomic_load_n(&lost_, __ATOMIC_RELAXED);
        // Records the writer dropped while we copied may hold newer bytes: skip them. The
        // tail only moves forward along record boundaries, so tail_after is one.
        if (tail_after >= head) return s;
        uint64_t first = tail_after > tail ? tail_after : tail;
        auto* bytes = static_cast<uint8_t*>(out);
        memmove(bytes, bytes + (first - tail), head - first);
        s.bytes = head - first;
        return s;
    }

    uint64_t lost() const { return __atomic_load_n(&lost_, __ATOMIC_RELAXED); }
    uint64_t head() const { return __atomic_load_n(&head_, __ATOMIC_ACQUIRE); }

private:
    size_t record_size_at(uint64_t position) const {
        RecordHeader h;
        copy_out(position, &h, sizeof h);
        return h.size;
    }
    void copy_in(uint64_t position, const void* from, size_t n) {
        size_t offset = position & (capacity_ - 1);
        size_t first = n < capacity_ - offset ? n : capacity_ - offset;
        memcpy(data_ + offset, from, first);
        if (n > first) memcpy(data_, static_cast<const uint8_t*>(from) + first, n - first);
    }
    void copy_out(uint64_t position, void* to, size_t n) const {
        size_t offset = position & (capacity_ - 1);
        size_t first = n < capacity_ - offset ? n : capacity_ - offset;
        memcpy(to, data_ + offset, first);
        if (n > first) memcpy(static_cast<uint8_t*>(to) + first, data_, n - first);
    }
    uint8_t* data_ = nullptr;
    size_t capacity_ = 0;
    uint64_t head_ = 0;  // atomic: written by the writer, read by snapshots
    uint64_t tail_ = 0;  // atomic: likewise
    uint64_t lost_ = 0;  // atomic: likewise
};

}  // namespace mica::trace
