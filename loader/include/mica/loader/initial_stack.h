// The initial stack of a Linux process, as the kernel leaves it at the program's entry point
// and as every libc's start code (and ld.so) reads it. From the stack pointer upwards:
//
//   sp ->  argc
//          argv[0] ... argv[argc-1], NULL
//          envp[0] ... NULL
//          auxv: (type, value) pairs ... (AT_NULL, 0)
//          padding (so that sp is 16-byte aligned, as the SysV ABI requires at entry)
//          16 random bytes (AT_RANDOM)
//          strings: platform, argv, envp, execfn
//   top -> 8 zero bytes
//
// The stack is built in a caller-provided buffer that will be mapped at `stack_address`, so
// every pointer written is the address the program sees, not the buffer's. Host-testable:
// no allocation, no globals.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::loader {

// Auxiliary vector entry types (Linux's AT_* values, the same on x86_64 and aarch64).
enum AuxType : uint64_t {
    at_null = 0,
    at_phdr = 3,
    at_phent = 4,
    at_phnum = 5,
    at_pagesz = 6,
    at_base = 7,
    at_flags = 8,
    at_entry = 9,
    at_uid = 11,
    at_euid = 12,
    at_gid = 13,
    at_egid = 14,
    at_platform = 15,
    at_hwcap = 16,
    at_clktck = 17,
    at_secure = 23,
    at_random = 25,
    at_hwcap2 = 26,
    at_execfn = 31,
    at_sysinfo_ehdr = 33,
};

inline constexpr size_t at_random_size = 16;
inline constexpr uint64_t clock_ticks_per_second = 100;  // AT_CLKTCK: Linux's USER_HZ
inline constexpr size_t stack_alignment = 16;             // of sp at entry (SysV ABI)
inline constexpr int errno_2big = 7, errno_inval = 22;    // returned negated

struct ProcessStartInfo {
    const char* const* argv = nullptr;  // nullptr-terminated; nullptr means no arguments
    const char* const* envp = nullptr;  // nullptr-terminated; nullptr means an empty environment
    const char* execfn = nullptr;       // AT_EXECFN: the path the program was run by (required)
    const char* platform = nullptr;     // AT_PLATFORM: "x86_64" or "aarch64" (required)
    const uint8_t* random = nullptr;    // at_random_size bytes for AT_RANDOM (required)

    // Addresses as the program sees them, i.e. with the load bias already added.
    uint64_t phdr = 0;    // AT_PHDR
    uint64_t phent = 0;   // AT_PHENT
    uint64_t phnum = 0;   // AT_PHNUM
    uint64_t entry = 0;   // AT_ENTRY: the program's entry (not the interpreter's)
    uint64_t base = 0;    // AT_BASE: the interpreter's load address, 0 without one
    uint64_t page_size = 4096;
    uint64_t flags = 0;   // AT_FLAGS
    uint64_t uid = 0, euid = 0, gid = 0, egid = 0;
    uint64_t hwcap = 0;
    bool has_hwcap2 = false;
    uint64_t hwcap2 = 0;
    uint64_t sysinfo_ehdr = 0;  // the vDSO's address; 0: no AT_SYSINFO_EHDR entry
};

// Builds the stack in `buffer` (`size` bytes, to be mapped at `stack_address`, growing down
// from its end) and sets `stack_pointer` to the address of argc. Returns 0, -E2BIG when the
// arguments, environment and vectors do not fit, or -EINVAL for a missing required field.
// On failure the buffer's contents are unspecified and `stack_pointer` is unchanged.
int build_initial_stack(void* buffer, size_t size, uint64_t stack_address, const ProcessStartInfo& info,
                        uint64_t& stack_pointer);

}  // namespace mica::loader
