// Compile-time facts about x86_64 for arch-neutral code (every arch has this header, found
// through its own include directory).
#pragma once

#include <stdint.h>

namespace mica::arch::traits {
inline constexpr uintptr_t frame_alignment = 8;  // frame pointers are 8-byte aligned
inline constexpr uintptr_t call_adjust = 0;      // return addresses are printed as they are
// Kernel virtual area for thread stacks (4 KiB pages, guard pages unmapped): PML4 slot 1,
// above any identity-mapped RAM (below 512 GiB).
inline constexpr uintptr_t stack_area_base = uintptr_t{512} << 30;
inline constexpr uintptr_t stack_area_size = uintptr_t{64} << 30;
}  // namespace mica::arch::traits
