# zlib from Debian's `zlib` source package, fetched at configure time (never committed), for
# the squashfs reader (CONFIG_FS_SQUASHFS): fs/CMakeLists.txt compiles only inflate's files.
#
# tools/apt-private downloads the pinned source package through a private apt configuration
# (the machine's apt setup is left alone), checks the .dsc's SHA-256 against the pin, and
# dpkg-source verifies and unpacks it with Debian's patches applied. The unpacked tree lives
# in the cache outside git ($MICA_CACHE, else $XDG_CACHE_HOME/mica, else ~/.cache/mica: the
# same default as tools/apt-private) and is reused by every build directory; a stamp holding
# the pin says the unpack finished. A file lock serialises build directories configuring at
# the same time (make check configures twelve).
#
# Sets MICA_ZLIB_SOURCE: the unpacked tree (zlib.h, inflate.c, ...).
set(MICA_ZLIB_VERSION 1:1.2.13.dfsg-1)
set(MICA_ZLIB_DSC_SHA256 3fa1e6b2fc525062aa88207dda52fed8e045373c809d362fe8a2bfbf7cf515a8)

if(NOT "$ENV{MICA_CACHE}" STREQUAL "")
  set(_cache "$ENV{MICA_CACHE}")
elseif(NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_cache "$ENV{XDG_CACHE_HOME}/mica")
else()
  set(_cache "$ENV{HOME}/.cache/mica")
endif()
get_filename_component(_cache "${_cache}" ABSOLUTE)
# The epoch (1:) stays out of the directory name.
string(REGEX REPLACE "^[0-9]+:" "" _upstream ${MICA_ZLIB_VERSION})
set(_dir ${_cache}/zlib-${_upstream})
set(_stamp ${_dir}/unpacked.stamp)
set(MICA_ZLIB_SOURCE ${_dir}/src)

file(MAKE_DIRECTORY ${_cache})
file(LOCK ${_dir}.lock GUARD FILE TIMEOUT 900 RESULT_VARIABLE _locked)
if(NOT _locked STREQUAL "0")
  message(FATAL_ERROR "zlib: cannot lock ${_dir}.lock: ${_locked}")
endif()
set(_have "")
if(EXISTS ${_stamp})
  file(READ ${_stamp} _have)
  string(STRIP "${_have}" _have)
endif()
if(NOT _have STREQUAL "${MICA_ZLIB_DSC_SHA256}" OR NOT EXISTS ${MICA_ZLIB_SOURCE}/inflate.c)
  find_program(MICA_DPKG_SOURCE dpkg-source)
  if(NOT MICA_DPKG_SOURCE)
    message(FATAL_ERROR "zlib: dpkg-source is missing (Debian's dpkg-dev package): run tools/install-deps")
  endif()
  message(STATUS "zlib: fetching Debian's source package zlib=${MICA_ZLIB_VERSION} into ${_dir}")
  file(REMOVE ${_stamp})
  execute_process(
    COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/apt-private --cache ${_cache}
            source -d ${_dir} zlib=${MICA_ZLIB_VERSION} --dsc-sha256 ${MICA_ZLIB_DSC_SHA256}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  if(_rc OR NOT EXISTS ${MICA_ZLIB_SOURCE}/inflate.c)
    file(LOCK ${_dir}.lock RELEASE)
    message(FATAL_ERROR "zlib: could not fetch Debian's source package zlib=${MICA_ZLIB_VERSION} "
      "(tools/apt-private source -d ${_dir} ...; it needs the Debian mirrors once, then the "
      "cache is reused):\n${_out}")
  endif()
  file(WRITE ${_stamp} "${MICA_ZLIB_DSC_SHA256}\n")
endif()
file(LOCK ${_dir}.lock RELEASE)
