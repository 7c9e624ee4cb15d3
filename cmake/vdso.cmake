# The vDSO image of one architecture (docs/architecture.md "vDSO"), shared by the kernel build
# (libc/linux/CMakeLists.txt embeds it) and the host tests (tests/unit check the same image).
#
#   mica_vdso_image(<arch> <c++ compiler for arch> <output>)
#
# Links arch/<arch>/vdso/ with libc/linux/vdso/calls.h into <output>, a shared object in
# Linux's vDSO layout (the arch's vdso.lds): position-independent, no libraries, no stack
# protector (it runs on the application's stack before any canary exists), general registers
# only, hidden everything but the versioned exports, both hash tables (musl reads DT_HASH,
# glibc prefers DT_GNU_HASH), unwind tables, and stripped of symbols but not of section
# headers (as Linux's: debuggers read those from memory).
set(MICA_VDSO_FLAGS -std=c++20 -O2 -fPIC -shared -nostdlib -nostdinc -ffreestanding -fno-stack-protector
    -fno-exceptions -fno-rtti -fvisibility=hidden -fasynchronous-unwind-tables -mgeneral-regs-only -fno-plt
    -Wall -Wextra -Werror
    -Wl,-soname=linux-vdso.so.1 -Wl,--hash-style=both -Wl,--eh-frame-hdr -Wl,-Bsymbolic -Wl,--no-undefined
    -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--build-id=sha1 -Wl,--strip-all)

function(mica_vdso_image arch compiler output)
  set(root ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/..)
  get_filename_component(root ${root} ABSOLUTE)
  set(dir ${root}/arch/${arch}/vdso)
  set(sources ${dir}/vdso.cc)
  if(EXISTS ${dir}/sigreturn.S)
    list(APPEND sources ${dir}/sigreturn.S)
  endif()
  # The compiler's own freestanding headers (stdint.h), nothing from a C library.
  execute_process(COMMAND ${compiler} -print-file-name=include
                  OUTPUT_VARIABLE gcc_include OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_filename_component(out_dir ${output} DIRECTORY)
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${compiler} ${MICA_VDSO_FLAGS} -isystem ${gcc_include} -I${root}/kernel/include -I${root}/libc/linux
            -Wl,-T,${dir}/vdso.lds -o ${output} ${sources}
    DEPENDS ${sources} ${dir}/vdso.lds ${root}/kernel/include/mica/clock_data.h ${root}/libc/linux/vdso/calls.h
            ${root}/cmake/vdso.cmake
    COMMENT "Linking the ${arch} vDSO" VERBATIM)
endfunction()
