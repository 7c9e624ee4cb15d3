# Configuration and run actions as build targets, Zephyr-style: `ninja menuconfig`,
# `ninja run`, ... inside a build directory. Editing .config re-runs CMake on the next build.
set(_kconfig ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/kconfig.py --config ${MICA_DOTCONFIG})
add_custom_target(menuconfig COMMAND ${_kconfig} menuconfig USES_TERMINAL
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_custom_target(olddefconfig COMMAND ${_kconfig} olddefconfig USES_TERMINAL)
add_custom_target(listnewconfig COMMAND ${_kconfig} listnewconfig USES_TERMINAL)
add_custom_target(savedefconfig COMMAND ${_kconfig} savedefconfig ${CMAKE_BINARY_DIR}/defconfig USES_TERMINAL)
add_custom_target(run COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/run -O ${CMAKE_BINARY_DIR}
                  DEPENDS kernel.elf USES_TERMINAL)
