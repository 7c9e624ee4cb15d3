#include <mica/linux/pipe_buffer.h>
#include <string.h>

namespace mica::abi {

PipeBuffer::Span PipeBuffer::readable() const {
    size_t contiguous = capacity_ - head_;
    return Span{data_ + head_, used_ < contiguous ? used_ : contiguous};
}

void PipeBuffer::consume(size_t n) {
    head_ = (head_ + n) % capacity_;
    used_ -= n;
    if (used_ == 0) head_ = 0;  // keeps the next write contiguous
}

PipeBuffer::Span PipeBuffer::writable() const {
    size_t tail = (head_ + used_) % capacity_;
    size_t free = capacity_ - used_;
    size_t contiguous = capacity_ - tail;
    return Span{data_ + tail, free < contiguous ? free : contiguous};
}

void PipeBuffer::commit(size_t n) { used_ += n; }

void PipeBuffer::relocate(uint8_t* storage, size_t capacity) {
    size_t used = used_;
    read(storage, used);  // both spans, in order
    data_ = storage;
    capacity_ = capacity;
    head_ = 0;
    used_ = used;
}

size_t PipeBuffer::read(void* buffer, size_t length) {
    auto* out = static_cast<uint8_t*>(buffer);
    size_t done = 0;
    while (done < length) {
        Span span = readable();
        if (span.length == 0) break;
        size_t n = span.length < length - done ? span.length : length - done;
        memcpy(out + done, span.data, n);
        consume(n);
        done += n;
    }
    return done;
}

size_t PipeBuffer::write(const void* buffer, size_t length) {
    const auto* in = static_cast<const uint8_t*>(buffer);
    size_t done = 0;
    while (done < length) {
        Span span = writable();
        if (span.length == 0) break;
        size_t n = span.length < length - done ? span.length : length - done;
        memcpy(span.data, in + done, n);
        commit(n);
        done += n;
    }
    return done;
}

}  // namespace mica::abi
