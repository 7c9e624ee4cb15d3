// Physical <-> kernel virtual addresses. All RAM is reachable at direct_map_base + physical
// (x86_64: the upper half; aarch64: 0, RAM is identity-mapped). The page allocator and the
// early allocator hand out direct-map addresses; the kernel image and low memory are also
// identity-mapped, so virt_to_phys accepts both kinds.
#pragma once

#include <arch/traits.h>
#include <stdint.h>

namespace mica::mm {

inline void* phys_to_virt(uintptr_t pa) { return reinterpret_cast<void*>(pa + arch::traits::direct_map_base); }

inline uintptr_t virt_to_phys(const void* p) {
    auto va = reinterpret_cast<uintptr_t>(p);
    return va >= arch::traits::direct_map_base ? va - arch::traits::direct_map_base : va;
}

}  // namespace mica::mm
