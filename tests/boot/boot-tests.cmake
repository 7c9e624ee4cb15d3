# QEMU boot tests for one built configuration (label "boot"). Called with the configuration's
# CONFIG_* variables in scope: from the kernel build itself (`ctest` in a build directory)
# and, for every defconfig, from the `make check` project in tests/.
#   mica_add_boot_tests(<name prefix> <build dir>)
set(MICA_BOOT_TEST ${CMAKE_CURRENT_LIST_DIR}/boot_test.py)
# Time budgets, in seconds, for every test that boots a guest (boot and apps tests). A boot
# takes well under a second alone; under TCG on a loaded 2-core machine with 4 vCPUs per
# guest a suite has taken 15 s (vCPUs spinning on a lock whose holder the host descheduled).
# The budgets only catch hangs: the guest's (tools/run --timeout) ends a hung guest and
# keeps its console output; ctest's TIMEOUT is a backstop above it for a hung tools/run.
set(MICA_GUEST_TIMEOUT 120)
set(MICA_GUEST_TEST_TIMEOUT 180)
set(MICA_TOOLS_RUN ${CMAKE_CURRENT_LIST_DIR}/../../tools/run)

function(mica_add_boot_test name dir machine status cmdline)
  # "--opt=value" form throughout: values such as "--bogus" must not look like options.
  set(checks)
  set(pending)
  foreach(arg ${ARGN})
    if(pending)
      list(APPEND checks "${pending}=${arg}")
      set(pending)
    else()
      set(pending ${arg})
    endif()
  endforeach()
  add_test(NAME ${name}
           COMMAND ${MICA_PYTHON} ${MICA_BOOT_TEST} --run ${MICA_TOOLS_RUN} --build-dir ${dir}
                   --machine ${machine} --status ${status} "--cmdline=${cmdline}" --timeout ${MICA_GUEST_TIMEOUT}
                   ${checks})
  set_tests_properties(${name} PROPERTIES LABELS boot TIMEOUT ${MICA_GUEST_TEST_TIMEOUT})
endfunction()

