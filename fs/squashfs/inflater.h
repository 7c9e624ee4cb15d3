// zlib's inflate behind one reused stream (inflateReset per block, no allocation per block),
// reading the compressed bytes from the Source in small pieces: the reader never holds a
// whole compressed block. A block is inflated whole (inflate) or streamed (begin, then next
// as often as the caller wants bytes: zlib keeps its own 32 KiB window between calls, so the
// output can go to small buffers and stop before the block's end). Private to the reader.
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
    // Starts streaming the zlib stream of `length` bytes at `offset` (no output yet): 0, or
    // -EIO with `why` when the stream cannot be reset.
    int begin(Source& source, uint64_t offset, uint32_t length, const char** why);
    // The stream's next bytes into out[0, capacity) (capacity > 0): 0 with *produced set, which
    // is capacity unless the stream ended (*ended, also set when it ends exactly there); -EIO
    // with `why` for a corrupt or truncated stream, or the source's -errno.
    int next(uint8_t* out, uint32_t capacity, uint32_t* produced, bool* ended, const char** why);
    // Whether the stream begin() last started is the one of `length` bytes at `offset`, still
    // going (not ended, no error since) and in one piece with the output so far: then next()
    // goes on from byte *produced of its output. Anything else inflated in between (inflate,
    // another begin) ends that.
    bool resumable(uint64_t offset, uint32_t length, uint64_t* produced) const;
    // Bytes allocated (the stream's state and window, the input buffer).
    size_t memory_used() const;

private:
    Inflater() = default;
    struct State;
    State* state_ = nullptr;
    Source* source_ = nullptr;  // the stream begin() started: where its input comes from
    uint64_t offset_ = 0;       //   the next input byte
    uint32_t remaining_ = 0;    //   input bytes not read yet
    bool ended_ = false;        //   zlib said Z_STREAM_END
    bool failed_ = true;        //   an error since begin() (or none begun): not resumable
    uint64_t start_ = 0;        //   begin()'s offset and length
    uint32_t length_ = 0;
    uint64_t produced_ = 0;     //   output bytes since begin()
};

}  // namespace mica::fs::squashfs
