# Shared compile settings and the helper every subsystem uses to declare its library.

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
                OUTPUT_VARIABLE MICA_GCC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)

# Flags for compiling and (because LTO generates code at link time) for linking.
set(MICA_CODEGEN_FLAGS ${MICA_ARCH_FLAGS} -ffreestanding -fno-stack-protector -fno-pic -fno-pie
    -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns)
if(CONFIG_BUILD_DEBUG)
  list(APPEND MICA_CODEGEN_FLAGS -Og -g3)
else()
  list(APPEND MICA_CODEGEN_FLAGS -O2 -g -ffunction-sections -fdata-sections)
endif()
if(CONFIG_LTO)
  list(APPEND MICA_CODEGEN_FLAGS -flto=auto)
endif()

add_library(mica_flags INTERFACE)
target_include_directories(mica_flags INTERFACE
  ${MICA_GENERATED}
  ${CMAKE_BINARY_DIR}/include
  ${PROJECT_SOURCE_DIR}/libc/include
  ${PROJECT_SOURCE_DIR}/libc/c-headers
  ${PROJECT_SOURCE_DIR}/kernel/include
  ${PROJECT_SOURCE_DIR}/arch/include
  ${PROJECT_SOURCE_DIR}/arch/${CONFIG_ARCH}/include
  ${PROJECT_SOURCE_DIR}/drivers/include)
target_compile_options(mica_flags INTERFACE
  ${MICA_CODEGEN_FLAGS} -nostdinc -isystem ${MICA_GCC_INCLUDE}
  -Wall -Wextra -Wundef -Wno-unused-parameter
  $<$<COMPILE_LANGUAGE:CXX>:-std=c++20 -fno-exceptions -fno-rtti -fno-threadsafe-statics -nostdinc++>)
if(CONFIG_HIDE_SYMBOLS)
  target_compile_options(mica_flags INTERFACE -fvisibility=hidden
                         $<$<COMPILE_LANGUAGE:CXX>:-fvisibility-inlines-hidden>)
endif()

# mica_add_subsystem(<name> SOURCES ... [DEPENDS ...]) → static library mica_<name>.
function(mica_add_subsystem name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(mica_${name} STATIC ${ARG_SOURCES})
  target_link_libraries(mica_${name} PUBLIC mica_flags ${ARG_DEPENDS})
  set_property(GLOBAL APPEND PROPERTY MICA_SUBSYSTEMS mica_${name})
endfunction()
