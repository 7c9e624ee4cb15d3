/*
 * EL1 exception vectors. Each entry reserves a TrapFrame (cpu.h) on SP_EL1, saves x0/x1,
 * and jumps to the common path with the entry's kind in x1; the common path saves the rest
 * and calls aarch64_trap(frame, kind). Kinds: 0-3 sync/irq/fiq/serror from EL1t (the normal
 * case: kernel and application run on SP_EL0), 4-7 the same from EL1h (a fault inside an
 * exception handler), 8-15 from lower ELs (not used: everything runs at EL1).
 * If the handler returns, the (possibly updated) frame is restored and execution resumes.
 */
#define FRAME_SIZE 288

.macro VENTRY kind
    .balign 0x80
    sub sp, sp, #FRAME_SIZE
    stp x0, x1, [sp, #0]
    mov x1, #\kind
    b trap_common
.endm

    .section .text
    .balign 2048
    .globl exception_vectors
    .hidden exception_vectors
exception_vectors:
    VENTRY 0
    VENTRY 1
    VENTRY 2
    VENTRY 3
    VENTRY 4
    VENTRY 5
    VENTRY 6
    VENTRY 7
    VENTRY 8
    VENTRY 9
    VENTRY 10
    VENTRY 11
    VENTRY 12
    VENTRY 13
    VENTRY 14
    VENTRY 15

trap_common:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x2, sp_el0
    stp x30, x2, [sp, #240]
    mrs x2, elr_el1
    mrs x3, spsr_el1
    stp x2, x3, [sp, #256]
    mrs x2, esr_el1
    mrs x3, far_el1
    stp x2, x3, [sp, #272]
    mov x0, sp
    bl aarch64_trap
    .globl mica_trap_return
    .hidden mica_trap_return
mica_trap_return:                       /* sp = a TrapFrame on SP_EL1, interrupts masked */
    ldp x2, x3, [sp, #256]
    msr elr_el1, x2
    msr spsr_el1, x3
    /* Another thread may have run on this CPU meanwhile (preemption): give the interrupted
       code back its own SP_EL0. */
    ldr x2, [sp, #248]
    msr sp_el0, x2
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    ldr x30, [sp, #240]
    ldp x0, x1, [sp, #0]
    add sp, sp, #FRAME_SIZE
    eret

/*
 * uint64_t mica_semihosting_call(uint64_t op, const void* arg): the semihosting trap. QEMU
 * handles it only when started with -semihosting; otherwise HLT is an undefined instruction,
 * and aarch64_trap resumes after it with x0 = -1 (see traps.cc).
 */
    .globl mica_semihosting_call
    .hidden mica_semihosting_call
    .globl mica_semihosting_hlt
    .hidden mica_semihosting_hlt
mica_semihosting_call:
mica_semihosting_hlt:
    hlt #0xf000
    ret

    .section .note.GNU-stack, "", @progbits
