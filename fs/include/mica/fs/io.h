// The bytes of one transfer: a list of segments (struct iovec) in application memory or in
// kernel memory, consumed front to back through a cursor. Pipes, devices, sockets, eventfd
// and the file system calls copy through it, so the same code serves read(2) on an
// application buffer, readv/recvmsg on an iovec array and sendfile on a kernel buffer.
//
// Application memory is only touched through mm::vm::copy_to_app/copy_from_app: a bad
// address gives -EFAULT, never a fault in the kernel (the host tests link a fake of those).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::fs {

// struct iovec: the layout readv, writev, sendmsg and recvmsg read from the application.
struct IoSegment {
    uint64_t base;
    uint64_t length;
};
static_assert(sizeof(IoSegment) == 16);

class IoVector {
public:
    // `segments` (kernel memory, `count` of them) must outlive the vector; the caller has
    // checked that the lengths add up without overflow. `app`: the bases are application
    // addresses.
    IoVector(const IoSegment* segments, size_t count, bool app);
    // One segment of `length` bytes at `data`.
    IoVector(void* data, size_t length, bool app);
    IoVector(const IoVector&) = delete;
    IoVector& operator=(const IoVector&) = delete;

    bool app() const { return app_; }
    size_t segment_count() const { return count_; }
    const IoSegment& segment(size_t index) const { return segments_[index]; }
    size_t total() const { return total_; }
    size_t done() const { return done_; }
    size_t remaining() const { return total_ - done_; }

    // Copies `length` bytes of `source` to the cursor and advances it: the bytes copied
    // (fewer only at the end of the vector), or -EFAULT if not even the first piece could be
    // written. A fault after some pieces returns what was copied before it.
    int64_t put(const void* source, size_t length);
    // Copies from the cursor into `target`, advancing: the same results.
    int64_t get(void* target, size_t length);
    // Writes `length` zero bytes at the cursor (memset for kernel memory, page-sized copies
    // for application memory): /dev/zero. The same results as put.
    int64_t put_zeros(size_t length);
    // Advances the cursor without copying (at most to the end).
    void skip(size_t length);

    // The contiguous bytes at the cursor, at most `max` of them, without advancing: their
    // address (application memory when app()) and length (0 at the end). For code that
    // hands the memory to someone else's copy (lwIP's tcp_write) instead of copying here.
    struct Piece {
        uint64_t base;
        size_t length;
    };
    Piece piece(size_t max) const;

    // The cursor, to go back to when an attempt takes nothing after all.
    struct Position {
        size_t segment, offset, done;
    };
    Position position() const { return Position{segment_, offset_, done_}; }
    void rewind(Position p) {
        segment_ = p.segment;
        offset_ = p.offset;
        done_ = p.done;
    }

private:
    // Copies up to `length` bytes between the cursor and `kernel`; `to_vector` picks the way.
    int64_t transfer(void* kernel, size_t length, bool to_vector);
    void settle();  // moves past exhausted segments

    const IoSegment* segments_;
    size_t count_;
    bool app_;
    size_t total_ = 0;
    size_t segment_ = 0;  // cursor: segment index and offset in it
    size_t offset_ = 0;
    size_t done_ = 0;
    IoSegment single_{};  // storage for the one-segment constructor
};

}  // namespace mica::fs
