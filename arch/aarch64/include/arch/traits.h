// Compile-time facts about aarch64 for arch-neutral code (every arch has this header, found
// through its own include directory).
#pragma once

#include <stdint.h>

namespace mica::arch::traits {
inline constexpr uintptr_t frame_alignment = 16;  // AAPCS64 keeps frame records 16-aligned
inline constexpr uintptr_t call_adjust = 4;       // show the BL, not the instruction after it
}  // namespace mica::arch::traits
