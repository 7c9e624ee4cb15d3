// <stdlib.h>'s conversions the kernel needs (lwIP's netif_find parses an interface number with
// atoi). Kernel-internal: not exported to applications, whose libc has its own.
#include <stdlib.h>

extern "C" {

// C's atoi: optional blanks, an optional sign, decimal digits; stops at the first non-digit.
// Overflow is undefined in C; here it wraps instead of trapping.
int atoi(const char* s) {
    while (*s == ' ' || (*s >= '\t' && *s <= '\r')) ++s;
    bool negative = *s == '-';
    if (*s == '-' || *s == '+') ++s;
    unsigned value = 0;
    while (*s >= '0' && *s <= '9') value = value * 10 + static_cast<unsigned>(*s++ - '0');
    return static_cast<int>(negative ? 0u - value : value);
}

}  // extern "C"
