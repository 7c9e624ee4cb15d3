/* Copies that may fault: mica_copy_checked(dst, src, n) returns 0, or -EFAULT (-14) when an
   access faults and demand paging cannot resolve it (the trap handler resumes at the fixup,
   see arch::copy_fixup). */
    .text
    .globl mica_copy_checked
    .hidden mica_copy_checked
    .type mica_copy_checked, @function
mica_copy_checked:
    mov %rdx, %rcx
    shr $3, %rcx                        /* whole quadwords first: far fewer iterations under TCG */
    .globl mica_copy_checked_insn
    .hidden mica_copy_checked_insn
mica_copy_checked_insn:                 /* a fault anywhere up to the fixup is -EFAULT */
    rep movsq
    mov %rdx, %rcx
    and $7, %rcx
    rep movsb
    xor %eax, %eax
    ret
    .globl mica_copy_checked_fixup
    .hidden mica_copy_checked_fixup
mica_copy_checked_fixup:
    mov $-14, %rax
    ret
    .size mica_copy_checked, . - mica_copy_checked

    .section .note.GNU-stack, "", @progbits
