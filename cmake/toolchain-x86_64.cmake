# Toolchain for x86_64 kernels: the host GCC on x86_64 hosts, the cross GCC elsewhere.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

if(CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_prefix "")
else()
  set(_prefix "x86_64-linux-gnu-")
endif()
set(CMAKE_C_COMPILER ${_prefix}gcc)
set(CMAKE_CXX_COMPILER ${_prefix}g++)
set(CMAKE_ASM_COMPILER ${_prefix}gcc)
# gcc-ar/gcc-ranlib understand LTO objects (CONFIG_LTO); harmless otherwise.
set(CMAKE_AR ${_prefix}gcc-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${_prefix}gcc-ranlib CACHE FILEPATH "")
set(CMAKE_NM ${_prefix}nm CACHE FILEPATH "")
set(CMAKE_OBJCOPY ${_prefix}objcopy CACHE FILEPATH "")
set(CMAKE_READELF ${_prefix}readelf CACHE FILEPATH "")
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Kernel code never touches SSE/AVX/x87 state, so interrupts need not save it; no red zone
# because kernel code can be interrupted on its own stack by exceptions (IST covers apps).
set(MICA_ARCH_FLAGS -mgeneral-regs-only -mno-red-zone -mcmodel=small -march=x86-64)
set(MICA_ENTRY_SYMBOL pvh_start32)
