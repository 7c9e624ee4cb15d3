#pragma once

#include <new>  // placement new (libstdc++ header-only; see libc/cxx-support/README.md)

namespace mica {
// Runs the .init_array entries (C++ global constructors) once, early in kernel_main.
void run_global_constructors();
}  // namespace mica

