// The Linux system-call ABI for unmodified applications (static binaries call the kernel
// through `syscall` / `svc #0`, which land in the architecture's entry code and then in
// dispatch()). One table per architecture numbering, generated from Linux's own unistd
// headers (tools/gen-syscalls.py); one implementation per call, `int64_t sys_<name>(const
// uint64_t* args)`, listed in one of the .def files next to this library:
//   process.def  process, threads, memory, time, signals (process.cc, memory.cc, ...)
//   files.def    files, directories, pipes, devices, /proc (files.cc, devfs.cc, procfs.cc)
// A handler returns the result or -errno. Application pointers are only touched through
// mm::vm::copy_from_app/copy_to_app/copy_string_from_app, so a bad pointer is -EFAULT.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::abi {

using SyscallHandler = int64_t (*)(const uint64_t* args);

// Called by the architecture's system-call entry on the application's thread with
// interrupts on; args holds the six argument registers.
int64_t dispatch(uint64_t number, const uint64_t* args);
// The name of system call `number` on this architecture, or nullptr.
const char* syscall_name(uint64_t number);
// --strace: print each call and its result.
void set_trace(bool on);

// errno values the syscall layer returns (negated) beyond those in mica/fs/abi.h.
inline constexpr int64_t errno_srch = 3, errno_intr = 4, errno_child = 10, errno_again = 11,
                         errno_fault = 14, errno_notty = 25, errno_pipe = 32, errno_timedout = 110;

}  // namespace mica::abi
