/*
 * disk_init.c - /init of the Linux guest in tools/bench/disk: makes Debian's kernel reach the
 * benchmark's squashfs image the way Mica does with --root=vda, then hands over to the program
 * in the image.
 *
 *   1. devtmpfs on /dev and the console as fds 0, 1, 2 (the initramfs has /dev/console, but
 *      /dev/vda only appears in devtmpfs);
 *   2. loads the modules listed in /modules/order, one file name a line, in that order, with
 *      finit_module(2): Debian builds virtio, virtio_blk and squashfs as modules
 *      (tools/bench/disk packs them, dependencies first, from /lib/modules/<version>);
 *   3. waits for /dev/vda (at most WAIT_DISK_MS), mounts it read-only as squashfs on /mnt, with
 *      devtmpfs on /mnt/dev and procfs on /mnt/proc (Mica mounts devfs and procfs there too;
 *      busybox re-executes itself through /proc/self/exe);
 *   4. chroots into /mnt and execve()s its arguments (everything after "--" on the kernel
 *      command line), e.g. /bench/disk_bench: the very binary Mica runs from the same image.
 *
 * It prints "disk_init: ... at <us> us" (CLOCK_MONOTONIC) as it goes, so the console shows
 * where the time went. Any failure prints "disk_init: ..." and powers the VM off, so the tool
 * misses the program's lines and says so.
 *
 * Build: musl-gcc -static (x86_64) or aarch64-linux-gnu-gcc -static (aarch64, static glibc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench_init.h"

enum {
	WAIT_DISK_MS = 10000,	/* virtio_blk probes synchronously; this is a backstop */
	POLL_MS = 5,
	NAME_MAX_LENGTH = 128,
};

static const char DISK[] = "/dev/vda";
static const char MODULES_DIR[] = "/modules";

static void fail(const char *what, const char *detail)
{
	printf("disk_init: %s%s%s failed: %s\n", what, detail ? " " : "", detail ? detail : "",
	       strerror(errno));
	power_off();
}

static void stamp(const char *what)
{
	printf("disk_init: %s at %llu us\n", what, (unsigned long long)(now_ns() / 1000));
}

static void setup_console(void)
{
	if (mkdir("/dev", 0755) != 0 && errno != EEXIST)
		_exit(2);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0 && errno != EBUSY)
		_exit(3);	/* no console to say so: init exiting panics the kernel */
	int fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		_exit(4);
	for (int i = 0; i < 3; ++i)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static void load_module(const char *name)
{
	char path[sizeof MODULES_DIR + NAME_MAX_LENGTH + 1];

	snprintf(path, sizeof path, "%s/%s", MODULES_DIR, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open", path);
	/* EEXIST: built into this kernel after all, or loaded as a dependency already. */
	if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
		fail("finit_module", path);
	close(fd);
}

static void load_modules(void)
{
	char order[sizeof MODULES_DIR + sizeof "/order"];
	char line[NAME_MAX_LENGTH];

	snprintf(order, sizeof order, "%s/order", MODULES_DIR);
	FILE *f = fopen(order, "r");
	if (!f)
		fail("open", order);
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			load_module(line);
	}
	fclose(f);
}

static void wait_for_disk(void)
{
	struct stat st;

	for (int waited = 0; stat(DISK, &st) != 0; waited += POLL_MS) {
		if (waited >= WAIT_DISK_MS) {
			errno = ENODEV;
			fail("waiting for", DISK);
		}
		usleep(POLL_MS * 1000);
	}
}

int main(int argc, char **argv)
{
	setup_console();
	if (argc < 2) {
		printf("disk_init: no program to run (put it after \"--\" on the kernel command line)\n");
		power_off();
	}
	stamp("started");
	load_modules();
	stamp("modules loaded");
	wait_for_disk();
	if (mkdir("/mnt", 0755) != 0 && errno != EEXIST)
		fail("mkdir", "/mnt");
	if (mount(DISK, "/mnt", "squashfs", MS_RDONLY, NULL) != 0)
		fail("mount squashfs from", DISK);
	if (mount("devtmpfs", "/mnt/dev", "devtmpfs", 0, NULL) != 0)
		fail("mount devtmpfs on", "/mnt/dev (the image needs a /dev directory)");
	if (mount("proc", "/mnt/proc", "proc", 0, NULL) != 0)
		fail("mount proc on", "/mnt/proc (the image needs a /proc directory)");
	if (chdir("/mnt") != 0 || chroot(".") != 0 || chdir("/") != 0)
		fail("chroot", "/mnt");
	stamp("root mounted");
	fflush(stdout);
	static char *const env[] = { "PATH=/bin", "HOME=/", NULL };
	execve(argv[1], argv + 1, env);
	fail("execve", argv[1]);
	return 1;
}
