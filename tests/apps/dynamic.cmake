# Debian's own dynamically linked programs on Mica (issue 12), each compared with the same
# program's run on the host (run_app_test.py), and the ways a dynamic program can be broken.
#
#   python3   Debian's /usr/bin/python3.11 with its standard library (--add of /usr/lib/python3.11,
#             tests and unused parts excluded): json, re, hashlib, and sqlite3 through dlopen of
#             lib-dynload extension modules (tests/apps/dynamic/python_test.py)
#   sqlite3   a SQL script (dynamic/sqlite_test.sql)
#   lua5.4    a script (dynamic/lua_test.lua)
#   gawk      a program over data/words.txt (dynamic/gawk_test.awk)
#   ls -la    of a packed tree, checked line by line (its sizes and dates differ from the host's)
# On aarch64, the arm64 builds of sqlite3, lua5.4 and gawk from Debian's arm64 packages
# (tools/arm64-sysroot, a sysroot in the build directory, fetched at configure time through the
# private apt configuration; the tests are listed as skipped, with the reason, when that fails).
# tools/run packs every program's interpreter and libraries (tools/elfdeps.py).
set(dyn_src ${CMAKE_CURRENT_SOURCE_DIR}/dynamic)
set(dyn_out ${CMAKE_CURRENT_BINARY_DIR}/dynamic)
file(MAKE_DIRECTORY ${dyn_out})
set(dyn_outputs)

# Program -> host binary, guest path, run_app_test options (common ones, then --run-arg for
# the guest only), arguments.
set(dyn_programs)
set(python_excludes --run-arg=--exclude=test/ --run-arg=--exclude=idlelib/ --run-arg=--exclude=tkinter/
    --run-arg=--exclude=ensurepip/ --run-arg=--exclude=lib2to3/ --run-arg=--exclude=turtledemo/
    --run-arg=--exclude=pydoc_data/ --run-arg=--exclude=config-3.11-x86_64-linux-gnu/)
if(EXISTS /usr/bin/python3.11 AND EXISTS /usr/lib/python3.11/json)
  list(APPEND dyn_programs python3)
  set(dyn_python3_binary /usr/bin/python3.11)
  set(dyn_python3_path /usr/bin/python3)
  set(dyn_python3_options --tmpdir --add ${dyn_src}/python_test.py:/python_test.py
      --run-arg=--add=/usr/lib/python3.11:/usr/lib/python3.11 ${python_excludes} --memory 384M)
  set(dyn_python3_args -B python_test.py)
endif()
if(EXISTS /usr/bin/sqlite3)
  list(APPEND dyn_programs sqlite3)
  set(dyn_sqlite3_binary /usr/bin/sqlite3)
  set(dyn_sqlite3_path /usr/bin/sqlite3)
  set(dyn_sqlite3_options --env HOME=/ --add ${dyn_src}/sqlite_test.sql:/sqlite_test.sql)
  set(dyn_sqlite3_args -batch :memory: ".read sqlite_test.sql")
endif()
if(EXISTS /usr/bin/lua5.4)
  list(APPEND dyn_programs lua)
  set(dyn_lua_binary /usr/bin/lua5.4)
  set(dyn_lua_path /usr/bin/lua5.4)
  set(dyn_lua_options --tmpdir --add ${dyn_src}/lua_test.lua:/lua_test.lua)
  set(dyn_lua_args lua_test.lua)
endif()
if(EXISTS /usr/bin/gawk)
  list(APPEND dyn_programs gawk)
  set(dyn_gawk_binary /usr/bin/gawk)
  set(dyn_gawk_path /usr/bin/gawk)
  set(dyn_gawk_options --add ${dyn_src}/gawk_test.awk:/gawk_test.awk
      --add ${CMAKE_CURRENT_SOURCE_DIR}/data:/data)
  set(dyn_gawk_args -f gawk_test.awk data/words.txt)
endif()
foreach(p sqlite3 lua gawk python3)
  if(NOT p IN_LIST dyn_programs)
    message(WARNING "apps: ${p} is not installed (tools/install-deps installs it): no dynamic.${p} tests")
  endif()
endforeach()

# Host references: the options without the guest-only --run-arg/--memory ones.
foreach(p ${dyn_programs})
  set(host_options)
  set(skip_next FALSE)
  foreach(o ${dyn_${p}_options})
    if(skip_next)
      set(skip_next FALSE)
    elseif(o STREQUAL "--memory")
      set(skip_next TRUE)
    elseif(NOT o MATCHES "^--run-arg=")
      list(APPEND host_options ${o})
    endif()
  endforeach()
  set(dyn_${p}_host_options ${host_options})
  set(ref ${dyn_out}/${p}.ref.json)
  add_custom_command(OUTPUT ${ref}
    COMMAND ${MICA_PYTHON} ${MICA_RUN_APP_TEST} reference --binary ${dyn_${p}_binary} --guest-path ${dyn_${p}_path}
            --output ${ref} ${host_options} -- ${dyn_${p}_args}
    DEPENDS ${MICA_RUN_APP_TEST} ${dyn_src}/python_test.py ${dyn_src}/sqlite_test.sql ${dyn_src}/lua_test.lua
            ${dyn_src}/gawk_test.awk
    COMMENT "apps: dynamic ${p} on the host (reference output)" VERBATIM)
  list(APPEND dyn_outputs ${ref})
