// Shared by the libFuzzer targets (tests/fuzz): a check that stops the run so libFuzzer keeps
// the input, and a reader that turns the fuzzer's bytes into a sequence of operations.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A broken invariant is a finding: say which, and abort (libFuzzer saves the input).
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

namespace fuzz {

// Consumes the input front to back; past its end every read gives zeros, so any input is a
// complete (possibly short) program of operations.
class Input {
public:
    Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool done() const { return used_ >= size_; }
    size_t remaining() const { return done() ? 0 : size_ - used_; }
    uint8_t byte() { return done() ? 0 : data_[used_++]; }
    template <typename T>
    T value() {
        T v{};
        size_t n = remaining() < sizeof(T) ? remaining() : sizeof(T);
        if (n) memcpy(&v, data_ + used_, n);
        used_ += n;
        return v;
    }
    // A value in [0, bound) (bound > 0).
    uint64_t below(uint64_t bound) { return value<uint64_t>() % bound; }
    // Up to `max` bytes as a string (stops at the input's end).
    size_t bytes(char* out, size_t max) {
        size_t n = byte() % (max + 1);
        if (n > remaining()) n = remaining();
        if (n) memcpy(out, data_ + used_, n);
        used_ += n;
        return n;
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t used_ = 0;
};

}  // namespace fuzz
