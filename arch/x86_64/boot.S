/*
 * x86_64 entry through the PVH boot protocol (QEMU -kernel on pc/q35/microvm, Firecracker).
 * The loader enters pvh_start32 in 32-bit protected mode, paging off, with %ebx pointing at
 * the hvm_start_info structure. We record the TSC (boot time is measured from here), build
 * a temporary identity map of the first 4 GiB with 2 MiB pages, enter long mode and call
 * x86_64_start() in C++, which replaces these tables with the final ones.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CR4_PAE         (1 << 5)
#define MSR_EFER        0xc0000080
#define EFER_LME        (1 << 8)
#define CR0_PE          (1 << 0)
#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define PTE_PRESENT_RW  0x3
#define PDE_2MIB        0x83            /* present | writable | page size */
#define BOOT_STACK_SIZE 16384

    .section .note.pvh, "a", @note
    .balign 4
    .long 4                             /* name size: "Xen\0" */
    .long 4                             /* descriptor size */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long pvh_start32

    .section .text.boot, "ax"
    .code32
    .globl pvh_start32
    .hidden pvh_start32
pvh_start32:
    rdtsc
    mov %eax, boot_entry_tsc
    mov %edx, boot_entry_tsc + 4
    mov %ebx, %esi                      /* hvm_start_info, kept for x86_64_start */
    call check_image_in_ram
    /* Zero .bss: loaders need not (QEMU's PVH option ROM copies the file bytes only), and
       with little RAM the firmware has used that memory before us. */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    cld
    rep stosb

    /* PML4[0] -> PDPT; PDPT[0..3] -> four page directories; 2048 x 2 MiB = 4 GiB. The same
       4 GiB also appear at the direct map (PML4[256], traits.h direct_map_base), where
       early allocations are addressed from the start. */
    mov $boot_pdpt + PTE_PRESENT_RW, %eax
    mov %eax, boot_pml4
    mov %eax, boot_pml4 + 256 * 8
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $boot_pd + PTE_PRESENT_RW, %eax
    mov %eax, boot_pdpt(, %ecx, 8)
    inc %ecx
    cmp $4, %ecx
    jb 1b
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $PDE_2MIB, %eax
    mov %eax, boot_pd(, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jb 2b

    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_WP | CR0_PE), %eax
    mov %eax, %cr0
    lgdt boot_gdt_descriptor
    ljmp $0x08, $start64

/*
 * Given too little memory, QEMU loads the image partly past the end of RAM (and the ACPI
 * tables over it) without a word; the first write to .bss would then crash or hang the
 * kernel before it has a console. So before touching anything past the code, look for a
 * RAM entry in the PVH memory map that holds the whole image; without one, say so on the
 * serial port and debugcon, announce exit status 71 (power.h: exit_status::resources) and
 * stop through isa-debug-exit, else halt. Uses no stack and no memory but the start info.
 * (An image that does not even start in RAM never runs: tools/run checks -m for that.)
 */
#define HVM_VERSION         4
#define HVM_MEMMAP_PADDR    40
#define HVM_MEMMAP_ENTRIES  48
#define MEMMAP_ENTRY_SIZE   24
#define E820_RAM            1
#define COM1_DATA           0x3f8
#define DEBUGCON_PORT       0xe9
#define DEBUG_EXIT_PORT     0xf4
#define EXIT_RESOURCES      71
check_image_in_ram:
    cmpl $1, HVM_VERSION(%ebx)
    jb 9f                               /* no memory map: x86_64_start reports it */
    mov HVM_MEMMAP_PADDR(%ebx), %edi
    mov HVM_MEMMAP_ENTRIES(%ebx), %ecx
    test %ecx, %ecx
    jz 9f
1:  cmpl $E820_RAM, 16(%edi)
    jne 2f
    cmpl $0, 4(%edi)                    /* above 4 GiB: not where the image is */
    jne 2f
    mov (%edi), %eax                    /* base */
    cmp $_kernel_start, %eax
    ja 2f
    cmpl $0, 12(%edi)                   /* 4 GiB or more: holds anything from its base */
    jne 9f
    add 8(%edi), %eax                   /* end, with carry: past 4 GiB holds it too */
    jc 9f
    cmp $_kernel_end, %eax
    jae 9f
2:  add $MEMMAP_ENTRY_SIZE, %edi
    dec %ecx
    jnz 1b
    mov $image_not_in_ram, %edi
3:  movzbl (%edi), %eax
    test %eax, %eax
    jz 4f
    mov $COM1_DATA, %dx
    outb %al, %dx
    mov $DEBUGCON_PORT, %dx
    outb %al, %dx
    inc %edi
    jmp 3b
4:  mov $EXIT_RESOURCES, %eax
    mov $DEBUG_EXIT_PORT, %dx
    outl %eax, %dx
5:  cli
    hlt
    jmp 5b
9:  ret
image_not_in_ram:
    .ascii "\r\nmica: error: not enough memory: the kernel image does not fit in RAM; "
    .ascii "give the machine more memory (QEMU -m)\r\nmica: exit status 71\r\n\0"

    .code64
start64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    lea boot_stack_top(%rip), %rsp
    xor %ebp, %ebp                      /* terminates backtraces */
    mov %esi, %edi                      /* zero-extends the start_info address */
    call x86_64_start
    ud2

    .section .rodata.boot, "a"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
boot_gdt_end:
boot_gdt_descriptor:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .data
    .balign 8
    .globl boot_entry_tsc
    .hidden boot_entry_tsc
boot_entry_tsc:
    .quad 0

    .section .bss.boot, "aw", @nobits
    .balign 4096
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
    .section .noinit.boot, "aw", @nobits /* not zeroed (kernel.ld): written before read */
    .balign 4096
boot_pd:    .skip 4 * 4096
    .balign 16
boot_stack: .skip BOOT_STACK_SIZE
    .globl boot_stack_top
    .hidden boot_stack_top
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
