/*
 * floor-aarch64.S - the smallest possible arm64 guest, used as the lower
 * bound ("floor") for boot-time comparisons in tools/bench/boot --arch aarch64.
 *
 * It is a Linux arm64 Image (Documentation/arch/arm64/booting.rst) so that
 * QEMU's -kernel loads it exactly like Mica's and Debian's kernels: at RAM
 * base + text_offset, MMU off, entered at offset 0.  The code at once makes
 * the Arm semihosting SYS_EXIT_EXTENDED call with ADP_Stopped_ApplicationExit
 * and exit code 0, so QEMU (-semihosting-config enable=on) exits with status 0.
 */
#define SYS_EXIT_EXTENDED		0x20
#define ADP_Stopped_ApplicationExit	0x20026

	.section .text.head, "ax"
	.globl _start
_start:
	/* 64-byte Image header. */
	b	entry			/* code0: branch to the code */
	.long	0			/* code1 */
	.quad	0x80000			/* text_offset: the usual 512 KiB */
	.quad	_end - _start		/* image_size */
	.quad	0x2			/* flags: little-endian, 4 KiB pages */
	.quad	0, 0, 0			/* res2..res4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5 (PE header offset): none */

entry:
	mov	w0, #SYS_EXIT_EXTENDED
	adr	x1, exit_block		/* PC-relative: MMU off, any load address */
	hlt	#0xf000			/* A64 semihosting trap */
	/* Only reached if semihosting is disabled: park the CPU. */
1:	wfi
	b	1b

	.p2align 3
exit_block:
	.quad	ADP_Stopped_ApplicationExit	/* reason */
	.quad	0				/* exit status */
