# cmake -DBUSYBOX=<binary> -DAPPLETS=<busybox --list-full output> -DROOT=<dir> -P applet-links.cmake
# Lays out ROOT afresh: ROOT/bin/busybox (a copy of BUSYBOX, mode 0755) and, for every other
# path APPLETS lists (bin/sh, usr/bin/awk, ...), a symbolic link to /bin/busybox.
file(REMOVE_RECURSE ${ROOT})
file(MAKE_DIRECTORY ${ROOT}/bin)
file(COPY_FILE ${BUSYBOX} ${ROOT}/bin/busybox)
file(CHMOD ${ROOT}/bin/busybox PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
     GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
file(STRINGS ${APPLETS} applets)
list(LENGTH applets count)
if(count LESS 10)
  message(FATAL_ERROR "${APPLETS}: only ${count} applets (expected busybox --list-full's list)")
endif()
foreach(applet ${applets})
  if(applet STREQUAL "bin/busybox" OR NOT applet MATCHES "^[a-z0-9_./+-]+$" OR applet MATCHES "\\.\\.")
    continue()
  endif()
  get_filename_component(dir ${ROOT}/${applet} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  file(CREATE_LINK /bin/busybox ${ROOT}/${applet} SYMBOLIC)
endforeach()
