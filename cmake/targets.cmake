# Configuration and run actions as build targets, Zephyr-style: `ninja menuconfig`,
# `ninja run`, ... inside a build directory. Editing .config re-runs CMake on the next build.
set(_kconfig ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/kconfig.py --config ${MICA_DOTCONFIG})
add_custom_target(menuconfig COMMAND ${_kconfig} menuconfig USES_TERMINAL
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_custom_target(olddefconfig COMMAND ${_kconfig} olddefconfig USES_TERMINAL)
add_custom_target(listnewconfig COMMAND ${_kconfig} listnewconfig USES_TERMINAL)
add_custom_target(savedefconfig COMMAND ${_kconfig} savedefconfig ${CMAKE_BINARY_DIR}/defconfig USES_TERMINAL)
# `ninja image` writes mica.img (squashfs) from the enabled modules (tools/mkimage, docs/modules.md);
# `ninja run` builds the image and boots it: from disk (tools/run --root) when the configuration
# can mount it (CONFIG_FS_SQUASHFS and CONFIG_DRIVER_VIRTIO_BLK), else the same files as the boot
# archive mica.cpio with the default command line (tools/mkimage --boot decides).
get_property(_module_targets GLOBAL PROPERTY MICA_MODULE_TARGETS)
set(_mkimage ${MICA_PYTHON} ${PROJECT_SOURCE_DIR}/tools/mkimage -O ${CMAKE_BINARY_DIR})
add_custom_target(image COMMAND ${_mkimage} DEPENDS ${_module_targets}
                  BYPRODUCTS ${CMAKE_BINARY_DIR}/mica.img ${CMAKE_BINARY_DIR}/mica.img.list
                  COMMENT "tools/mkimage: ${CMAKE_BINARY_DIR}/mica.img" VERBATIM)
add_custom_target(run COMMAND ${_mkimage} --boot DEPENDS kernel.elf ${_module_targets} USES_TERMINAL)
