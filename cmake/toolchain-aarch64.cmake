# Toolchain for aarch64 kernels (Debian's gcc-aarch64-linux-gnu on x86_64 hosts).
set(MICA_TARGET aarch64)
set(MICA_TARGET_HOST_NAMES "aarch64|arm64")
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)

# No FP/SIMD state in the kernel (exceptions need not save it). -mstrict-align: the first
# C++ code runs with the MMU off, where every access is Device memory and unaligned ones fault.
set(MICA_ARCH_FLAGS -mgeneral-regs-only -mstrict-align -mcmodel=small -march=armv8-a
    -mno-outline-atomics)  # inline LL/SC: libgcc's outlined atomics need getauxval()
set(MICA_ENTRY_SYMBOL _head)