# In-guest test suites: one ctest entry per KTEST suite found in tests/guest.
function(mica_add_guest_tests prefix dir machine)
  file(GLOB sources ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../guest/*.cc)
  set(suites)
  foreach(source ${sources})
    if(source MATCHES "/test_net[^/]*\\.cc$" AND NOT CONFIG_NET)
      continue()  # compiled only with CONFIG_NET (tests/guest/CMakeLists.txt)
    endif()
    if(source MATCHES "/test_net_virtio\\.cc$" AND NOT CONFIG_DRIVER_VIRTIO_NET)
      continue()  # its tests exist only with the driver
    endif()
    file(STRINGS ${source} lines REGEX "^KTEST\\([a-z_0-9]+,")
    foreach(line ${lines})
      string(REGEX REPLACE "^KTEST\\(([a-z_0-9]+),.*" "\\1" suite "${line}")
      list(APPEND suites ${suite})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  list(REMOVE_ITEM suites bench benchmm)  # benchmarks: tools/bench/sched and tools/bench/mm run them
  foreach(suite ${suites})
    mica_add_boot_test(${prefix}ktest.${suite} ${dir} ${machine} 0 "--test=${suite}.*"
      --expect "ktest: [0-9]+ passed, 0 failed" --reject "PANIC")
    if(MICA_SMP_TESTS)
      foreach(cpus 2 4)
        mica_add_boot_test(${prefix}ktest.${suite}.smp${cpus} ${dir} ${machine} 0 "--test=${suite}.*"
          --smp ${cpus} --expect "ktest: [0-9]+ passed, 0 failed" --reject "PANIC" --expect " x${cpus},")
      endforeach()
    endif()
  endforeach()
endfunction()

# virtio-blk disks (tools/run --disk) listed by --verbose with their capacity, block size and
# mode, named in attach order, on the machine's transport (virtio-pci on pc, q35 and virt,
# virtio-mmio on microvm); a 4 KiB logical block size from the device's configuration.
set(MICA_DISK_IMAGES ${CMAKE_CURRENT_BINARY_DIR}/disk-images)
file(MAKE_DIRECTORY ${MICA_DISK_IMAGES})
foreach(size 1 3)
  if(NOT EXISTS ${MICA_DISK_IMAGES}/${size}mib.img)
    execute_process(COMMAND truncate -s ${size}M ${MICA_DISK_IMAGES}/${size}mib.img COMMAND_ERROR_IS_FATAL ANY)
  endif()
endforeach()
# A disk of pseudo-random bytes (not a whole number of 4 KiB blocks) and its 64-bit FNV-1a hash,
# which --test-disk prints after reading it whole.
set(_disk_test_image ${MICA_DISK_IMAGES}/random.img)
execute_process(COMMAND ${MICA_PYTHON} -c [=[
import random, sys
data = random.Random(1).randbytes(3 * 1024 * 1024 + 1536)
open(sys.argv[1], "wb").write(data)
h = 14695981039346656037
for b in data:
    h = ((h ^ b) * 1099511628211) & 0xffffffffffffffff
print(f"{h:016x}", end="")
]=] ${_disk_test_image} OUTPUT_VARIABLE MICA_DISK_TEST_HASH COMMAND_ERROR_IS_FATAL ANY)
function(mica_add_disk_boot_tests prefix dir machines)
  foreach(machine ${machines})
    string(REGEX REPLACE "[,=]" "." name ${machine})
    if(machine MATCHES "^microvm")
      set(model virtio-blk-device)
      set(where "virtio-mmio@0x[0-9a-f]+")
    else()
      set(model virtio-blk-pci)
      set(where "virtio-pci [0-9a-f:.]+")
    endif()
    # A read-write image of its own: QEMU locks it against other writers (tests run in parallel).
    set(rw ${MICA_DISK_IMAGES}/rw-${prefix}${name}.img)
    execute_process(COMMAND truncate -s 1M ${rw} COMMAND_ERROR_IS_FATAL ANY)
    mica_add_boot_test(${prefix}virtio.blk.${name} ${dir} ${machine} 0 "--verbose"
      --run-arg --disk=${MICA_DISK_IMAGES}/3mib.img --run-arg --disk=${rw},rw
      --expect "${where}: disk vda, 3145728 bytes \\(3 MiB, 512-byte blocks\\), read-only, flush"
      --expect "${where}: disk vdb, 1048576 bytes \\(1 MiB, 512-byte blocks\\), read-write, flush"
      --expect "${where}: virtio-blk, 1 queue" --reject "PANIC")
    mica_add_boot_test(${prefix}virtio.blk-4k-blocks.${name} ${dir} ${machine} 0 "--verbose"
      --run-arg --disk=${MICA_DISK_IMAGES}/3mib.img
      --run-arg --qemu=-global --run-arg --qemu=${model}.logical_block_size=4096
      --run-arg --qemu=-global --run-arg --qemu=${model}.physical_block_size=4096
      --expect "disk vda, 3145728 bytes \\(3 MiB, 4096-byte blocks\\), read-only" --reject "PANIC")
    if(CONFIG_TEST_OPTIONS)
      # The driver and the buffer cache on the real device: whole-disk read (several requests
      # in flight), 4 threads at once, cache reads; the bytes' hash is the host's.
      mica_add_boot_test(${prefix}virtio.blk-self-test.${name} ${dir} ${machine} 0 "--test-disk=vdb"
        --run-arg --disk=${MICA_DISK_IMAGES}/1mib.img --run-arg --disk=${_disk_test_image} --smp 2
        --expect "disk self-test: vdb: read 3147264 bytes at once: ok, fnv1a ${MICA_DISK_TEST_HASH}"
        --expect "thread reading 512 bytes at a time: ok" --expect "thread reading 1048576 bytes at a time: ok"
        --expect "buffer cache: .*: ok" --reject "FAILED|PANIC")
    endif()
  endforeach()
endfunction()

# virtio-rng read through each transport the configuration has, on each of its machines
# (--test-rng reads 4 KiB through every entropy device and waits for its interrupt).
function(mica_add_virtio_tests prefix dir machines)
  set(ok "virtio-rng self-test: .*: ok")
  # microvm describes virtio-mmio in its DSDT with ACPI (the default) and with
  # virtio_mmio.device= words without it: both ways.
  if("microvm" IN_LIST machines)
    list(APPEND machines "microvm,acpi=off")
  endif()
  foreach(machine ${machines})
    string(REGEX REPLACE "[,=]" "." name ${machine})
    set(transports)
    if(machine MATCHES "^microvm")
      if(CONFIG_DRIVER_VIRTIO_MMIO)
        set(transports mmio)
      endif()
    else()
      if(CONFIG_DRIVER_VIRTIO_PCI)
        list(APPEND transports pci)
      endif()
      if(CONFIG_DRIVER_VIRTIO_MMIO AND machine MATCHES "^virt")
        list(APPEND transports mmio)
      endif()
    endif()
    foreach(t ${transports})
      if(t STREQUAL "pci" AND (CONFIG_ARCH_X86_64 OR machine STREQUAL "virt"))
        # x86's local APIC or virt's GICv2m: one vector for the queue, one for configuration changes.
        set(kind "msi-x, 2 vectors")
      elseif(t STREQUAL "pci")
        set(kind "intx line [0-9]+")  # virt with GICv3: its ITS is not driven, so INTx
      elseif(machine STREQUAL "microvm")
        set(kind "line (2[4-9]|3[0-9]|4[0-7]) \\(level\\)")  # the DSDT's: the second I/O APIC
      else()
        set(kind "line [0-9]+ \\(edge\\)")
      endif()
      mica_add_boot_test(${prefix}virtio.rng-${t}.${name} ${dir} ${machine} 0 "--verbose --test-rng"
        --run-arg --rng=${t} --expect "${ok}" --expect "interrupts \\(${kind}\\): ok"
        --expect "generator seeded by a hardware source: yes" --reject "PANIC|FAILED")
      if(NOT machine MATCHES "acpi=off")  # without ACPI, no MADT: one CPU
        mica_add_boot_test(${prefix}virtio.rng-${t}.${name}.smp2 ${dir} ${machine} 0 "--test-rng"
          --run-arg --rng=${t} --smp 2 --expect "${ok}" --expect " x2," --reject "PANIC|FAILED")
      endif()
    endforeach()
    if(CONFIG_DRIVER_VIRTIO_PCI AND NOT machine MATCHES "^microvm")
      # vectors=0: no MSI-X table, so INTx (x86: the firmware's interrupt line through the I/O APIC).
      mica_add_boot_test(${prefix}virtio.rng-pci-intx.${name} ${dir} ${machine} 0 "--test-rng"
        --run-arg --qemu=-device --run-arg --qemu=virtio-rng-pci,vectors=0
        --expect "interrupts \\(intx line [0-9]+\\): ok" --reject "PANIC|FAILED")
    endif()
    if(CONFIG_DRIVER_VIRTIO_PCI AND NOT machine MATCHES "^microvm")
      # A legacy-only (virtio 0.9) device has no virtio 1.0 capabilities: refused, named.
      mica_add_boot_test(${prefix}virtio.pci-legacy-refused.${name} ${dir} ${machine} 1 "--test-rng"
        --run-arg --qemu=-device --run-arg --qemu=virtio-rng-pci,disable-modern=on
        --expect "virtio-pci 00:0[0-9a-f].0: legacy-only entropy \\(rng\\) device \\(no virtio 1.0 capabilities\\)"
        --expect "virtio-rng self-test: no entropy device" --reject "PANIC")
    endif()
    if(CONFIG_DRIVER_VIRTIO_PCI AND machine MATCHES "^virt")
      # Slots 1 and 5 share an interrupt (virt's interrupt-map folds slot numbers modulo 4):
      # both devices' handlers run for every interrupt of the line and each finds its own.
      mica_add_boot_test(${prefix}virtio.rng-pci-shared-intx.${name} ${dir} ${machine} 0 "--test-rng"
        --run-arg --qemu=-device --run-arg --qemu=virtio-rng-pci,addr=1,vectors=0
        --run-arg --qemu=-device --run-arg --qemu=virtio-rng-pci,addr=5,vectors=0
        --expect "virtio-pci 00:01.0: .*\\(intx line 36\\): ok" --expect "virtio-pci 00:05.0: .*\\(intx line 36\\): ok"
        --reject "PANIC|FAILED")
    endif()
    if(CONFIG_DRIVER_VIRTIO_MMIO AND NOT machine MATCHES "^(pc|q35)")
      # QEMU's default (legacy) virtio-mmio device is refused with the fix in the message.
      mica_add_boot_test(${prefix}virtio.mmio-legacy-refused.${name} ${dir} ${machine} 1 "--test-rng"
        --run-arg --rng=mmio --run-arg --qemu=-global --run-arg --qemu=virtio-mmio.force-legacy=true
        --expect "legacy \\(version 1\\) entropy \\(rng\\) device. Mica drives version 2 \\(virtio 1.0\\) devices only: run QEMU with -global virtio-mmio.force-legacy=false"
        --expect "virtio-rng self-test: no entropy device" --reject "PANIC")
    endif()
  endforeach()
  if(CONFIG_DRIVER_VIRTIO_MMIO AND "microvm" IN_LIST machines)
    # Without ACPI, the words QEMU appends come after the application's arguments (here after
    # "--"): the device they name is found, and the application keeps its own arguments
    # (here: not found, with its path intact).
    mica_add_boot_test(${prefix}virtio.mmio-words-after-arguments ${dir} microvm,acpi=off ${not_found_status}
      "--verbose -- /hello arg" --run-arg --rng=mmio
      --expect "virtio-mmio@0xfeb00e00: virtio-rng, 1 queue" --expect "mica: error: cannot read /hello: no such file"
      --reject "PANIC")
  endif()
endfunction()

# virtio-net, driven from the host by net_test.py (QEMU user networking with restrict=on, or
# a tap device in a network namespace the test creates: root only, else skipped).
function(mica_add_net_test name dir machine timeout)
  add_test(NAME ${name}
           COMMAND ${MICA_PYTHON} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/net_test.py --run ${MICA_TOOLS_RUN}
                   --build-dir ${dir} --machine ${machine} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS boot TIMEOUT ${timeout} SKIP_RETURN_CODE 77)
endfunction()

# The DHCP lease and a ping on every machine and NIC transport of the configuration; the
# kernel-level TCP/UDP tests on the first machine (each transport on virt) of the test
# kernels and of microvm (which no test kernel covers).
function(mica_add_net_tests prefix dir machines)
  set(variants)  # machine|transport|device property prefix|name
  foreach(machine ${machines})
    string(REGEX REPLACE "[,=]" "." name ${machine})
    if(machine MATCHES "^microvm")
      list(APPEND variants "${machine}|mmio|virtio-net-device|${name}")
      if(machine STREQUAL "microvm")
        list(APPEND variants "microvm,acpi=off|mmio|virtio-net-device|microvm.acpi.off")
      endif()
    else()
      if(CONFIG_DRIVER_VIRTIO_PCI)
        list(APPEND variants "${machine}|pci|virtio-net-pci|${name}")
      endif()
      if(CONFIG_DRIVER_VIRTIO_MMIO AND machine MATCHES "^virt")
        list(APPEND variants "${machine}|mmio|virtio-net-device|${name}.mmio")
      endif()
    endif()
  endforeach()
  set(heavy OFF)
  if(CONFIG_GUEST_TESTS OR (CONFIG_PROFILE_MICROVM AND NOT CONFIG_LTO))
    set(heavy ON)
  endif()
  list(GET machines 0 first)
  foreach(v ${variants})
    string(REPLACE "|" ";" fields "${v}")
    list(GET fields 0 machine)
    list(GET fields 1 transport)
    list(GET fields 2 device)
    list(GET fields 3 name)
    set(nic --run-arg=--nic=${transport})
    mica_add_net_test(${prefix}net.lease-ping.${name} ${dir} ${machine} 120 ${nic} --scenario ping)
    # tools/run --net tap as a user would run it (its own namespace, --ip from tools/run).
    mica_add_net_test(${prefix}net.tap-ping.${name} ${dir} ${machine} 120 ${nic} --scenario tap-ping)
    if(transport STREQUAL "pci")
      # vectors=0: no MSI-X table, so INTx.
      mica_add_net_test(${prefix}net.lease-ping.${name}.intx ${dir} ${machine} 120 ${nic}
        --run-arg=--qemu=-global --run-arg=--qemu=${device}.vectors=0 --scenario ping)
    endif()
    if(NOT heavy OR NOT (machine STREQUAL first OR machine MATCHES "^virt$"))
      continue()
    endif()
    set(t ${prefix}net)
    set(args ${dir} ${machine} 300 ${nic})
    mica_add_net_test(${t}.echo.${name} ${args} --scenario echo)
    mica_add_net_test(${t}.echo.${name}.smp2 ${args} --scenario echo --smp 2)
    # Frames over several mergeable buffers (512-byte buffers under a 1500-byte MTU).
    mica_add_net_test(${t}.echo-merged.${name} ${args} --scenario echo --expect-merged
      --kernel-arg=--virtio-net-rx-buffer=512)
    mica_add_net_test(${t}.echo-interrupts.${name} ${args} --scenario echo --kernel-arg=--virtio-net-poll=off)
    # A device offering the least: whole-frame buffers, no EVENT_IDX, no indirect descriptors.
    mica_add_net_test(${t}.echo-plain-device.${name} ${args} --scenario echo
      --run-arg=--qemu=-global --run-arg=--qemu=${device}.mrg_rxbuf=off
      --run-arg=--qemu=-global --run-arg=--qemu=${device}.event_idx=off
      --run-arg=--qemu=-global --run-arg=--qemu=${device}.indirect_desc=off)
    if(transport STREQUAL "pci")
      mica_add_net_test(${t}.echo.${name}.intx ${args} --scenario echo
        --run-arg=--qemu=-global --run-arg=--qemu=${device}.vectors=0)
    endif()
    mica_add_net_test(${t}.connect.${name} ${args} --scenario connect)
    mica_add_net_test(${t}.connect-reset.${name} ${args} --scenario connect-reset)
    mica_add_net_test(${t}.link.${name} ${args} --scenario link)
    mica_add_net_test(${t}.tap-echo.${name} ${args} --scenario tap-echo)
    mica_add_net_test(${t}.tap-echo-jumbo.${name} ${args} --scenario tap-echo --jumbo)
    mica_add_net_test(${t}.tap-echo-no-tso.${name} ${args} --scenario tap-echo --kernel-arg=--virtio-net-tso=off)
  endforeach()
endfunction()

function(mica_add_boot_tests prefix dir)
  if(CONFIG_ARCH_AARCH64)
    set(machines virt "virt,gic-version=3")
  elseif(CONFIG_PROFILE_MICROVM)
    set(machines microvm)
  elseif(CONFIG_PROFILE_ALL)
    set(machines pc q35 microvm)
  else()
    set(machines pc q35)
  endif()
  list(GET machines 0 m)
  set(MICA_SMP_TESTS ON)
  if(CONFIG_GUEST_TESTS)
    mica_add_guest_tests("${prefix}" ${dir} ${m})
  endif()
  # Without isa-debug-exit or semihosting the guest stops through a reset or PSCI and QEMU
  # exits with 0; tools/run still returns the status the kernel announced on the console.
  set(panic_status 70)
  set(usage_status 64)
  set(not_found_status 127)
  set(banner "Mica [0-9.]+ \\(config ${CONFIG_BUILD_NAME}, drivers ${CONFIG_DRIVER_PROFILE_NAME}, ${CONFIG_ARCH}\\) on .*, [0-9]+ MiB RAM, booted in [0-9]+\\.[0-9]+ ms")

  foreach(machine ${machines})
    string(REGEX REPLACE "[,=]" "." name ${machine})
    mica_add_boot_test(${prefix}boot.${name} ${dir} ${machine} 0 "" --expect "${banner}" --reject "PANIC")
    # Every CPU the machine has must come up.
    mica_add_boot_test(${prefix}boot.${name}.smp4 ${dir} ${machine} 0 "" --smp 4 --expect " x4, [0-9]+ MiB RAM"
      --reject "PANIC|did not come up|refused")
  endforeach()

  # QEMU microvm and Firecracker append virtio_mmio.device= words: a malformed one is
  # refused with a message naming it, on every configuration (the parser is always built).
  mica_add_boot_test(${prefix}cmdline.virtio-mmio-malformed ${dir} ${m} ${usage_status}
    "--verbose virtio_mmio.device=512@0xfeb00e00"
    --expect "mica: error: 'virtio_mmio.device=512@0xfeb00e00' \\(added by the hypervisor\\): expected ':' and an interrupt number"
    --reject "booted in")
  if(CONFIG_DRIVER_VIRTIO_RNG AND CONFIG_TEST_OPTIONS)
    mica_add_virtio_tests("${prefix}" ${dir} "${machines}")
  endif()
  if(CONFIG_DRIVER_VIRTIO_BLK)
    mica_add_disk_boot_tests("${prefix}" ${dir} "${machines}")
  endif()

  mica_add_boot_test(${prefix}cmdline.unknown-option ${dir} ${m} ${usage_status} "--bogus"
    --expect "mica: error: unknown option '--bogus'. valid options: --help, --bootchart, --verbose"
    --reject "booted in")
  mica_add_boot_test(${prefix}cmdline.help ${dir} ${m} 0 "--help"
    --expect "--bootchart +print boot phases" --expect "--verbose")
  mica_add_boot_test(${prefix}cmdline.unterminated-quote ${dir} ${m} ${usage_status} "--verbose 'oops"
    --expect "unterminated quote")
  if(CONFIG_TRACING)
    # Tracing's options (docs/tracing.md); the traced application runs are tests/apps/trace_test.py.
    mica_add_boot_test(${prefix}trace.list ${dir} ${m} 0 "--trace-list"
      --expect "sched.switch +prev_thread:u64 prev_state:u64 next_thread:u64"
      --expect "syscall.exit +number:u64 result:result" --reject "booted in")
    mica_add_boot_test(${prefix}trace.bad-pattern ${dir} ${m} ${usage_status} "--trace=sched.*,nosuch*"
      --expect "option '--trace': pattern 'nosuch\\*' matches no tracepoint" --reject "booted in")
    mica_add_boot_test(${prefix}trace.bad-buffer ${dir} ${m} ${usage_status} "--trace=* --trace-buffer=3"
      --expect "option '--trace-buffer': expected a power of two from 4 to 4096" --reject "booted in")
    mica_add_boot_test(${prefix}trace.bad-profile ${dir} ${m} ${usage_status} "--profile=0"
      --expect "option '--profile': expected a sampling rate from 1 to 10000" --reject "booted in")
  endif()
  mica_add_boot_test(${prefix}bootchart ${dir} ${m} 0 "--bootchart"
    --expect "bootchart: phases from the first kernel instruction"
    --expect "memory +at +[0-9]+\\.[0-9]+ ms")
  mica_add_boot_test(${prefix}verbose ${dir} ${m} 0 "--verbose"
    --expect "mica: ram 0x[0-9a-f]+-0x[0-9a-f]+" --expect "pages free of")
  # No initrd: the root filesystem is empty, so the application is not found (status 127).
  mica_add_boot_test(${prefix}app.not-found ${dir} ${m} ${not_found_status} "-- /hello arg"
    --expect "mica: error: cannot read /hello: no such file")

  # The machine lacks what the kernel needs: each ends with a message saying what would do
  # and status 71, never a hang (kernel/mm/exhaustion.h, tools/run's memory check). (A ";"
  # would split a CMake list: the patterns match it with ".")
  set(resources_status 71)
  set(too_many "the machine has 65 CPUs. this kernel supports at most 64 \\(sched::max_cpus\\): give it at most 64")
  set(short "mica: error: not enough memory: ")
  set(suggest "give the machine at least [0-9]+ MiB \\(QEMU -m [0-9]+M\\)")
  if(CONFIG_ARCH_X86_64)
    mica_add_boot_test(${prefix}resources.cpus ${dir} ${m} ${resources_status} "" --smp 65 --expect "${too_many}"
      --reject "booted in")
    # Too little RAM: tools/run refuses what QEMU would load past the end of RAM (the kernel
    # never runs); the kernel's first instructions catch an image that runs off the end of
    # RAM; past those, the kernel sees how much is free after its tables.
    mica_add_boot_test(${prefix}resources.ram.image-outside-ram ${dir} ${m} ${resources_status} "" --memory 1M
      --expect "tools/run: not enough memory: -m 1M cannot hold the kernel: its image ends at .*give the machine at least [0-9]+ MiB")
    mica_add_boot_test(${prefix}resources.ram.image-past-end ${dir} ${m} ${resources_status} "" --memory 1400K
      --skip-memory-check 1 --expect "${short}the kernel image does not fit in RAM. give the machine more memory")
    # Four CPUs: the RAM below 640 KiB (~576 KiB handed out) covers what one CPU needs.
    mica_add_boot_test(${prefix}resources.ram.boot ${dir} ${m} ${resources_status} "" --memory-above-image 200 --smp 4
      --expect "${short}free memory to start the kernel on 4 CPUs: [0-9]+ KiB needed, [0-9]+ KiB available. ${suggest}"
      --reject "booted in")
    # A boot archive larger than the memory: tools/run refuses it (QEMU would load it over the
    # kernel); without that check QEMU itself refuses it, with its message.
    mica_add_boot_test(${prefix}resources.archive.larger-than-ram ${dir} ${m} ${resources_status} "-- /data/0"
      --memory 16M --archive-files 6 --archive-file-bytes 3145728
      --expect "tools/run: not enough memory: -m 16M cannot hold the [0-9.]+ MiB boot archive beside the kernel")
    mica_add_boot_test(${prefix}resources.archive.larger-than-ram.qemu ${dir} ${m} 125 "-- /data/0"
      --memory 16M --archive-files 6 --archive-file-bytes 3145728 --skip-memory-check 1
      --expect "tools/run: QEMU failed \\(exit status 1\\) before the guest announced its exit status: .*initrd is too large")
    set(unpack_memory 40M)
    set(unpack_files 8)
    set(unpack_file_bytes 3145728)
  else()
    mica_add_boot_test(${prefix}resources.cpus ${dir} virt,gic-version=3 ${resources_status} "" --smp 65
      --expect "${too_many}" --reject "booted in")
    # QEMU refuses a machine too small for the kernel and its device tree; eight CPUs need
    # more than 3 MiB leaves.
    mica_add_boot_test(${prefix}resources.ram.boot ${dir} ${m} ${resources_status} "" --memory 3M --smp 8
      --expect "${short}free memory to start the kernel on 8 CPUs: [0-9]+ KiB needed, [0-9]+ KiB available. ${suggest}"
      --reject "booted in")
    mica_add_boot_test(${prefix}resources.archive.larger-than-ram ${dir} ${m} 125 "-- /data/0"
      --memory 16M --archive-files 6 --archive-file-bytes 3145728
      --expect "tools/run: QEMU failed \\(exit status 1\\) before the guest announced its exit status: .*could not load initrd")
    # QEMU virt loads the archive at half the memory and the device tree after it, so the
    # archive stays well under half; files one byte over a page take two pages each in ramfs,
    # so their copy is twice the archive and cannot fit beside it (about 17 MiB + 33 MiB).
    set(unpack_memory 48M)
    set(unpack_files 4000)
    set(unpack_file_bytes 4097)
  endif()
  # An archive that fits in memory but not twice: unpacking it into ramfs runs out.
  mica_add_boot_test(${prefix}resources.archive.unpack ${dir} ${m} ${resources_status} "-- /data/0"
    --memory ${unpack_memory} --archive-files ${unpack_files} --archive-file-bytes ${unpack_file_bytes}
    --expect "${short}free memory to unpack the boot archive into the root filesystem \\(up to twice its size\\): [0-9]+ MiB needed, [0-9]+ MiB available. ${suggest}")

  if(CONFIG_DRIVER_VIRTIO_NET AND CONFIG_TEST_OPTIONS)
    mica_add_net_tests("${prefix}" ${dir} "${machines}")
  endif()
  if(CONFIG_DRIVER_VIRTIO_NET)
    mica_add_boot_test(${prefix}net.bad-rx-buffer ${dir} ${m} ${usage_status} "--virtio-net-rx-buffer=100"
      --expect "mica: error: .*'--virtio-net-rx-buffer'.*smaller than 256 bytes" --reject "booted in")
  endif()
  if(CONFIG_NET AND CONFIG_TEST_OPTIONS)
    mica_add_boot_test(${prefix}net.bad-test-connect ${dir} ${m} ${usage_status} "--test-net-connect=192.0.2.4:0,10"
      --expect "mica: error: .*'--test-net-connect'.*expected a port 1-65535" --reject "booted in")
  endif()
  if(CONFIG_NET)
    # Malformed network options stop the boot before the banner, naming the option.
    mica_add_boot_test(${prefix}net.bad-address ${dir} ${m} ${usage_status} "--ip=eth0,192.0.2.256,255.255.255.0"
      --expect "mica: error: option '--ip': address '192.0.2.256' is not an IPv4 address: each number must be 0-255"
      --reject "booted in")
    mica_add_boot_test(${prefix}net.bad-netmask ${dir} ${m} ${usage_status} "--ip=eth0,192.0.2.15,255.0.255.0"
      --expect "mica: error: option '--ip': netmask 255.0.255.0 is not contiguous" --reject "booted in")
    mica_add_boot_test(${prefix}net.too-many-nameservers ${dir} ${m} ${usage_status}
      "--nameserver=192.0.2.1 --nameserver=192.0.2.2 --nameserver=192.0.2.3 --nameserver=192.0.2.4"
      --expect "mica: error: option '--nameserver': at most 3 nameservers" --reject "booted in")
    # Well-formed, but the machine has no such interface: found once the devices are known.
    mica_add_boot_test(${prefix}net.no-ethernet ${dir} ${m} ${usage_status} "--ip=eth0,192.0.2.15,255.255.255.0"
      --expect "mica: error: option '--ip': no interface eth0: this machine has no Ethernet interface"
      --reject "booted in|PANIC")
    mica_add_boot_test(${prefix}net.help ${dir} ${m} 0 "--help"
      --expect "--ip=IFACE,ADDR,NETMASK +static IPv4 address" --expect "--nameserver=ADDR")
  endif()

  if(CONFIG_TEST_OPTIONS)
    if(CONFIG_ARCH_X86_64)
      set(ud_message "PANIC: invalid opcode \\(vector 6")
    else()
      set(ud_message "PANIC: undefined instruction")
    endif()
    # A symbolized backtrace. LTO inlines the whole boot path into one function, so only
    # non-LTO builds can expect the individual frames.
    set(trace --expect "Backtrace:" --expect "#0 +0x[0-9a-f]+ [_a-zA-Z]")
    if(NOT CONFIG_LTO)
      list(APPEND trace --expect "mica::kernel_main")
    endif()
    set(report --expect "Registers:" --expect "(rip|pc) +[0-9a-f]+ +(rsp|sp) " ${trace})
    mica_add_boot_test(${prefix}panic.null-pointer ${dir} ${m} ${panic_status} "--test-fault=null"
      --expect "PANIC: page fault: kernel write to address 0 \\(page not present, outside application memory\\)" ${report})
    mica_add_boot_test(${prefix}panic.invalid-opcode ${dir} ${m} ${panic_status} "--test-fault=ud"
      --expect "${ud_message}" ${report})
    if(CONFIG_DRIVER_GIC OR CONFIG_ARCH_X86_64)
      # One per machine: the LAPIC, GICv2 and GICv3 each deliver the timer interrupt.
      foreach(machine ${machines})
        string(REGEX REPLACE "[,=]" "." name ${machine})
        mica_add_boot_test(${prefix}irq.timer.${name} ${dir} ${machine} 0 "--test-timer-irq"
          --expect "timer interrupt (27|32) received through (gicv[23]|lapic) after [0-9]+ us")
      endforeach()

    endif()
    if(CONFIG_ARCH_AARCH64)
      mica_add_boot_test(${prefix}panic.breakpoint ${dir} ${m} ${panic_status} "--test-fault=brk"
        --expect "PANIC: breakpoint \\(brk #0x4d\\)" ${report})
    endif()
    if(CONFIG_ARCH_X86_64)
      mica_add_boot_test(${prefix}panic.divide-error ${dir} ${m} ${panic_status} "--test-fault=div0"
        --expect "PANIC: divide error \\(vector 0" ${report})
      mica_add_boot_test(${prefix}panic.general-protection ${dir} ${m} ${panic_status} "--test-fault=gp"
        --expect "PANIC: general protection fault \\(vector 13" ${report})
    endif()
    mica_add_boot_test(${prefix}panic.software ${dir} ${m} ${panic_status} "--test-fault=panic"
      --expect "PANIC: test panic requested on the command line" ${trace})
    mica_add_boot_test(${prefix}panic.stack-overflow ${dir} ${m} ${panic_status} "--test-fault=stack-overflow"
      --expect "PANIC: thread stack overflow \\(hit the unmapped pages below the stack\\)"
      --expect "Registers:" --expect "#0 +0x[0-9a-f]+ [_a-zA-Z]")
    if(CONFIG_DEBUG_MEMORY)
      mica_add_boot_test(${prefix}debug-memory.heap-overflow ${dir} ${m} ${panic_status} "--test-fault=heap-overflow"
        --expect "PANIC: heap: heap buffer overflow \\(bytes after the allocation were overwritten\\) \\(pointer 0x[0-9a-f]+. 32 bytes allocated at mica::selftest::fault")
    endif()
    # With four CPUs the panic stops the others and still reports and exits.
    mica_add_boot_test(${prefix}panic.smp4 ${dir} ${m} ${panic_status} "--test-fault=null" --smp 4
      --expect "PANIC: page fault: kernel write to address 0" ${report})
    mica_add_boot_test(${prefix}panic.heap-double-free ${dir} ${m} ${panic_status} "--test-fault=heap-double-free"
      --expect "PANIC: heap: double free \\(pointer 0x[0-9a-f]+\\)" ${trace})
    mica_add_boot_test(${prefix}cmdline.bad-value ${dir} ${m} ${usage_status} "--test-fault=nope"
      --expect "invalid value 'nope' for '--test-fault'; expected one of: panic heap-double-free stack-overflow heap-overflow null ud")
  endif()
endfunction()
