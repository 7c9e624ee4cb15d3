# Shared by the toolchain files: a freestanding GCC for MICA_TARGET (x86_64 or aarch64),
# the host's own compiler when the host is that architecture, Debian's cross compiler
# (<arch>-linux-gnu-gcc) otherwise.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR ${MICA_TARGET})
if(CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "${MICA_TARGET_HOST_NAMES}")
  set(_prefix "")
else()
  set(_prefix "${MICA_TARGET}-linux-gnu-")
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
