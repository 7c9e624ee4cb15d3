// Compile-time facts about aarch64 for arch-neutral code (every arch has this header, found
// through its own include directory).
#pragma once

#include <stdint.h>

namespace mica::arch::traits {
inline constexpr uintptr_t frame_alignment = 16;  // AAPCS64 keeps frame records 16-aligned
inline constexpr uintptr_t call_adjust = 4;       // show the BL, not the instruction after it
// Kernel virtual area for thread stacks (4 KiB pages, guard pages unmapped): level-1 slot
// 256 of the 39-bit address space, far above QEMU virt's RAM at 1 GiB.
inline constexpr uintptr_t stack_area_base = uintptr_t{256} << 30;
inline constexpr uintptr_t stack_area_size = uintptr_t{64} << 30;
}  // namespace mica::arch::traits
