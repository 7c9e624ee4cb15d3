// zlib's inflate behind one reused stream (inflateReset per block, no allocation per block),
// reading the compressed bytes from the Source in small pieces: the reader never holds a
// whole compressed block. Private to the reader.
#pragma once

#include <mica/fs/squashfs.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::fs::squashfs {

class Inflater {
public:
    // Bytes of compressed input read from the source at a time.
    static constexpr size_t input_chunk = 8192;

    static Inflater* create();  // nullptr when out of memory
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    // Inflates the zlib stream of `length` bytes at `offset` into out[0, capacity): 0 with
    // *produced set, -EIO with `why` (a static string) for a corrupt stream or one that
    // produces more than `capacity` bytes, or the source's -errno.
    int inflate(Source& source, uint64_t offset, uint32_t length, uint8_t* out, uint32_t capacity,
                uint32_t* produced, const char** why);
    // Bytes allocated (the stream's state and window, the input buffer).
    size_t memory_used() const;

private:
    Inflater() = default;
    struct State;
    State* state_ = nullptr;
};

}  // namespace mica::fs::squashfs
