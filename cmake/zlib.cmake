# zlib from Debian's `zlib` source package (cmake/debian-source.cmake: fetched at configure
# time into the cache outside git, never committed), for the squashfs reader
# (CONFIG_FS_SQUASHFS): fs/CMakeLists.txt compiles only inflate's files.
#
# Sets MICA_ZLIB_SOURCE: the unpacked tree (zlib.h, inflate.c, ...).
include(${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake)
set(MICA_ZLIB_VERSION 1:1.2.13.dfsg-1)
set(MICA_ZLIB_DSC_SHA256 3fa1e6b2fc525062aa88207dda52fed8e045373c809d362fe8a2bfbf7cf515a8)
mica_debian_source(zlib zlib ${MICA_ZLIB_VERSION} ${MICA_ZLIB_DSC_SHA256} inflate.c MICA_ZLIB_SOURCE)
