// The registers syscall.S saves on a system call, lowest address first.
#pragma once

#include <stdint.h>

namespace mica::x86 {

struct SyscallFrame {
    uint64_t r15, r14, r13, r12, rbp, rbx, r9, r8, r10, rdx, rsi, rdi, rax;
    uint64_t rip;     // from %rcx
    uint64_t rflags;  // from %r11
    uint64_t rsp;     // the application's
};
static_assert(sizeof(SyscallFrame) == 16 * 8);

}  // namespace mica::x86
