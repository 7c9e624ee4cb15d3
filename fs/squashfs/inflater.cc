// zlib's inflate for the squashfs reader. The kernel compiles Debian's zlib sources (only
// inflate's) with Z_SOLO, so the allocation hooks here are the only way zlib gets memory: the
// heap's malloc/free in the kernel, the C library's on the host.
#include "inflater.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <new>

#include <mica/fs/abi.h>

namespace mica::fs::squashfs {

struct Inflater::State {
    z_stream stream;
    bool initialised = false;
    size_t allocated = 0;  // bytes zlib holds through the hooks below
    uint8_t input[input_chunk];
};

namespace {

// zlib asks for its state and window once (inflateInit) and keeps them across inflateReset.
// A size header in front of each allocation lets memory_used() count what zlib holds.
voidpf zlib_alloc(voidpf opaque, uInt items, uInt size) {
    if (size != 0 && items > (~size_t(0) - 16) / size) return Z_NULL;
    size_t bytes = size_t(items) * size;
    auto* block = static_cast<size_t*>(malloc(bytes + 16));
    if (!block) return Z_NULL;
    block[0] = bytes;
    *static_cast<size_t*>(opaque) += bytes;
    return reinterpret_cast<uint8_t*>(block) + 16;
}

void zlib_free(voidpf opaque, voidpf address) {
    if (!address) return;
    auto* block = reinterpret_cast<size_t*>(static_cast<uint8_t*>(address) - 16);
    *static_cast<size_t*>(opaque) -= block[0];
    free(block);
}

}  // namespace

Inflater* Inflater::create() {
    void* memory = malloc(sizeof(State));
    if (!memory) return nullptr;
    auto* state = new (memory) State;
    memset(&state->stream, 0, sizeof(state->stream));
    state->stream.zalloc = zlib_alloc;
    state->stream.zfree = zlib_free;
    state->stream.opaque = &state->allocated;
    if (inflateInit(&state->stream) != Z_OK) {
        state->~State();
        free(memory);
        return nullptr;
    }
    state->initialised = true;
    // zlib allocates its window the first time a stream spans two inflate calls (a block
    // bigger than input_chunk): a one-byte stream fed in two pieces (the literal is decoded
    // from the first) makes that happen at open, so reading never allocates.
    static const uint8_t one_byte[] = {0x78, 0x9c, 0x4b, 0x04, 0x00, 0x00, 0x62, 0x00, 0x62};
    constexpr unsigned first_piece = 4;  // the zlib header and the literal, not the end of block
    uint8_t out[1];
    state->stream.next_in = const_cast<uint8_t*>(one_byte);
    state->stream.avail_in = first_piece;
    state->stream.next_out = out;
    state->stream.avail_out = sizeof(out);
    size_t state_only = state->allocated;
    int warm = ::inflate(&state->stream, Z_NO_FLUSH);
    state->stream.avail_in += sizeof(one_byte) - first_piece;
    if (warm == Z_OK) warm = ::inflate(&state->stream, Z_NO_FLUSH);
    if (warm != Z_STREAM_END || out[0] != 'a' || state->allocated == state_only) {
        inflateEnd(&state->stream);
        state->~State();
        free(memory);
        return nullptr;
    }
    auto* inflater = new Inflater;  // small: plain new, like Image's
    inflater->state_ = state;
    return inflater;
}

Inflater::~Inflater() {
    if (!state_) return;
    if (state_->initialised) inflateEnd(&state_->stream);
    state_->~State();
    free(state_);
}

size_t Inflater::memory_used() const { return sizeof(*this) + sizeof(State) + state_->allocated; }

int Inflater::begin(Source& source, uint64_t offset, uint32_t length, const char** why) {
    z_stream& z = state_->stream;
    failed_ = true;  // until the reset is done
    if (inflateReset(&z) != Z_OK) {
        *why = "zlib stream reset failed";
        return -errno_io;
    }
    z.next_in = state_->input;
    z.avail_in = 0;
    source_ = &source;
    offset_ = offset;
    remaining_ = length;
    ended_ = false;
    failed_ = false;
    start_ = offset;
    length_ = length;
    produced_ = 0;
    return 0;
}

bool Inflater::resumable(uint64_t offset, uint32_t length, uint64_t* produced) const {
    if (failed_ || ended_ || start_ != offset || length_ != length) return false;
    *produced = produced_;
    return true;
}

int Inflater::next(uint8_t* out, uint32_t capacity, uint32_t* produced, bool* ended, const char** why) {
    z_stream& z = state_->stream;
    if (failed_) {
        *why = "a compressed block's stream was not started";
        return -errno_io;
    }
    z.next_out = out;
    z.avail_out = capacity;
    failed_ = true;  // until this call has succeeded
    // Each pass either consumes input or produces output (or ends): at most one pass per
    // input chunk plus one per output byte, so the loop is bounded by the stream and capacity.
    while (!ended_ && z.avail_out > 0) {
        if (z.avail_in == 0 && remaining_ > 0) {
            uint32_t chunk = remaining_ < input_chunk ? remaining_ : uint32_t(input_chunk);
            int r = source_->read(offset_, state_->input, chunk);
            if (r < 0) {
                *why = "cannot read a compressed block";
                return r;
            }
            offset_ += chunk;
            remaining_ -= chunk;
            z.next_in = state_->input;
            z.avail_in = chunk;
        }
        int r = ::inflate(&z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            ended_ = true;
        } else if (r == Z_BUF_ERROR) {  // no progress with room for output: the input is used up
            *why = "a compressed block ends before its zlib stream";
            return -errno_io;
        } else if (r != Z_OK) {
            *why = r == Z_DATA_ERROR ? "a compressed block is not a valid zlib stream"
                                     : "zlib failed to inflate a compressed block";
            return -errno_io;
        }
    }
    *produced = capacity - z.avail_out;
    *ended = ended_;
    produced_ += *produced;
    failed_ = false;
    return 0;
}

int Inflater::inflate(Source& source, uint64_t offset, uint32_t length, uint8_t* out, uint32_t capacity,
                      uint32_t* produced, const char** why) {
    int r = begin(source, offset, length, why);
    bool ended = false;
    *produced = 0;
    if (r == 0 && capacity > 0) r = next(out, capacity, produced, &ended, why);
    if (r < 0 || ended) return r;
    // The output is full: the stream must end here (its check value may still follow).
    uint8_t beyond[1];
    uint32_t more = 0;
    if ((r = next(beyond, sizeof(beyond), &more, &ended, why)) < 0) return r;
    if (more) {
        *why = "a compressed block inflates to more than its size";
        return -errno_io;
    }
    return 0;
}

}  // namespace mica::fs::squashfs
