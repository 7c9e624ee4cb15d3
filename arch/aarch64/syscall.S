/*
 * System calls on aarch64: `svc #0` at EL1 is a synchronous exception on the thread's SP_EL1
 * exception stack (vectors.S); traps.cc hands it to aarch64_syscall (app.cc), which runs the
 * call through mica_syscall_on_sp0 on the thread's kernel stack in thread mode (SP_EL0,
 * interrupts on), like any kernel code, so the call may block or be preempted.
 *
 * void mica_syscall_on_sp0(uintptr_t stack_top, void (*fn)(void*), void* arg,
 *                          uintptr_t* exception_top)
 * While fn runs, *exception_top (the thread's SP_EL1 for exceptions, which the scheduler
 * loads when it resumes the thread) points below this frame, so an interrupt during the call
 * cannot overwrite the system call's trap frame.
 */
    .section .text
    .globl mica_syscall_on_sp0
    .hidden mica_syscall_on_sp0
mica_syscall_on_sp0:
    stp x29, x30, [sp, #-48]!
    stp x19, x20, [sp, #16]
    str x21, [sp, #32]
    mov x29, sp
    mov x19, x3
    ldr x20, [x3]
    mov x9, sp
    str x9, [x3]
    mrs x21, sp_el0
    msr sp_el0, x0
    msr spsel, #0                       /* sp is now the kernel stack */
    msr daifclr, #2
    mov x0, x2
    blr x1
    msr daifset, #2
    msr spsel, #1                       /* back on this frame */
    msr sp_el0, x21
    str x20, [x19]
    ldr x21, [sp, #32]
    ldp x19, x20, [sp, #16]
    ldp x29, x30, [sp], #48
    ret

/* [[noreturn]] void mica_resume_frame(const TrapFrame* frame): returns from an exception
   that never happened on this thread - a clone() child starts in its parent's system
   call. `frame` must be on the thread's exception stack. */
    .globl mica_resume_frame
    .hidden mica_resume_frame
mica_resume_frame:
    msr daifset, #2
    msr spsel, #1
    mov sp, x0
    b mica_trap_return

/* void mica_reset_exception_stack(uintptr_t top): SP_EL1 = top (called in thread mode). */
    .globl mica_reset_exception_stack
    .hidden mica_reset_exception_stack
mica_reset_exception_stack:
    msr daifset, #2
    msr spsel, #1
    mov sp, x0
    msr spsel, #0
    ret

/* [[noreturn]] void mica_enter_application(uintptr_t entry, uintptr_t sp): Linux process
   entry - sp at argc, x0 0 (no function for atexit), everything else 0. */
    .globl mica_enter_application
    .hidden mica_enter_application
mica_enter_application:
    msr daifset, #2
    mov sp, x1
    mov x16, x0
    mov x0, #0
    mov x1, #0
    mov x2, #0
    mov x3, #0
    mov x4, #0
    mov x5, #0
    mov x6, #0
    mov x7, #0
    mov x8, #0
    mov x9, #0
    mov x10, #0
    mov x11, #0
    mov x12, #0
    mov x13, #0
    mov x14, #0
    mov x15, #0
    mov x17, #0
    mov x18, #0
    mov x19, #0
    mov x20, #0
    mov x21, #0
    mov x22, #0
    mov x23, #0
    mov x24, #0
    mov x25, #0
    mov x26, #0
    mov x27, #0
    mov x28, #0
    mov x29, #0
    mov x30, #0
    msr daifclr, #2
    br x16

/* Where a handler returns when its sigaction had no SA_RESTORER (glibc and musl give none
   on aarch64: Linux's vDSO has this trampoline, Mica's kernel image does). */
    .globl mica_sigreturn_trampoline
    .hidden mica_sigreturn_trampoline
mica_sigreturn_trampoline:
    mov x8, #139                        /* rt_sigreturn */
    svc #0
    udf #0

/* Floating-point/SIMD state: 32 q registers, then FPCR and FPSR. */
    .globl mica_fp_save
    .hidden mica_fp_save
mica_fp_save:
    stp q0, q1, [x0, #0]
    stp q2, q3, [x0, #32]
    stp q4, q5, [x0, #64]
    stp q6, q7, [x0, #96]
    stp q8, q9, [x0, #128]
    stp q10, q11, [x0, #160]
    stp q12, q13, [x0, #192]
    stp q14, q15, [x0, #224]
    stp q16, q17, [x0, #256]
    stp q18, q19, [x0, #288]
    stp q20, q21, [x0, #320]
    stp q22, q23, [x0, #352]
    stp q24, q25, [x0, #384]
    stp q26, q27, [x0, #416]
    stp q28, q29, [x0, #448]
    stp q30, q31, [x0, #480]
    mrs x1, fpcr
    mrs x2, fpsr
    add x0, x0, #512
    stp x1, x2, [x0]
    ret

    .globl mica_fp_load
    .hidden mica_fp_load
mica_fp_load:
    ldp q0, q1, [x0, #0]
    ldp q2, q3, [x0, #32]
    ldp q4, q5, [x0, #64]
    ldp q6, q7, [x0, #96]
    ldp q8, q9, [x0, #128]
    ldp q10, q11, [x0, #160]
    ldp q12, q13, [x0, #192]
    ldp q14, q15, [x0, #224]
    ldp q16, q17, [x0, #256]
    ldp q18, q19, [x0, #288]
    ldp q20, q21, [x0, #320]
    ldp q22, q23, [x0, #352]
    ldp q24, q25, [x0, #384]
    ldp q26, q27, [x0, #416]
    ldp q28, q29, [x0, #448]
    ldp q30, q31, [x0, #480]
    add x0, x0, #512
    ldp x1, x2, [x0]
    msr fpcr, x1
    msr fpsr, x2
    ret

    .section .note.GNU-stack, "", %progbits
