/*
 * aarch64 entry through the Linux arm64 Image header (QEMU -kernel on virt, Firecracker):
 * the loader puts the image at RAM base + text_offset and jumps to its first byte with x0
 * pointing at the device tree, MMU off, at EL1 (or EL2, which we leave for EL1).
 * We read the counter (boot time is measured from here), zero .bss, take exceptions on a
 * stack of their own (SP_EL1) while everything else runs on SP_EL0 (EL1t), and call
 * aarch64_start() in C++.
 */
#define HCR_EL2_RW        (1 << 31)
#define SPSR_EL1H_MASKED  0x3c5
#define CNTHCTL_EL1_ACCESS 0x3

    .section .text.head, "ax"
    .globl _head
    .hidden _head
_head:
    b aarch64_entry                     /* code0 */
    .long 0                             /* code1 */
    .quad 0x80000                       /* text_offset: where the loader puts us above RAM base */
    .quad _kernel_image_size            /* image_size, .bss included */
    .quad 0x2                           /* flags: little endian, 4 KiB pages, placed low */
    .quad 0, 0, 0
    .ascii "ARM\x64"                    /* magic */
    .long 0

aarch64_entry:
    mov x19, x0                         /* device tree */
    isb
    mrs x20, cntvct_el0

    mrs x1, CurrentEL
    lsr x1, x1, #2
    cmp x1, #2
    b.ne 1f
    /* EL2: run the kernel at EL1 in AArch64, with access to the counter and timer. */
    mov x1, #HCR_EL2_RW
    msr hcr_el2, x1
    mov x1, #CNTHCTL_EL1_ACCESS
    msr cnthctl_el2, x1
    msr cntvoff_el2, xzr
    mov x1, #SPSR_EL1H_MASKED
    msr spsr_el2, x1
    adr x1, 1f
    msr elr_el2, x1
    eret
1:
    /* Zero .bss (the Image file does not contain it). */
    adrp x1, __bss_start
    add x1, x1, :lo12:__bss_start
    adrp x2, __bss_end
    add x2, x2, :lo12:__bss_end
2:  cmp x1, x2
    b.hs 3f
    str xzr, [x1], #8
    b 2b
3:
    adrp x1, boot_entry_cycles
    str x20, [x1, :lo12:boot_entry_cycles]

    /* Exceptions run on SP_EL1 (their own stack); the kernel and application on SP_EL0. */
    adrp x1, exception_stack_top
    add x1, x1, :lo12:exception_stack_top
    mov sp, x1
    msr spsel, #0
    adrp x1, boot_stack_top
    add x1, x1, :lo12:boot_stack_top
    mov sp, x1

    adrp x1, exception_vectors
    add x1, x1, :lo12:exception_vectors
    msr vbar_el1, x1
    isb

    mov x0, x19
    mov x29, xzr                        /* terminates backtraces */
    mov x30, xzr
    bl aarch64_start
4:  wfi
    b 4b

    .section .data
    .balign 8
    .globl boot_entry_cycles
    .hidden boot_entry_cycles
boot_entry_cycles:
    .quad 0

    .section .bss
    .balign 16
boot_stack:
    .skip 16384
    .globl boot_stack_top
    .hidden boot_stack_top
boot_stack_top:
exception_stack:
    .skip 16384
    .globl exception_stack_top
    .hidden exception_stack_top
exception_stack_top:

    .section .note.GNU-stack, "", @progbits
