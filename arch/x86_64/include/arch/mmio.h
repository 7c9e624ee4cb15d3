// Device register access for drivers above arch/ (every architecture has this header, like
// traits.h). x86: uncached mappings are strongly ordered and stores are not reordered with
// earlier stores, so a compiler barrier is all that orders ring updates in RAM before a
// doorbell write, and a device register read before what follows.
#pragma once

#include <stdint.h>

namespace mica::arch::mmio {

template <typename T>
inline T read(const volatile void* address) {
    T v = *static_cast<const volatile T*>(address);
    asm volatile("" ::: "memory");
    return v;
}

template <typename T>
inline void write(volatile void* address, T value) {
    asm volatile("" ::: "memory");
    *static_cast<volatile T*>(address) = value;
}

}  // namespace mica::arch::mmio
