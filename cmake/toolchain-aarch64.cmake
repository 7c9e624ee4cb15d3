# Toolchain for aarch64 kernels: Debian's cross GCC (gcc-aarch64-linux-gnu) on other hosts.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(_prefix "")
else()
  set(_prefix "aarch64-linux-gnu-")
endif()
set(CMAKE_C_COMPILER ${_prefix}gcc)
set(CMAKE_CXX_COMPILER ${_prefix}g++)
set(CMAKE_ASM_COMPILER ${_prefix}gcc)
set(CMAKE_AR ${_prefix}gcc-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${_prefix}gcc-ranlib CACHE FILEPATH "")
set(CMAKE_NM ${_prefix}nm CACHE FILEPATH "")
set(CMAKE_OBJCOPY ${_prefix}objcopy CACHE FILEPATH "")
set(CMAKE_READELF ${_prefix}readelf CACHE FILEPATH "")
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# No FP/SIMD state in the kernel (exceptions need not save it). -mstrict-align: the first
# C++ code runs with the MMU off, where every access is Device memory and unaligned ones fault.
set(MICA_ARCH_FLAGS -mgeneral-regs-only -mstrict-align -mcmodel=small -march=armv8-a)
set(MICA_ENTRY_SYMBOL _head)
