/*
 * Exception and interrupt entry. One 16-byte stub per vector (so C++ finds stub N at
 * isr_stubs + 16 * N): it pushes a dummy error code where the CPU pushes none, then the
 * vector number, and jumps to the common path, which saves the general registers as a
 * TrapFrame (cpu.h) and calls x86_64_trap(frame). Every vector runs on an IST stack
 * (cpu_tables.cc), so the interrupted code's red zone is never overwritten.
 */
    .section .text
    .balign 16
    .globl isr_stubs
    .hidden isr_stubs
isr_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if !(vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30)
    pushq $0
    .endif
    pushq $vector
    jmp isr_common
    .set vector, vector + 1
    .endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call x86_64_trap
    .globl mica_trap_exit
    .hidden mica_trap_exit
mica_trap_exit:                         /* %rsp = a TrapFrame; interrupts off */
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp                       /* vector and error code */
    iretq

    .section .note.GNU-stack, "", @progbits
