/*
 * Application processor start-up code, copied to TRAMPOLINE_BASE (below 1 MiB, where a
 * SIPI can point) by smp.cc. The AP starts in real mode at TRAMPOLINE_BASE; we go through
 * protected mode to long mode with the boot CPU's page tables, then jump to the kernel.
 * Addresses are computed for the copy's location. smp.cc fills the parameter block at
 * the end (offsets must match TrampolineParams there).
 */
#define TRAMPOLINE_BASE 0x8000
#define AT(label) (TRAMPOLINE_BASE + (label - trampoline_start))

    .section .rodata
    .globl trampoline_start, trampoline_end
    .hidden trampoline_start, trampoline_end
    .balign 16
trampoline_start:
    .code16
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl AT(tramp_gdt_descriptor)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $AT(tramp_protected)

    .code32
tramp_protected:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $(1 << 5), %eax                  /* PAE */
    mov %eax, %cr4
    mov AT(tramp_cr3), %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx               /* EFER */
    rdmsr
    or $(1 << 8), %eax                  /* LME */
    or AT(tramp_efer), %eax             /* NXE where the boot CPU has it */
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax   /* PG, WP */
    mov %eax, %cr0
    ljmp $0x18, $AT(tramp_long)

    .code64
tramp_long:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov AT(tramp_stack), %rsp
    mov AT(tramp_index), %rdi
    xor %ebp, %ebp
    mov AT(tramp_entry), %rax
    call *%rax
1:  hlt
    jmp 1b

    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff            /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
    .quad 0x00af9a000000ffff            /* 0x18: 64-bit code */
tramp_gdt_descriptor:
    .word tramp_gdt_descriptor - tramp_gdt - 1
    .long AT(tramp_gdt)

    .balign 8
    .globl trampoline_params
    .hidden trampoline_params
trampoline_params:
tramp_cr3:   .quad 0
tramp_stack: .quad 0
tramp_entry: .quad 0
tramp_index: .quad 0
tramp_efer:  .quad 0
trampoline_end:

    .section .note.GNU-stack, "", @progbits
