# mica_debian_package(<out_var> <package> <arch> [<version>]): Debian's binary package
# <package>:<arch> (=<version> when given), extracted with dpkg-deb -x (nothing is installed)
# at configure time through tools/apt-private, the project's private apt configuration (the
# machine's apt setup, dpkg's architectures included, is left alone). The tree lives in the
# cache outside git (cmake/debian-source.cmake's mica_cache_dir) under
# debs/<package>_<arch>[_<version>], is reused by every build directory, and is fetched once
# (a stamp says the extraction finished; a file lock serialises build directories configuring
# at the same time). Sets <out_var> to the tree, or to "" with
# <out_var>_ERROR saying why when the package cannot be fetched (no mirror, no such version).
include(${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake)  # mica_cache_dir

function(mica_debian_package out_var package arch)
  set(version "${ARGV3}")
  mica_cache_dir(cache)
  set(spec ${package}:${arch})
  set(name ${package}_${arch})
  if(version)
    set(spec "${spec}=${version}")
    string(REPLACE ":" "%3a" v "${version}")  # an epoch's colon, as apt names its .deb files
    set(name "${name}_${v}")
  endif()
  set(dir ${cache}/debs/${name})
  file(MAKE_DIRECTORY ${cache}/debs)
  file(LOCK ${dir}.lock GUARD FUNCTION TIMEOUT 900 RESULT_VARIABLE locked)
  if(NOT locked STREQUAL "0")
    message(FATAL_ERROR "${package}: cannot lock ${dir}.lock: ${locked}")
  endif()
  if(NOT EXISTS ${dir}/.mica-extracted)
    file(REMOVE_RECURSE ${dir})
    message(STATUS "modules: tools/apt-private extract ${spec} into ${dir}")
    execute_process(
      COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/apt-private --cache ${cache} extract -d ${dir} ${spec}
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    file(REMOVE_RECURSE ${dir}/debs)
    if(rc)
      file(REMOVE_RECURSE ${dir})
      string(STRIP "${out}" out)
      set(${out_var} "" PARENT_SCOPE)
      set(${out_var}_ERROR "tools/apt-private extract ${spec} failed: ${out}" PARENT_SCOPE)
      return()
    endif()
    file(WRITE ${dir}/.mica-extracted "${spec}\n")
  endif()
  set(${out_var} ${dir} PARENT_SCOPE)
endfunction()
