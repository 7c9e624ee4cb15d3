# lwIP from Debian's `lwip` source package (cmake/debian-source.cmake: fetched at configure
# time into the cache outside git, never committed), for the network stack (CONFIG_NET).
#
# Sets MICA_LWIP_SOURCE: the unpacked tree (src/include, src/core, ...).
include(${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake)
set(MICA_LWIP_VERSION 2.1.3+dfsg1-2)
set(MICA_LWIP_DSC_SHA256 8d8f944db8e6d542fc2d6f01559078fb1b5dda71651c67ee5fa3571ed1342c50)
mica_debian_source(lwIP lwip ${MICA_LWIP_VERSION} ${MICA_LWIP_DSC_SHA256} src/core/tcp.c MICA_LWIP_SOURCE)