endforeach()

# The arm64 builds: sqlite3, lua5.4 and gawk with their libraries, in a sysroot here.
set(dyn_arm64_programs)
set(dyn_arm64_skip_reason "")
set(dyn_sysroot ${dyn_out}/sysroot-arm64)
if(host_arch STREQUAL "x86_64")
  execute_process(COMMAND ${MICA_PYTHON} ${MICA_SOURCE_DIR}/tools/arm64-sysroot --dir ${dyn_sysroot} sqlite3 lua5.4 gawk
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(rc EQUAL 0)
    set(dyn_sqlite3_arm64 ${dyn_sysroot}/usr/bin/sqlite3)
    set(dyn_lua_arm64 ${dyn_sysroot}/usr/bin/lua5.4)
    set(dyn_gawk_arm64 ${dyn_sysroot}/usr/bin/gawk)
    set(dyn_arm64_programs sqlite3 lua gawk)
  else()
    string(STRIP "${err}" err)
    set(dyn_arm64_skip_reason "tools/arm64-sysroot could not fetch the arm64 packages (${err})")
    message(WARNING "apps: skipping the aarch64 dynamic tests: ${dyn_arm64_skip_reason}")
  endif()
endif()

# Broken dynamic programs: an interpreter cut short, one for the wrong machine.
set(dyn_bad ${dyn_out}/bad)
file(MAKE_DIRECTORY ${dyn_bad})
foreach(a x86_64 aarch64)
  if(a STREQUAL "x86_64")
    set(ld /lib64/ld-linux-x86-64.so.2)
  else()
    set(ld /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1)
  endif()
  if(EXISTS ${ld})
    add_custom_command(OUTPUT ${dyn_bad}/ld-truncated-${a}
      COMMAND head -c 3000 ${ld} > ${dyn_bad}/ld-truncated-${a}
      DEPENDS ${ld} COMMENT "apps: a truncated ${a} interpreter" VERBATIM)
    list(APPEND dyn_outputs ${dyn_bad}/ld-truncated-${a})
  endif()
endforeach()
add_custom_target(apps_dynamic ALL DEPENDS ${dyn_outputs})

# One test that only runs where its program exists; otherwise listed as skipped with `reason`.
function(dyn_skipped name reason)
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -E echo "skipped: ${reason}")
  set_tests_properties(${name} PROPERTIES SKIP_REGULAR_EXPRESSION "skipped:" LABELS apps)
endfunction()

