# Links the kernel in two passes so panics can print symbol names:
#   kernel.stage1.elf  (empty .ksyms)  → nm → ksyms.S → kernel.elf (same layout + symbols)
# and, with CONFIG_HIDE_SYMBOLS, derives the export version script from the first pass.
# Outputs: kernel.elf (symbols, for gdb), kernel-stripped.elf (what tools/run boots on
# x86_64), kernel.bin (the arm64 Image tools/run boots on aarch64), size-report.txt.
get_property(MICA_LIBS GLOBAL PROPERTY MICA_SUBSYSTEMS)
set(MICA_LINKER_SCRIPT ${PROJECT_SOURCE_DIR}/arch/${CONFIG_ARCH}/kernel.ld)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-libgcc-file-name
                OUTPUT_VARIABLE MICA_LIBGCC OUTPUT_STRIP_TRAILING_WHITESPACE)

set(MICA_LINK_FLAGS ${MICA_CODEGEN_FLAGS} -nostdlib -no-pie -Wl,-T,${MICA_LINKER_SCRIPT}
    -Wl,--export-dynamic -Wl,--no-dynamic-linker -Wl,-z,max-page-size=4096 -Wl,-z,norelro
    -Wl,--build-id=none -Wl,--hash-style=gnu -Wl,--undefined=${MICA_ENTRY_SYMBOL})
if(NOT CONFIG_BUILD_DEBUG)
  list(APPEND MICA_LINK_FLAGS -Wl,--gc-sections)
endif()

function(mica_kernel_executable target)
  cmake_parse_arguments(ARG "" "" "SOURCES;EXTRA_FLAGS;DEPENDS" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  # The libc is linked whole: its exported functions are the application ABI, needed whether
  # or not the kernel itself calls them.
  # So are the in-guest tests: they register themselves in a section nothing references.
  set(_whole $<TARGET_FILE:mica_libc>)
  if(CONFIG_GUEST_TESTS)
    list(APPEND _whole $<TARGET_FILE:mica_ktests>)
  endif()
  target_link_libraries(${target} PRIVATE mica_flags
                        -Wl,--whole-archive ${_whole} -Wl,--no-whole-archive
                        -Wl,--start-group ${MICA_LIBS} ${MICA_LIBGCC} -Wl,--end-group)
  add_dependencies(${target} mica_libc)
  if(CONFIG_GUEST_TESTS)
    add_dependencies(${target} mica_ktests)
  endif()
  target_link_options(${target} PRIVATE ${MICA_LINK_FLAGS} ${ARG_EXTRA_FLAGS})
  set_target_properties(${target} PROPERTIES LINK_DEPENDS "${MICA_LINKER_SCRIPT};${ARG_DEPENDS}"
                                             LINKER_LANGUAGE CXX)
endfunction()

# With CONFIG_HIDE_SYMBOLS the export list comes from an extra first link without a version
# script; the two passes below then both use it, since hiding symbols changes what LTO
# inlines and so the layout the symbol table must match.
set(_final_flags)
set(_final_deps)
if(CONFIG_HIDE_SYMBOLS)
  mica_kernel_executable(kernel.exports.elf SOURCES ${PROJECT_SOURCE_DIR}/kernel/core/ksyms-empty.S)
  set(_exports ${CMAKE_BINARY_DIR}/exports.map)
  add_custom_command(
    OUTPUT ${_exports}
    COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/gen-exports.py ${CMAKE_READELF} ${CMAKE_NM}
            $<TARGET_FILE:kernel.exports.elf> ${MICA_LIBGCC} ${_exports}
    DEPENDS kernel.exports.elf ${PROJECT_SOURCE_DIR}/tools/gen-exports.py
    COMMENT "Generating the export version script (CONFIG_HIDE_SYMBOLS)")
  add_custom_target(kernel-exports DEPENDS ${_exports})
  list(APPEND _final_flags -Wl,--version-script=${_exports})
  list(APPEND _final_deps ${_exports})
endif()

mica_kernel_executable(kernel.stage1.elf SOURCES ${PROJECT_SOURCE_DIR}/kernel/core/ksyms-empty.S
                       EXTRA_FLAGS ${_final_flags} DEPENDS "${_final_deps}")
if(CONFIG_HIDE_SYMBOLS)
  add_dependencies(kernel.stage1.elf kernel-exports)
endif()

add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/ksyms.S
  COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/gen-ksyms.py ${CMAKE_NM}
          $<TARGET_FILE:kernel.stage1.elf> ${CMAKE_BINARY_DIR}/ksyms.S
  DEPENDS kernel.stage1.elf ${PROJECT_SOURCE_DIR}/tools/gen-ksyms.py
  COMMENT "Generating the kernel symbol table")

mica_kernel_executable(kernel.elf SOURCES ${CMAKE_BINARY_DIR}/ksyms.S
                       EXTRA_FLAGS ${_final_flags} DEPENDS "${_final_deps}")
if(CONFIG_HIDE_SYMBOLS)
  add_dependencies(kernel.elf kernel-exports)
endif()

add_custom_command(
  TARGET kernel.elf POST_BUILD
  COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/gen-ksyms.py --verify ${CMAKE_NM}
          $<TARGET_FILE:kernel.stage1.elf> $<TARGET_FILE:kernel.elf>
  COMMAND ${CMAKE_OBJCOPY} --strip-debug $<TARGET_FILE:kernel.elf> ${CMAKE_BINARY_DIR}/kernel-stripped.elf
  COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:kernel.elf> ${CMAKE_BINARY_DIR}/kernel.bin
  COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/size-report.py ${CMAKE_READELF} ${CMAKE_NM}
          $<TARGET_FILE:kernel.elf> ${CMAKE_BINARY_DIR}/size-report.txt
  BYPRODUCTS ${CMAKE_BINARY_DIR}/kernel-stripped.elf ${CMAKE_BINARY_DIR}/kernel.bin
             ${CMAKE_BINARY_DIR}/size-report.txt
  COMMENT "Checking symbol layout, stripping, writing size-report.txt")
