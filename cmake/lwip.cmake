# lwIP from Debian's `lwip` source package, fetched at configure time (never committed).
#
# tools/apt-private downloads the pinned source package through a private apt configuration
# (the machine's apt setup is left alone), checks the .dsc's SHA-256 against the pin, and
# dpkg-source verifies and unpacks it with Debian's patches applied. The unpacked tree lives
# in the cache outside git ($MICA_CACHE, else $XDG_CACHE_HOME/mica, else ~/.cache/mica: the
# same default as tools/apt-private) and is reused by every build directory; a stamp holding
# the pin says the unpack finished. A file lock serialises build directories configuring at
# the same time (make check configures twelve).
#
# Sets MICA_LWIP_SOURCE: the unpacked tree (src/include, src/core, ...).
set(MICA_LWIP_VERSION 2.1.3+dfsg1-2)
set(MICA_LWIP_DSC_SHA256 8d8f944db8e6d542fc2d6f01559078fb1b5dda71651c67ee5fa3571ed1342c50)

if(NOT "$ENV{MICA_CACHE}" STREQUAL "")
  set(_cache "$ENV{MICA_CACHE}")
elseif(NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_cache "$ENV{XDG_CACHE_HOME}/mica")
else()
  set(_cache "$ENV{HOME}/.cache/mica")
endif()
get_filename_component(_cache "${_cache}" ABSOLUTE)
set(_dir ${_cache}/lwip-${MICA_LWIP_VERSION})
set(_stamp ${_dir}/unpacked.stamp)
set(MICA_LWIP_SOURCE ${_dir}/src)

file(MAKE_DIRECTORY ${_cache})
file(LOCK ${_dir}.lock GUARD FILE TIMEOUT 900 RESULT_VARIABLE _locked)
if(NOT _locked STREQUAL "0")
  message(FATAL_ERROR "lwIP: cannot lock ${_dir}.lock: ${_locked}")
endif()
set(_have "")
if(EXISTS ${_stamp})
  file(READ ${_stamp} _have)
  string(STRIP "${_have}" _have)
endif()
if(NOT _have STREQUAL "${MICA_LWIP_DSC_SHA256}" OR NOT EXISTS ${MICA_LWIP_SOURCE}/src/core/tcp.c)
  find_program(MICA_DPKG_SOURCE dpkg-source)
  if(NOT MICA_DPKG_SOURCE)
    message(FATAL_ERROR "lwIP: dpkg-source is missing (Debian's dpkg-dev package): run tools/install-deps")
  endif()
  message(STATUS "lwIP: fetching Debian's source package lwip=${MICA_LWIP_VERSION} into ${_dir}")
  file(REMOVE ${_stamp})
  execute_process(
    COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/apt-private --cache ${_cache}
            source -d ${_dir} lwip=${MICA_LWIP_VERSION} --dsc-sha256 ${MICA_LWIP_DSC_SHA256}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  if(_rc OR NOT EXISTS ${MICA_LWIP_SOURCE}/src/core/tcp.c)
    file(LOCK ${_dir}.lock RELEASE)
    message(FATAL_ERROR "lwIP: could not fetch Debian's source package lwip=${MICA_LWIP_VERSION} "
      "(tools/apt-private source -d ${_dir} ...; it needs the Debian mirrors once, then the "
      "cache is reused):\n${_out}")
  endif()
  file(WRITE ${_stamp} "${MICA_LWIP_DSC_SHA256}\n")
endif()
file(LOCK ${_dir}.lock RELEASE)
