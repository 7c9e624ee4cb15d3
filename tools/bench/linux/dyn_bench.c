/*
 * dyn_bench.c - /init for tools/bench/dynamic, run unchanged on Debian's Linux and as Mica's
 * application: how long programs take from start to exit, dynamically linked ones above all.
 * Each measurement runs one program PROGRAMS[i].runs times, each run timed here with
 * CLOCK_MONOTONIC from before fork() to after waitpid() (fork + execve + the program's whole
 * life + exit + waitpid), and prints "bench: <name> <mean> us", then "dyn_bench: done", and
 * the VM powers off.
 *
 * The child's stdout goes to /dev/null (its stderr stays on the console, where a failing
 * program says why). Before the timed runs, one untimed run with stdout on a pipe checks that
 * the program prints what it should (and warms the caches of both kernels alike). Every run
 * must exit with status 0. Children get the same small environment on both kernels.
 *
 * On Linux this is pid 1 of an initramfs built by tools/mkramfs, which cannot create device
 * nodes: without /dev/console the kernel starts it with no stdout, so it mounts devtmpfs on
 * /dev itself and opens the console. Mica has /dev (devfs) and a console already.
 *
 * Build: musl-gcc -static (x86_64) or aarch64-linux-gnu-gcc -static (aarch64, static glibc).
 * Any failure prints "dyn_bench: ..." and powers off early, so the tool misses a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench_init.h"

enum { MAX_ARGS = 4, MAX_RUNS = 50, OUTPUT_MAX = 4096 };

struct program {
	const char *name;		/* the measurement's name in "bench:" lines */
	int runs;			/* timed runs, at most MAX_RUNS */
	const char *argv[MAX_ARGS + 1];
	const char *output;		/* exactly what the program prints on stdout */
};

/* The paths are those tools/bench/dynamic packs into the archive. */
static const struct program PROGRAMS[] = {
	{ "exec_static_hello", 50, { "/bin/hello-static" }, "hello\n" },
	{ "exec_glibc_dynamic_hello", 50, { "/bin/hello-glibc" }, "hello\n" },
#ifdef __x86_64__	/* Debian has no arm64 musl cross compiler */
	{ "exec_musl_dynamic_hello", 50, { "/bin/hello-musl" }, "hello\n" },
#endif
	{ "python3_c_pass", 5, { "/usr/bin/python3", "-c", "pass" }, "" },
	{ "python3_import_json_re_hashlib_sqlite3", 3,
	  { "/usr/bin/python3", "-c", "import json, re, hashlib, sqlite3" }, "" },
};

static char *const CHILD_ENV[] = { "PATH=/usr/bin:/bin", "HOME=/", NULL };

static int dev_null = -1;

static void fail(const char *what)
{
	printf("dyn_bench: %s failed: %s\n", what, strerror(errno));
	power_off();
}

/* Linux without /dev/console in the initramfs: devtmpfs on /dev, and the console as 0, 1, 2. */
static void setup_devices(void)
{
	int console_missing = fcntl(STDOUT_FILENO, F_GETFD) < 0;

	dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (dev_null >= 0 && !console_missing)
		return;
	if (mkdir("/dev", 0755) != 0 && errno != EEXIST)
		_exit(2);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0 && errno != EBUSY)
		_exit(3);	/* no console to say so: init exiting panics the kernel */
	if (console_missing) {
		int fd = open("/dev/console", O_RDWR);
		if (fd < 0)
			_exit(4);
		for (int i = 0; i < 3; ++i)
			if (fd != i)
				dup2(fd, i);
		if (fd > 2)
			close(fd);
	}
	if (dev_null < 0)
		dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (dev_null < 0)
		fail("open /dev/null");
}

/* Runs p once with stdout on out_fd; returns the time from fork to reaped exit. */
static uint64_t run_once(const struct program *p, int out_fd)
{
	int status;

	uint64_t start = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		if (dup2(out_fd, STDOUT_FILENO) < 0)
			_exit(126);
		execve(p->argv[0], (char *const *)p->argv, CHILD_ENV);
		dprintf(STDERR_FILENO, "dyn_bench: execve %s failed: %s\n", p->argv[0],
			strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	uint64_t took = now_ns() - start;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("dyn_bench: %s ended with wait status %#x\n", p->argv[0], status);
		power_off();
	}
	return took;
}

/* The untimed first run: stdout through a pipe, compared with what the program must print. */
static void check_output(const struct program *p)
{
	static char got[OUTPUT_MAX];
	int fds[2];
	size_t length = 0;

	if (pipe2(fds, O_CLOEXEC) != 0)
		fail("pipe");
	uint64_t took = run_once(p, fds[1]);
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], got + length, sizeof got - 1 - length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read");
		if (n == 0 || (length += (size_t)n) == sizeof got - 1)
			break;
	}
	close(fds[0]);
	got[length] = '\0';
	if (strcmp(got, p->output) != 0) {
		printf("dyn_bench: %s printed \"%s\", want \"%s\"\n", p->argv[0], got, p->output);
		power_off();
	}
	printf("dyn_bench: %s first run %.1f us\n", p->name, took / 1e3);
}

int main(void)
{
	setup_devices();
	printf("dyn_bench: pid %d\n", (int)getpid());
	for (size_t i = 0; i < sizeof PROGRAMS / sizeof PROGRAMS[0]; ++i) {
		const struct program *p = &PROGRAMS[i];

		if (p->runs < 1 || p->runs > MAX_RUNS) {
			printf("dyn_bench: %s: %d runs (1 to %d)\n", p->name, p->runs, MAX_RUNS);
			power_off();
		}
		fflush(stdout);	/* children must not inherit buffered output */
		check_output(p);
		fflush(stdout);
		uint64_t took[MAX_RUNS], total = 0;
		for (int r = 0; r < p->runs; ++r)
			total += took[r] = run_once(p, dev_null);
		printf("bench: %s %.1f us\n", p->name, total / 1e3 / p->runs);
		/* Each run, to show a trend (a kernel that slows down as processes come and go). */
		printf("dyn_bench: %s runs (us):", p->name);
		for (int r = 0; r < p->runs; ++r)
			printf(" %.0f", took[r] / 1e3);
		printf("\n");
	}
	printf("dyn_bench: done\n");
	power_off();
	return 1;
}
