/* Copies that may fault: mica_copy_checked(dst, src, n) returns 0, or -EFAULT (-14) when an
   access faults and demand paging cannot resolve it (the trap handler resumes at the fixup,
   see arch::copy_fixup). Eight bytes at a time, then the rest byte by byte (signal frames
   and system-call arguments are a few hundred bytes to a few KiB). */
    .text
    .globl mica_copy_checked
    .hidden mica_copy_checked
    .type mica_copy_checked, %function
mica_copy_checked:
    cbz x2, 2f
    .globl mica_copy_checked_insn
    .hidden mica_copy_checked_insn
mica_copy_checked_insn:                 /* a fault anywhere up to the fixup is -EFAULT */
    cmp x2, #8
    b.lo 1f
3:  ldr x3, [x1], #8
    str x3, [x0], #8
    sub x2, x2, #8
    cmp x2, #8
    b.hs 3b
    cbz x2, 2f
1:  ldrb w3, [x1], #1
    strb w3, [x0], #1
    subs x2, x2, #1
    b.ne 1b
2:  mov x0, #0
    ret
    .globl mica_copy_checked_fixup
    .hidden mica_copy_checked_fixup
mica_copy_checked_fixup:
    mov x0, #-14
    ret
    .size mica_copy_checked, . - mica_copy_checked

    .section .note.GNU-stack, "", %progbits
