// The generator behind /dev/random and /dev/urandom: ChaCha20 (RFC 7539's block function) in
// counter mode with fast key erasure (after every request the next 32 output bytes become the
// key, so earlier output cannot be recomputed from a later state).
//
// The kernel's one instance is in kernel/core/random.cc (mica/random.h): seeded from the
// cycle counter's jitter, which an observer can partly predict, until an entropy device
// (virtio-rng) mixes in real random bytes. Host-tested; not thread-safe (the instance is
// used under a spinlock).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::abi {

// One 64-byte ChaCha20 block for `key`, block `counter` and the 96-bit `nonce`.
void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64]);

class ChaChaRng {
public:
    // Mixes `length` bytes into the key (may be called again to add entropy).
    void seed(const void* material, size_t length);
    void fill(void* buffer, size_t length);
    bool seeded() const { return seeded_; }

private:
    void rekey();

    uint32_t key_[8] = {};
    uint32_t nonce_[3] = {};
    uint32_t counter_ = 0;
    bool seeded_ = false;
};

}  // namespace mica::abi
