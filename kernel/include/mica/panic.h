// Fatal errors: print a reason, the registers (when a trap caused it) and a symbolized
// backtrace, then stop the machine with exit_status::panic.
#pragma once

#include <stdint.h>

namespace mica {

[[noreturn]] void panic(const char* format, ...) __attribute__((format(printf, 1, 2)));

// For trap handlers: `dump_registers` prints the trapped state, `pc`/`frame` start the
// backtrace at the faulting instruction rather than in the handler.
[[noreturn]] void panic_at(uintptr_t pc, uintptr_t frame, void (*dump_registers)(const void*),
                           const void* state, const char* format, ...)
    __attribute__((format(printf, 5, 6)));

}  // namespace mica

#define MICA_ASSERT(cond)                                                                     \
    do {                                                                                      \
        if (!(cond)) ::mica::panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
    } while (0)
