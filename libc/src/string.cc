// String and memory functions, exported to applications (MICA_EXPORT). Compiled with
// -fno-tree-loop-distribute-patterns so GCC does not turn these loops back into calls to
// themselves.
#include <mica/export.h>
#include <stdint.h>
#include <string.h>

extern "C" {

// Only aligned word accesses: aarch64 runs its boot code with the MMU off, where every access
// is to Device memory and an unaligned one faults. A misaligned source is read as aligned
// words and shifted into place (little-endian), so a copy is word-wise whatever the
// alignments; byte loops cost about 8 times the instructions (a 600 KB boot archive copied
// byte by byte took 30 ms under QEMU TCG). The last word read may extend past the source,
// but never into another page: it holds at least one source byte.
MICA_EXPORT void* memcpy(void* __restrict dst, const void* __restrict src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    while (n && (reinterpret_cast<uintptr_t>(d) & 7)) {
        *d++ = *s++;
        --n;
    }
    auto* dw = reinterpret_cast<uint64_t*>(d);
    size_t words = n / 8;
    unsigned misalign = reinterpret_cast<uintptr_t>(s) & 7;
    if (misalign == 0) {
        auto* sw = reinterpret_cast<const uint64_t*>(s);
        for (size_t i = 0; i < words; ++i) dw[i] = sw[i];
    } else if (words) {
        auto* sw = reinterpret_cast<const uint64_t*>(s - misalign);
        unsigned low = misalign * 8, high = 64 - low;
        uint64_t previous = sw[0];
        for (size_t i = 0; i < words; ++i) {
            uint64_t next = sw[i + 1];
            dw[i] = (previous >> low) | (next << high);
            previous = next;
        }
    }
    d += words * 8;
    s += words * 8;
    n -= words * 8;
    while (n--) *d++ = *s++;
    return dst;
}

MICA_EXPORT void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d == s || n == 0) return dst;
    // Forwards is safe when dst is below src: memcpy reads each word before it writes the
    // one that could overlap it.
    if (d < s || d >= s + n) return memcpy(dst, src, n);
    while (n--) d[n] = s[n];
    return dst;
}

MICA_EXPORT void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    uint64_t pattern = 0x0101010101010101ull * static_cast<unsigned char>(c);
    while (n && (reinterpret_cast<uintptr_t>(d) & 7)) {
        *d++ = static_cast<unsigned char>(c);
        --n;
    }
    for (; n >= 8; n -= 8, d += 8) *reinterpret_cast<uint64_t*>(d) = pattern;
    while (n--) *d++ = static_cast<unsigned char>(c);
    return dst;
}

MICA_EXPORT int memcmp(const void* a, const void* b, size_t n) {
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

MICA_EXPORT void* memchr(const void* s, int c, size_t n) {
    auto* p = static_cast<const unsigned char*>(s);
    for (size_t i = 0; i < n; ++i) {
        if (p[i] == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(p + i);
    }
    return nullptr;
}

MICA_EXPORT size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

MICA_EXPORT size_t strnlen(const char* s, size_t max) {
    size_t n = 0;
    while (n < max && s[n]) ++n;
    return n;
}

MICA_EXPORT int strcmp(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

MICA_EXPORT char* strcpy(char* __restrict dst, const char* __restrict src) {
    return static_cast<char*>(memcpy(dst, src, strlen(src) + 1));
}

MICA_EXPORT int strncmp(const char* a, const char* b, size_t n) {
    for (; n; --n, ++a, ++b) {
        if (*a != *b || !*a) return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
    }
    return 0;
}

MICA_EXPORT char* strchr(const char* s, int c) {
    for (;; ++s) {
        if (*s == static_cast<char>(c)) return const_cast<char*>(s);
        if (!*s) return nullptr;
    }
}

MICA_EXPORT char* strrchr(const char* s, int c) {
    const char* found = nullptr;
    for (;; ++s) {
        if (*s == static_cast<char>(c)) found = s;
        if (!*s) return const_cast<char*>(found);
    }
}

}  // extern "C"
