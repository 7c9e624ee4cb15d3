# Shared compile settings and the helper every subsystem uses to declare its library.

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
                OUTPUT_VARIABLE MICA_GCC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)
# Header-only C++ (libstdc++ templates, Boost.Intrusive; see libc/cxx-support/README.md): the
# target compiler's libstdc++ include directories, and Boost alone out of the host's /usr/include.
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -xc++ -E -v /dev/null
                OUTPUT_QUIET ERROR_VARIABLE _cxx_search)
string(REGEX MATCH "#include <...> search starts here:\n(.*)End of search list" _cxx_search "${_cxx_search}")
string(REGEX MATCHALL "[^ \n]+/c\\+\\+/[^ \n]+" MICA_LIBSTDCXX_INCLUDES "${CMAKE_MATCH_1}")
if(NOT MICA_LIBSTDCXX_INCLUDES)
  message(FATAL_ERROR "cannot find libstdc++ headers for ${CMAKE_CXX_COMPILER} (is g++ installed?)")
endif()
if(NOT EXISTS /usr/include/boost/intrusive/set.hpp)
  message(FATAL_ERROR "Boost.Intrusive headers missing: run tools/install-deps (libboost-dev)")
endif()
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/boost-include)
file(CREATE_LINK /usr/include/boost ${CMAKE_BINARY_DIR}/boost-include/boost SYMBOLIC)
set(_cxx_system_includes)
foreach(dir ${MICA_LIBSTDCXX_INCLUDES} ${CMAKE_BINARY_DIR}/boost-include)
  list(APPEND _cxx_system_includes $<$<COMPILE_LANGUAGE:CXX>:-isystem${dir}>)
endforeach()

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
  ${MICA_CODEGEN_FLAGS} -nostdinc ${_cxx_system_includes} -isystem ${MICA_GCC_INCLUDE}
  -idirafter ${PROJECT_SOURCE_DIR}/libc/cxx-support
  $<$<COMPILE_LANGUAGE:CXX>:-DBOOST_USER_CONFIG="boost-user.hpp">
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
