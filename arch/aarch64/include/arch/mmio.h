// Device register access for drivers above arch/ (every architecture has this header, like
// traits.h). aarch64, as Linux's readl/writel: a store to a device register waits for earlier
// stores to memory the device reads (DMB OSHST: the ring before the doorbell), and a register
// read completes before later loads of memory the device wrote (DMB OSHLD).
#pragma once

#include <stdint.h>

namespace mica::arch::mmio {

template <typename T>
inline T read(const volatile void* address) {
    T v = *static_cast<const volatile T*>(address);
    asm volatile("dmb oshld" ::: "memory");
    return v;
}

template <typename T>
inline void write(volatile void* address, T value) {
    asm volatile("dmb oshst" ::: "memory");
    *static_cast<volatile T*>(address) = value;
}

}  // namespace mica::arch::mmio
