// The kernel's own symbol table, embedded at link time (tools/gen-ksyms.py, second link
// pass), so panics print function names without a debugger.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::ksyms {

struct Symbol {
    const char* name;  // nullptr when unknown
    uintptr_t offset;  // address - symbol start
};

Symbol lookup(uintptr_t address);
size_t count();

}  // namespace mica::ksyms
