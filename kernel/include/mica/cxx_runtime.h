#pragma once

namespace mica {
// Runs the .init_array entries (C++ global constructors) once, early in kernel_main.
void run_global_constructors();
}  // namespace mica

// Placement new, normally from <new> (not available: the kernel builds with -nostdinc).
inline void* operator new(__SIZE_TYPE__, void* where) noexcept { return where; }
