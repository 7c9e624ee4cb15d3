# Kconfig → CMake: turns <build>/.config into generated/config.cmake, generated/mica/config.h
# and generated/mica/driver-config.h (tools/kconfig.py rewrites each only when its content
# changes, so unchanged options rebuild nothing), and makes CMake re-run when .config or
# any Kconfig file changes. Included before project(): the architecture picks the toolchain.
set(MICA_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with Debian's kconfiglib")
set(MICA_DOTCONFIG ${CMAKE_BINARY_DIR}/.config)
set(MICA_GENERATED ${CMAKE_BINARY_DIR}/generated)
set(MICA_KCONFIG_TOOL ${CMAKE_CURRENT_LIST_DIR}/../tools/kconfig.py)

if(NOT EXISTS ${MICA_DOTCONFIG})
  message(STATUS "No .config in ${CMAKE_BINARY_DIR}: using configs/x86_64_defconfig")
  execute_process(
    COMMAND ${MICA_PYTHON} ${MICA_KCONFIG_TOOL} --config ${MICA_DOTCONFIG}
            defconfig ${CMAKE_CURRENT_LIST_DIR}/../configs/x86_64_defconfig
    RESULT_VARIABLE _rc)
  if(_rc)
    message(FATAL_ERROR "kconfig: could not create ${MICA_DOTCONFIG}")
  endif()
endif()

execute_process(
  COMMAND ${MICA_PYTHON} ${MICA_KCONFIG_TOOL} --config ${MICA_DOTCONFIG} genconfig ${MICA_GENERATED}
  RESULT_VARIABLE _rc)
if(_rc)
  message(FATAL_ERROR "kconfig: ${MICA_DOTCONFIG} could not be turned into build settings (see above)")
endif()
include(${MICA_GENERATED}/config.cmake)
file(STRINGS ${MICA_GENERATED}/kconfig-files.txt _kconfig_files)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${MICA_DOTCONFIG} ${_kconfig_files})
