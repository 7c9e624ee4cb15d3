# Checks on build outputs (label "build"): they prove the configuration switches change the
# kernel that comes out, not just the compiler flags. Each needs two of the defconfigs.
set(_check ${MICA_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_build.py)
function(mica_build_test name)
  string(REGEX REPLACE "\\..*" "" check ${name})  # size-report.<cfg> runs the size-report check
  add_test(NAME build.${name} COMMAND ${_check} ${check} ${ARGN})
  set_tests_properties(build.${name} PROPERTIES LABELS build TIMEOUT 60)
endfunction()
foreach(arch x86_64 aarch64)
  if("${arch}" IN_LIST MICA_CHECK_CONFIGS AND "${arch}_small" IN_LIST MICA_CHECK_CONFIGS)
    mica_build_test(hide-symbols.${arch} ${MICA_CHECK_DIR}/${arch}_small ${MICA_CHECK_DIR}/${arch})
    mica_build_test(lto.${arch} ${MICA_CHECK_DIR}/${arch}_small ${MICA_CHECK_DIR}/${arch})
  endif()
endforeach()
if("x86_64" IN_LIST MICA_CHECK_CONFIGS AND "microvm" IN_LIST MICA_CHECK_CONFIGS)
  mica_build_test(driver-profile.x86_64 ${MICA_CHECK_DIR}/microvm ${MICA_CHECK_DIR}/x86_64 pci)
endif()
if("x86_64" IN_LIST MICA_CHECK_CONFIGS AND "microvm" IN_LIST MICA_CHECK_CONFIGS)
  # virtio-mmio only where the profile has it (microvm), the I/O APIC not in minimal.
  mica_build_test(driver-profile.x86_64-virtio-mmio ${MICA_CHECK_DIR}/x86_64 ${MICA_CHECK_DIR}/microvm virtio_mmio)
endif()
if("x86_64" IN_LIST MICA_CHECK_CONFIGS AND "x86_64_minimal" IN_LIST MICA_CHECK_CONFIGS)
  mica_build_test(driver-profile.x86_64-ioapic ${MICA_CHECK_DIR}/x86_64_minimal ${MICA_CHECK_DIR}/x86_64 ioapic)
endif()
if("aarch64" IN_LIST MICA_CHECK_CONFIGS AND "aarch64_minimal" IN_LIST MICA_CHECK_CONFIGS)
  mica_build_test(driver-profile.aarch64 ${MICA_CHECK_DIR}/aarch64_minimal ${MICA_CHECK_DIR}/aarch64
                  semihosting_exit)
  # PCI (ECAM) and virtio-mmio are in the qemu-virt profile, not in minimal.
  mica_build_test(driver-profile.aarch64-pci ${MICA_CHECK_DIR}/aarch64_minimal ${MICA_CHECK_DIR}/aarch64 pci)
  mica_build_test(driver-profile.aarch64-virtio-mmio ${MICA_CHECK_DIR}/aarch64_minimal ${MICA_CHECK_DIR}/aarch64
                  virtio_mmio)
endif()
foreach(cfg ${MICA_CHECK_CONFIGS})
  mica_build_test(size-report.${cfg} ${MICA_CHECK_DIR}/${cfg})
endforeach()
