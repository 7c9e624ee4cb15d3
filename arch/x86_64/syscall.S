/*
 * System-call entry for applications running at CPL 0 (single address space). `syscall`
 * leaves the return address in %rcx and the flags in %r11 and masks IF/DF/TF/AC (SFMASK);
 * it switches no stack, so the entry moves to the thread's kernel stack (per-CPU slot,
 * cpu.cc: %gs:8) before pushing anything - the application's red zone below %rsp is never
 * touched. The registers are saved as a SyscallFrame (include/arch/x86_64/syscall.h) and
 * x86_64_syscall(frame) dispatches. The way back cannot be `sysret` (it drops to CPL 3):
 * restore the registers, the flags with popfq (interrupts may come from here on: they use
 * IST stacks), the application's %rsp, and jump to the saved %rip.
 */
    .section .text
    .globl mica_syscall_entry
    .hidden mica_syscall_entry
    .type mica_syscall_entry, @function
mica_syscall_entry:
    mov %rsp, %gs:16                    /* the application's stack pointer, for a moment */
    mov %gs:8, %rsp                     /* this thread's kernel stack */
    pushq %gs:16
    push %r11                           /* rflags */
    push %rcx                           /* rip */
    push %rax
    push %rdi
    push %rsi
    push %rdx
    push %r10
    push %r8
    push %r9
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    xor %ebp, %ebp                      /* backtraces stop here */
    mov %rsp, %rdi
    call x86_64_syscall                 /* 16 words pushed: %rsp is 16-byte aligned */
    .globl mica_syscall_exit
    .hidden mica_syscall_exit
mica_syscall_exit:                      /* also where a new clone() child starts (%rsp = frame) */
    cli
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    pop %r9
    pop %r8
    pop %r10
    pop %rdx
    pop %rsi
    pop %rdi
    pop %rax
    pop %rcx
    popfq
    pop %rsp
    jmp *%rcx
    .size mica_syscall_entry, . - mica_syscall_entry

/* void mica_resume_syscall_frame(SyscallFrame* frame): leaves through the exit path. */
    .globl mica_resume_syscall_frame
    .hidden mica_resume_syscall_frame
mica_resume_syscall_frame:
    mov %rdi, %rsp
    jmp mica_syscall_exit

/* [[noreturn]] void mica_signal_exit(TrapFrame* frame, const SyscallReturn* syscall): the
   way back to application code through a delivery point (signal_frame.cc). `frame` is on
   this thread's kernel stack with nothing of value below it; x86_64_signal_exit may point
   it at a handler, then it is restored in full and iretq resumes it (unlike the system-call
   exit, which cannot give back %rcx and %r11). Interrupts are off. */
    .globl mica_signal_exit
    .hidden mica_signal_exit
mica_signal_exit:
    mov %rdi, %rsp
    call x86_64_signal_exit             /* %rsp is 16-byte aligned (a TrapFrame is 176 bytes) */
    jmp mica_trap_exit

/* [[noreturn]] void mica_restore_trap_frame(TrapFrame* frame): restores every register from
   `frame` (16-byte aligned, on this thread's kernel stack) and iretq. Interrupts are off. */
    .globl mica_restore_trap_frame
    .hidden mica_restore_trap_frame
mica_restore_trap_frame:
    mov %rdi, %rsp
    jmp mica_trap_exit

/* Where a handler returns when its sigaction had no SA_RESTORER (libcs always give one). */
    .globl mica_sigreturn_trampoline
    .hidden mica_sigreturn_trampoline
mica_sigreturn_trampoline:
    mov $15, %eax                       /* rt_sigreturn */
    syscall
    ud2

/* [[noreturn]] void mica_enter_application(uintptr_t entry, uintptr_t sp): the Linux
   process entry state - %rsp at argc, %rdx 0 (no function for atexit), everything else 0. */
    .globl mica_enter_application
    .hidden mica_enter_application
mica_enter_application:
    mov %rsi, %rsp
    mov %rdi, %rcx
    xor %eax, %eax
    xor %ebx, %ebx
    xor %edx, %edx
    xor %esi, %esi
    xor %edi, %edi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    sti
    jmp *%rcx

    .section .note.GNU-stack, "", @progbits
