// The vDSO (docs/architecture.md "vDSO"): a small shared object, built with the kernel for its
// architecture (arch/<arch>/vdso), that answers clock_gettime, gettimeofday, time,
// clock_getres and (x86_64) getcpu inside the application, from the clock data the kernel
// publishes (mica/clock_data.h), with no system call. C libraries find it through
// AT_SYSINFO_EHDR.
#pragma once

#include <mica/config.h>
#include <stdint.h>

namespace mica::abi {

// Maps the vDSO into the current address space (execve calls it after mapping the stack): a
// read-only [vvar] page holding the kernel address of the published clock data, and just
// above it a private copy of the image ([vdso], read-execute), which reaches the data through
// that page. Forked processes inherit both copy-on-write like any other area. Returns the
// image's address for AT_SYSINFO_EHDR, -errno when there is no room for it (the program then
// runs without a vDSO), or 0 in a kernel built without one (CONFIG_VDSO=n).
#if CONFIG_VDSO
intptr_t map_vdso();
#else
inline intptr_t map_vdso() { return 0; }
#endif

}  // namespace mica::abi
