/*
 * void mica_switch_stacks(uintptr_t* save_sp, uintptr_t new_sp)
 * Saves the System V callee-saved registers on the current stack, stores the stack pointer,
 * loads the next thread's and restores its registers; `ret` continues where that thread
 * called this (or, for a new thread, at its start function: see prepare_thread_stack).
 */
    .section .text
    .globl mica_switch_stacks
    .hidden mica_switch_stacks
mica_switch_stacks:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

    .section .note.GNU-stack, "", @progbits
