#include <mica/linux/random.h>
#include <string.h>

namespace mica::abi {
namespace {

constexpr uint32_t rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

inline void quarter(uint32_t* s, int a, int b, int c, int d) {
    s[a] += s[b]; s[d] ^= s[a]; s[d] = rotl(s[d], 16);
    s[c] += s[d]; s[b] ^= s[c]; s[b] = rotl(s[b], 12);
    s[a] += s[b]; s[d] ^= s[a]; s[d] = rotl(s[d], 8);
    s[c] += s[d]; s[b] ^= s[c]; s[b] = rotl(s[b], 7);
}

void store_le(uint8_t* out, uint32_t v) {
    out[0] = static_cast<uint8_t>(v);
    out[1] = static_cast<uint8_t>(v >> 8);
    out[2] = static_cast<uint8_t>(v >> 16);
    out[3] = static_cast<uint8_t>(v >> 24);
}

uint32_t load_le(const uint8_t* in) {
    return uint32_t{in[0]} | uint32_t{in[1]} << 8 | uint32_t{in[2]} << 16 | uint32_t{in[3]} << 24;
}

}  // namespace

void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64]) {
    // "expand 32-byte k"
    uint32_t input[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    for (int i = 0; i < 8; ++i) input[4 + i] = key[i];
    input[12] = counter;
    for (int i = 0; i < 3; ++i) input[13 + i] = nonce[i];
    uint32_t s[16];
    memcpy(s, input, sizeof(s));
    for (int round = 0; round < 10; ++round) {  // 20 rounds: column and diagonal pairs
        quarter(s, 0, 4, 8, 12);
        quarter(s, 1, 5, 9, 13);
        quarter(s, 2, 6, 10, 14);
        quarter(s, 3, 7, 11, 15);
        quarter(s, 0, 5, 10, 15);
        quarter(s, 1, 6, 11, 12);
        quarter(s, 2, 7, 8, 13);
        quarter(s, 3, 4, 9, 14);
    }
    for (int i = 0; i < 16; ++i) store_le(out + 4 * i, s[i] + input[i]);
}

void ChaChaRng::seed(const void* material, size_t length) {
    // Fold the material into the key 32 bytes at a time, stirring with one block each.
    const auto* bytes = static_cast<const uint8_t*>(material);
    while (length > 0) {
        uint8_t chunk[32] = {};
        size_t n = length < sizeof(chunk) ? length : sizeof(chunk);
        memcpy(chunk, bytes, n);
        for (int i = 0; i < 8; ++i) key_[i] ^= load_le(chunk + 4 * i);
        rekey();
        bytes += n;
        length -= n;
    }
    seeded_ = true;
}

void ChaChaRng::rekey() {
    uint8_t block[64];
    chacha20_block(key_, counter_++, nonce_, block);
    for (int i = 0; i < 8; ++i) key_[i] = load_le(block + 4 * i);
    memset(block, 0, sizeof(block));
}

void ChaChaRng::fill(void* buffer, size_t length) {
    auto* out = static_cast<uint8_t*>(buffer);
    uint8_t block[64];
    while (length > 0) {
        chacha20_block(key_, counter_, nonce_, block);
        if (++counter_ == 0) ++nonce_[0];  // 2^32 blocks: move to the next nonce
        size_t n = length < sizeof(block) ? length : sizeof(block);
        memcpy(out, block, n);
        out += n;
        length -= n;
    }
    rekey();
    memset(block, 0, sizeof(block));
}

}  // namespace mica::abi