function(mica_add_dynamic_app_tests config dir)
  if(CONFIG_ARCH_AARCH64)
    set(kernel ${dir}/kernel.bin)
  else()
    set(kernel ${dir}/kernel-stripped.elf)
  endif()
  set(common --run ${MICA_TOOLS_RUN} --build-dir ${dir} --kernel ${kernel} --timeout ${MICA_GUEST_TIMEOUT})
  if(NOT CONFIG_LOADER_DYNAMIC)
    return()
  endif()
  # Debian's programs, compared with their host runs.
  foreach(p sqlite3 lua gawk python3)
    set(name ${config}.apps.dynamic.${p})
    if(CONFIG_ARCH_AARCH64)
      if(NOT p IN_LIST dyn_arm64_programs)
        if(p STREQUAL "python3")
          continue()  # x86_64 only: the arm64 standard library would be another 40 MB to fetch
        endif()
        dyn_skipped(${name} "${dyn_arm64_skip_reason}")
        continue()
      endif()
      set(binary ${dyn_${p}_arm64})
    else()
      if(NOT p IN_LIST dyn_programs)
        continue()
      endif()
      set(binary ${dyn_${p}_binary})
    endif()
    if(NOT DEFINED dyn_${p}_binary)
      continue()  # no host program, so no reference
    endif()
    add_test(NAME ${name}
             COMMAND ${MICA_PYTHON} ${MICA_RUN_APP_TEST} guest ${common} --binary ${binary} --guest-path ${dyn_${p}_path}
                     --expected ${dyn_out}/${p}.ref.json ${dyn_${p}_options} -- ${dyn_${p}_args})
    set_tests_properties(${name} PROPERTIES LABELS apps TIMEOUT ${MICA_GUEST_TEST_TIMEOUT})
  endforeach()

  # ls -la of a packed tree (x86_64: the host's /bin/ls), line by line.
  if(NOT CONFIG_ARCH_AARCH64 AND EXISTS /bin/ls)
    set(name ${config}.apps.dynamic.ls)
    add_test(NAME ${name}
             COMMAND ${MICA_PYTHON} ${MICA_RUN_APP_TEST} console ${common} --binary /bin/ls
                     --add ${CMAKE_CURRENT_SOURCE_DIR}/data:/data --add ${CMAKE_CURRENT_SOURCE_DIR}/data/words.txt:/data/sub/copy.txt
                     --run-arg=--manifest=${dyn_src}/ls_tree.manifest
                     --command "/bin/ls -la --time-style=+%Y /data /data/sub" --status 0
                     --expect "^/data:\r?$" --expect "^-rw-r--r-- +1 0 0 +136 1970 words\\.txt\r?$"
                     --expect "^lrwxrwxrwx +1 0 0 +9 1970 link -> words\\.txt\r?$"
                     --expect "^drwxr-xr-x +2 0 0 +[0-9]+ [0-9]+ sub\r?$"
                     --expect "^/data/sub:\r?$" --expect "^-rw-r--r-- +1 0 0 +136 1970 copy\\.txt\r?$"
                     --reject "^/bin/ls: " --reject "^mica: unsupported")
    set_tests_properties(${name} PROPERTIES LABELS apps TIMEOUT ${MICA_GUEST_TEST_TIMEOUT})
  endif()

  # Broken programs: a missing library (ld.so's own message, status 127), a library of the
  # wrong machine in its place (ld.so skips it: the same), a missing, truncated or
  # wrong-machine interpreter (the kernel's message: 127 for missing, as execve's ENOENT,
  # 126 otherwise), and the interpreter run directly with the program as its argument.
  if(CONFIG_ARCH_AARCH64)
    set(hello ${CMAKE_CURRENT_BINARY_DIR}/glibc-dynamic-arm64/hello)
    set(ld_guest /lib/ld-linux-aarch64.so.1)
    set(ld_host /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1)
    set(libc_guest /lib/aarch64-linux-gnu/libc.so.6)
    set(other_ld /lib64/ld-linux-x86-64.so.2)
    set(other_libc /lib/x86_64-linux-gnu/libc.so.6)
    set(arch aarch64)
    set(other_machine "62 [(]x86_64[)]")
  else()
    set(hello ${CMAKE_CURRENT_BINARY_DIR}/glibc-dynamic/hello)
    set(ld_guest /lib64/ld-linux-x86-64.so.2)
    set(ld_host /lib64/ld-linux-x86-64.so.2)
    set(libc_guest /lib/x86_64-linux-gnu/libc.so.6)
    set(other_ld /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1)
    set(other_libc /usr/aarch64-linux-gnu/lib/libc.so.6)
    set(arch x86_64)
    set(other_machine "183 [(]aarch64[)]")
  endif()
  if(NOT EXISTS ${ld_host} OR NOT EXISTS ${other_ld})
    return()
  endif()
  set(bare ${common} --binary ${hello} --run-arg=--no-libs)
  set(missing_library_args --add ${ld_host}:${ld_guest})
  set(missing_library_status 127)
  set(missing_library_expect "^/bin/hello: error while loading shared libraries: libc[.]so[.]6: cannot open shared object file")
  set(wrong_machine_library_args --add ${ld_host}:${ld_guest} --add ${other_libc}:${libc_guest})
  set(wrong_machine_library_status 127)
  set(wrong_machine_library_expect "^/bin/hello: error while loading shared libraries: libc[.]so[.]6")
  set(missing_interpreter_args)
  set(missing_interpreter_status 127)
  set(missing_interpreter_expect "^mica: error: cannot run /bin/hello: its interpreter: cannot read ${ld_guest}: no such file")
  set(truncated_interpreter_args --add ${dyn_bad}/ld-truncated-${arch}:${ld_guest})
  set(truncated_interpreter_status 126)
  set(truncated_interpreter_expect "^mica: error: cannot run /bin/hello: its interpreter: ${ld_guest}: .*outside the 3000-byte file")
  set(wrong_machine_interpreter_args --add ${other_ld}:${ld_guest})
  set(wrong_machine_interpreter_status 126)
  set(wrong_machine_interpreter_expect "^mica: error: cannot run /bin/hello: its interpreter: ${ld_guest}: e_machine is ${other_machine}")
  foreach(what missing_library wrong_machine_library missing_interpreter truncated_interpreter wrong_machine_interpreter)
    set(name ${config}.apps.dynamic.broken.${what})
    add_test(NAME ${name}
             COMMAND ${MICA_PYTHON} ${MICA_RUN_APP_TEST} refused ${bare} ${${what}_args} --command /bin/hello
                     --status ${${what}_status} --expect ${${what}_expect})
    set_tests_properties(${name} PROPERTIES LABELS apps TIMEOUT ${MICA_GUEST_TEST_TIMEOUT})
  endforeach()
  set(name ${config}.apps.dynamic.interpreter-run-directly)
  add_test(NAME ${name}
           COMMAND ${MICA_PYTHON} ${MICA_RUN_APP_TEST} console ${common} --binary ${hello}
                   --command "--env=GREETING=hi ${ld_guest} /bin/hello one two" --status 0
                   --expect "^argv\\[2\\] = \"two\"\r?$")
  set_tests_properties(${name} PROPERTIES LABELS apps TIMEOUT ${MICA_GUEST_TEST_TIMEOUT})
endfunction()
