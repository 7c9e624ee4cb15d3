/*
 * void mica_switch_stacks(uintptr_t* save_sp, uintptr_t new_sp, uintptr_t exception_top)
 * Saves the AAPCS64 callee-saved registers and SPSel (which stack pointer the thread was
 * using: SP_EL0 in thread code, SP_EL1 inside an exception handler) on the current stack,
 * stores the stack pointer, then resumes the next thread on the stack it was switched out
 * on. A thread resumed in thread code gets exception_top as its SP_EL1, so its exceptions
 * land on its own exception stack; one resumed inside a handler is already on it.
 */
#define SWITCH_FRAME 112

    .section .text
    .globl mica_switch_stacks
    .hidden mica_switch_stacks
mica_switch_stacks:
    sub sp, sp, #SWITCH_FRAME
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mrs x3, spsel
    str x3, [sp, #96]
    mov x3, sp
    str x3, [x0]

    ldr x3, [x1, #96]
    cbnz x3, 1f
    msr spsel, #1
    mov sp, x2
    msr spsel, #0
    mov sp, x1
    b 2f
1:  msr spsel, #1
    mov sp, x1
2:  ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #SWITCH_FRAME
    ret

    .section .note.GNU-stack, "", @progbits
