/*
 * __kernel_rt_sigreturn, as in Linux's arch/arm64/kernel/vdso/sigreturn.S: where a signal
 * handler returns to when its sigaction had no SA_RESTORER. Mica's signal delivery
 * (arch/aarch64/signal_frame.cc) still returns to the kernel's own copy of these two
 * instructions (mica_sigreturn_trampoline): the frame is the same either way, and the kernel's
 * copy needs no per-process address. This one is exported for what looks it up by name
 * (unwinders and debuggers recognise a signal frame by it). The CFI describes the frame the
 * handler returns through: the frame record {x29, x30} at the top of the rt_sigframe, which
 * x29 points at; the nop before the symbol keeps an unwinder's "return address - 1" inside
 * this function.
 */
    .text
    .cfi_startproc
    .cfi_signal_frame
    .cfi_def_cfa x29, 0
    .cfi_offset x29, 0 * 8
    .cfi_offset x30, 1 * 8
    nop
    .globl __kernel_rt_sigreturn
    .type __kernel_rt_sigreturn, %function
__kernel_rt_sigreturn:
    mov x8, #139                        /* rt_sigreturn */
    svc #0
    .size __kernel_rt_sigreturn, . - __kernel_rt_sigreturn
    .cfi_endproc

    .section .note.GNU-stack, "", %progbits
