// aarch64 helpers shared by the arch/aarch64 files.
#pragma once

#include <stdint.h>

#define MICA_READ_SYSREG(name)                                \
    ({                                                        \
        uint64_t value_;                                      \
        asm volatile("mrs %0, " #name : "=r"(value_));        \
        value_;                                               \
    })
#define MICA_WRITE_SYSREG(name, value) asm volatile("msr " #name ", %0" ::"r"(uint64_t(value)) : "memory")

namespace mica::aarch64 {

// Saved by vectors.S, lowest address first (the layout is part of vectors.S).
struct TrapFrame {
    uint64_t x[31];
    uint64_t sp;    // the interrupted code's stack pointer (SP_EL0)
    uint64_t elr;   // where the exception happened; changed by fix-ups to resume elsewhere
    uint64_t spsr;
    uint64_t esr;
    uint64_t far;
};
static_assert(sizeof(TrapFrame) == 288);

}  // namespace mica::aarch64

namespace mica::arch {
// At a signal delivery point (arch.h): the full register set.
struct UserRegs : aarch64::TrapFrame {};
}  // namespace mica::arch

namespace mica::aarch64 {

inline void isb() { asm volatile("isb" ::: "memory"); }

}  // namespace mica::aarch64

namespace mica::arch {
// Floating point/SIMD for application code (CPACR_EL1.FPEN), on each CPU (app.cc).
void app_cpu_init();
}  // namespace mica::arch
