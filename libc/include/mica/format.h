// printf-style formatting shared by the kernel console, snprintf and the host tools' tests.
// Supports flags (-+ #0), width, precision ('*' too), length modifiers hh h l ll z j t and
// conversions d i u o x X c s p %. No floating point: the kernel is built without SSE.
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace mica::fmt {

// Receives formatted output piece by piece; `context` is the caller's state.
using Sink = void (*)(void* context, const char* text, size_t length);

// Formats into `sink`; returns the number of characters produced.
int vformat(Sink sink, void* context, const char* format, va_list args);

// Like C's vsnprintf: writes at most size-1 characters plus NUL, returns the full length.
int vsnprintf(char* buffer, size_t size, const char* format, va_list args);
int snprintf(char* buffer, size_t size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace mica::fmt
