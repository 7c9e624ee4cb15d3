// The byte ring behind a pipe: the data structure only, no locking and no blocking (pipe.cc
// adds those in the kernel), so it is host-tested. Readers and writers work on contiguous
// spans of the ring (at most two per transfer), which lets the kernel copy straight between
// the ring and application memory with copy_to_app / copy_from_app and commit only what
// was copied when a copy faults part way.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::abi {

// Linux's default pipe capacity (16 pages) and PIPE_BUF: writes of at most pipe_buf bytes
// are atomic (never interleaved with other writers' data). A pipe's ring starts at
// pipe_first_storage bytes and grows (relocate) up to pipe_capacity as writers need room, as
// Linux allocates a pipe's pages when they are written: a shell pipeline moving a few lines
// costs a page per pipe, not 64 KiB.
inline constexpr size_t pipe_capacity = 64 * 1024;
inline constexpr size_t pipe_buf = 4096;
inline constexpr size_t pipe_first_storage = pipe_buf;

class PipeBuffer {
public:
    struct Span {
        uint8_t* data;
        size_t length;
    };

    // `storage` of `capacity` bytes belongs to the caller and outlives the buffer.
    PipeBuffer(uint8_t* storage, size_t capacity) : data_(storage), capacity_(capacity) {}

    size_t size() const { return used_; }
    size_t space() const { return capacity_ - used_; }
    size_t capacity() const { return capacity_; }
    bool empty() const { return used_ == 0; }
    bool full() const { return used_ == capacity_; }

    // The next contiguous bytes to read (length 0 when empty), then consume(n <= length).
    Span readable() const;
    void consume(size_t n);
    // The next contiguous free bytes to fill (length 0 when full), then commit(n <= length).
    Span writable() const;
    void commit(size_t n);

    // Moves the ring to `storage` of `capacity` bytes (at least size()), its bytes first in
    // it; the old storage is the caller's to free.
    void relocate(uint8_t* storage, size_t capacity);
    uint8_t* storage() const { return data_; }

    // Whole transfers through memcpy (kernel buffers, tests): the bytes moved.
    size_t read(void* buffer, size_t length);
    size_t write(const void* buffer, size_t length);

private:
    uint8_t* data_;
    size_t capacity_;
    size_t head_ = 0;  // next byte to read
    size_t used_ = 0;
};

}  // namespace mica::abi
