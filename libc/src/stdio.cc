// The C formatting entry points of the application ABI, on top of mica::fmt.
#include <mica/export.h>
#include <mica/format.h>
#include <stdio.h>

extern "C" {

MICA_EXPORT int vsnprintf(char* buffer, size_t size, const char* format, va_list args) {
    return mica::fmt::vsnprintf(buffer, size, format, args);
}

MICA_EXPORT int snprintf(char* buffer, size_t size, const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = mica::fmt::vsnprintf(buffer, size, format, args);
    va_end(args);
    return n;
}

}  // extern "C"
