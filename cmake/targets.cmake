# Configuration and run actions as build targets, Zephyr-style: `ninja menuconfig`,
# `ninja run`, ... inside a build directory. Editing .config re-runs CMake on the next build.
set(_kconfig ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/kconfig.py --config ${MICA_DOTCONFIG})
add_custom_target(menuconfig COMMAND ${_kconfig} menuconfig USES_TERMINAL
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_custom_target(olddefconfig COMMAND ${_kconfig} olddefconfig USES_TERMINAL)
add_custom_target(listnewconfig COMMAND ${_kconfig} listnewconfig USES_TERMINAL)
add_custom_target(savedefconfig COMMAND ${_kconfig} savedefconfig ${CMAKE_BINARY_DIR}/defconfig USES_TERMINAL)
# `ninja run` boots the hello module (modules/hello) when it could be built.
get_property(_run_app GLOBAL PROPERTY MICA_RUN_APP)
get_property(_run_app_targets GLOBAL PROPERTY MICA_RUN_APP_TARGETS)
set(_run_args -O ${CMAKE_BINARY_DIR})
if(_run_app)
  list(APPEND _run_args --app ${_run_app})
endif()
add_custom_target(run COMMAND ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/run ${_run_args}
                  DEPENDS kernel.elf ${_run_app_targets} USES_TERMINAL)
