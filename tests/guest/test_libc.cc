// The kernel's memcpy/memmove/memset at every alignment and length up to 80 bytes (and a
// long one), checked byte by byte against what they must produce.
#include <mica/ktest.h>
#include <string.h>

namespace {
unsigned char source[256], target[256], expected[256];

void fill(unsigned char* p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(seed * 31 + i * 7 + 1);
}
}  // namespace

KTEST(libc, memcpy_every_alignment) {
    int bad = 0;
    for (size_t so = 0; so < 8; ++so) {
        for (size_t doff = 0; doff < 8; ++doff) {
            for (size_t n = 0; n <= 80; ++n) {
                fill(source, sizeof source, static_cast<unsigned>(so + n));
                memset(target, 0xee, sizeof target);
                memcpy(target + doff, source + so, n);
                for (size_t i = 0; i < sizeof target; ++i) {
                    unsigned char want = i >= doff && i < doff + n ? source[so + i - doff] : 0xee;
                    bad += target[i] != want;
                }
            }
        }
    }
    KEXPECT_EQ(bad, 0);
}

KTEST(libc, memmove_overlapping_both_ways) {
    int bad = 0;
    for (size_t from = 0; from < 24; ++from) {
        for (size_t to = 0; to < 24; ++to) {
            for (size_t n = 0; n <= 100; n += 3) {
                fill(target, sizeof target, static_cast<unsigned>(n));
                memcpy(expected, target, sizeof target);
                for (size_t i = 0; i < n; ++i) source[i] = expected[from + i];  // what must land
                for (size_t i = 0; i < n; ++i) expected[to + i] = source[i];
                memmove(target + to, target + from, n);
                bad += memcmp(target, expected, sizeof target) != 0;
            }
        }
    }
    KEXPECT_EQ(bad, 0);
}

KTEST(libc, memset_every_alignment) {
    int bad = 0;
    for (size_t off = 0; off < 8; ++off) {
        for (size_t n = 0; n <= 80; ++n) {
            memset(target, 0x11, sizeof target);
            memset(target + off, 0xa5, n);
            for (size_t i = 0; i < sizeof target; ++i) bad += target[i] != (i >= off && i < off + n ? 0xa5 : 0x11);
        }
    }
    KEXPECT_EQ(bad, 0);
}
