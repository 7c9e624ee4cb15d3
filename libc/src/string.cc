// String and memory functions, exported to applications (MICA_EXPORT). Compiled with
// -fno-tree-loop-distribute-patterns so GCC does not turn these loops back into calls to
// themselves.
#include <mica/export.h>
#include <stdint.h>
#include <string.h>

extern "C" {

MICA_EXPORT void* memcpy(void* __restrict dst, const void* __restrict src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    // Word copies when both pointers share alignment: most kernel copies are aligned.
    if (((reinterpret_cast<uintptr_t>(d) ^ reinterpret_cast<uintptr_t>(s)) & 7) == 0) {
        while (n && (reinterpret_cast<uintptr_t>(d) & 7)) {
            *d++ = *s++;
            --n;
        }
        for (; n >= 8; n -= 8, d += 8, s += 8) {
            *reinterpret_cast<uint64_t*>(d) = *reinterpret_cast<const uint64_t*>(s);
        }
    }
    while (n--) *d++ = *s++;
    return dst;
}

MICA_EXPORT void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d == s || n == 0) return dst;
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
