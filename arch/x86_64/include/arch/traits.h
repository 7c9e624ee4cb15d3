// Compile-time facts about x86_64 for arch-neutral code (every arch has this header, found
// through its own include directory).
#pragma once

#include <stdint.h>

namespace mica::arch::traits {
inline constexpr uintptr_t frame_alignment = 8;  // frame pointers are 8-byte aligned
inline constexpr uintptr_t call_adjust = 0;      // return addresses are printed as they are
}  // namespace mica::arch::traits
