/*
 * floor.S - the smallest possible PVH guest, used as the lower bound
 * ("floor") for boot-time comparisons in tools/bench/boot.
 *
 * QEMU's -kernel loader finds XEN_ELFNOTE_PHYS32_ENTRY in a PT_NOTE segment
 * and jumps there in 32-bit protected mode, paging off.  We immediately write
 * 0 to the isa-debug-exit port, which makes QEMU exit with status (0<<1)|1 = 1.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define DEBUG_EXIT_PORT 0xf4

	.section .note.pvh, "a", @note
	.p2align 2
	.long 2f - 1f			/* namesz */
	.long 4f - 3f			/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY	/* type   */
1:	.asciz "Xen"
2:	.p2align 2
3:	.long pvh_start			/* 32-bit ELF: 4-byte entry address */
4:	.p2align 2

	.text
	.code32
	.globl pvh_start
pvh_start:
	cli
	xorl %eax, %eax
	movw $DEBUG_EXIT_PORT, %dx
	outl %eax, %dx
	/* Only reached if isa-debug-exit is missing: park the CPU. */
1:	hlt
	jmp 1b
