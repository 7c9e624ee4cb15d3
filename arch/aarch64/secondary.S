/*
 * Secondary CPU entry (PSCI CPU_ON with context x0 = &SecondaryBoot, see smp.cc): turn on
 * the MMU with the boot CPU's tables first (so everything after sees the same memory types),
 * then the stacks (SP_EL1 for exceptions, SP_EL0 for the CPU's idle context), the vectors
 * and the CPU index, and call aarch64_secondary_start(index).
 */
    .section .text
    .globl secondary_entry
    .hidden secondary_entry
secondary_entry:
    ldr x1, [x0, #16]
    msr mair_el1, x1
    ldr x1, [x0, #24]
    msr tcr_el1, x1
    ldr x1, [x0, #32]
    msr ttbr0_el1, x1
    isb
    tlbi vmalle1
    dsb nsh
    isb
    ldr x1, [x0, #40]
    msr sctlr_el1, x1
    isb
    ldr x1, [x0, #8]
    mov sp, x1                          /* EL1h at entry: this is SP_EL1 */
    msr spsel, #0
    ldr x1, [x0, #0]
    mov sp, x1
    adrp x1, exception_vectors
    add x1, x1, :lo12:exception_vectors
    msr vbar_el1, x1
    isb
    ldr x1, [x0, #48]
    msr tpidr_el1, x1
    mov x0, x1
    mov x29, xzr
    mov x30, xzr
    bl aarch64_secondary_start
1:  wfi
    b 1b

    .section .note.GNU-stack, "", @progbits
