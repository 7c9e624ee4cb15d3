/*
 * init.c - /init for the Linux reference guest in tools/bench/boot.
 * Prints one line on the console and powers the VM off at once, so the
 * measured wall time is "QEMU start -> Linux userspace reached -> exit".
 * Built with: musl-gcc -static -Os (x86_64), aarch64-linux-gnu-gcc -static -Os
 * (aarch64: static glibc, as Debian has no arm64 musl-gcc cross wrapper).
 */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	static const char msg[] = "hello from linux\n";

	write(STDOUT_FILENO, msg, sizeof msg - 1);
	/* No sync(): nothing to flush, and we want to exit as fast as possible. */
	reboot(RB_POWER_OFF);
	return 1; /* only if reboot() failed; the kernel then panics (panic=-1) */
}
