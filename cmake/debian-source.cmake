# Third-party sources the kernel compiles (lwIP, zlib) come from Debian's source packages,
# fetched at configure time and never committed: mica_debian_source() is the one way to get one.
#
# tools/apt-private downloads the pinned source package through a private apt configuration
# (the machine's apt setup is left alone), checks the .dsc's SHA-256 against the pin, and
# dpkg-source verifies and unpacks it with Debian's patches applied. The unpacked tree lives
# in the cache outside git ($MICA_CACHE, else $XDG_CACHE_HOME/mica, else ~/.cache/mica: the
# same default as tools/apt-private) and is reused by every build directory; a stamp holding
# the pin says the unpack finished. A file lock serialises build directories configuring at
# the same time (make check configures twelve).
#
#   mica_debian_source(<label> <package> <version> <dsc-sha256> <file that must exist> <out-var>)
#
# Sets <out-var> to the unpacked tree (<cache>/<package>-<version without epoch>/src).

# mica_cache_dir(<out-var>): the cache outside git every fetch shares ($MICA_CACHE, else
# $XDG_CACHE_HOME/mica, else ~/.cache/mica: tools/apt-private's default too), absolute.
function(mica_cache_dir out_var)
  if(NOT "$ENV{MICA_CACHE}" STREQUAL "")
    set(cache "$ENV{MICA_CACHE}")
  elseif(NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
    set(cache "$ENV{XDG_CACHE_HOME}/mica")
  else()
    set(cache "$ENV{HOME}/.cache/mica")
  endif()
  get_filename_component(cache "${cache}" ABSOLUTE)
  set(${out_var} ${cache} PARENT_SCOPE)
endfunction()

function(mica_debian_source label package version sha256 check_file out_var)
  mica_cache_dir(cache)
  string(REGEX REPLACE "^[0-9]+:" "" upstream ${version})  # the epoch stays out of the name
  set(dir ${cache}/${package}-${upstream})
  set(stamp ${dir}/unpacked.stamp)
  set(source ${dir}/src)

  file(MAKE_DIRECTORY ${cache})
  file(LOCK ${dir}.lock GUARD FUNCTION TIMEOUT 900 RESULT_VARIABLE locked)
  if(NOT locked STREQUAL "0")
    message(FATAL_ERROR "${label}: cannot lock ${dir}.lock: ${locked}")
  endif()
  set(have "")
  if(EXISTS ${stamp})
    file(READ ${stamp} have)
    string(STRIP "${have}" have)
  endif()
  if(NOT have STREQUAL "${sha256}" OR NOT EXISTS ${source}/${check_file})
    find_program(MICA_DPKG_SOURCE dpkg-source)
    if(NOT MICA_DPKG_SOURCE)
      message(FATAL_ERROR "${label}: dpkg-source is missing (Debian's dpkg-dev package): run tools/install-deps")
    endif()
    message(STATUS "${label}: fetching Debian's source package ${package}=${version} into ${dir}")
    file(REMOVE ${stamp})
    execute_process(
      COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/apt-private --cache ${cache}
              source -d ${dir} ${package}=${version} --dsc-sha256 ${sha256}
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(rc OR NOT EXISTS ${source}/${check_file})
      message(FATAL_ERROR "${label}: could not fetch Debian's source package ${package}=${version} "
        "(tools/apt-private source -d ${dir} ...; it needs the Debian mirrors once, then the "
        "cache is reused):\n${out}")
    endif()
    file(WRITE ${stamp} "${sha256}\n")
  endif()
  set(${out_var} ${source} PARENT_SCOPE)
endfunction()
