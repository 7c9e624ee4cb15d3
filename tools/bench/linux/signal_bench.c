/*
 * signal_bench.c - /init for tools/bench/signals, run unchanged on Debian's Linux and as
 * Mica's application: signal and process costs, each timed here with CLOCK_MONOTONIC and
 * printed as "bench: <name> <value> <unit>" (ns per operation, us per operation, or MB/s
 * with MB = 10^6 bytes), then "signal_bench: done" and the VM powers off.
 *
 *   signal_raise_handler    raise(SIGUSR1) -> handler -> return (SIGNAL_ROUNDS)
 *   signal_unblock_pending  block SIGUSR1, raise it (now pending), unblock it: the
 *                           sigprocmask call delivers it to the handler (SIGNAL_ROUNDS)
 *   fork_exit_wait          fork, the child _exit(0)s at once, waitpid (FORKS)
 *   fork_exec_wait          fork, the child execve()s this program with EXIT_ARG (which
 *                           exits at once), waitpid (EXECS)
 *   pipeline_4_stages       writer | relay | relay | reader, each a forked process of this
 *                           program, PIPELINE_BYTES in CHUNK-byte writes; from the first fork
 *                           to the last waitpid
 *
 * Build: musl-gcc -static (x86_64) or aarch64-linux-gnu-gcc -static (aarch64, static glibc).
 * Any failure prints "signal_bench: ..." and powers off early, so the tool misses a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench_init.h"

enum {
	SIGNAL_ROUNDS = 20000,
	FORKS = 300,
	EXECS = 100,
	CHUNK = 64 * 1024,
	PIPELINE_BYTES = 64 * 1024 * 1024,
	STAGES = 4,
};

/* The argument that makes an exec'd copy of this program exit at once. */
static const char EXIT_ARG[] = "--exit-at-once";

static const char *self_path = "/init";

static void fail(const char *what)
{
	printf("signal_bench: %s failed: %s\n", what, strerror(errno));
	power_off();
}

/* --------------------------------------------------------------- signals */

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled = handled + 1;
}

static void signal_raise_handler(void)
{
	handled = 0;
	uint64_t start = now_ns();
	for (int i = 0; i < SIGNAL_ROUNDS; ++i)
		if (raise(SIGUSR1) != 0)
			fail("raise");
	uint64_t total = now_ns() - start;
	if (handled != SIGNAL_ROUNDS) {
		printf("signal_bench: raise: %d of %d signals handled\n", (int)handled, SIGNAL_ROUNDS);
		power_off();
	}
	report("signal_raise_handler", total, SIGNAL_ROUNDS);
}

static void signal_unblock_pending(void)
{
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	handled = 0;
	uint64_t start = now_ns();
	for (int i = 0; i < SIGNAL_ROUNDS; ++i) {
		if (sigprocmask(SIG_BLOCK, &usr1, NULL) != 0)
			fail("sigprocmask(SIG_BLOCK)");
		if (raise(SIGUSR1) != 0)
			fail("raise");
		if (handled != i) {
			printf("signal_bench: a blocked SIGUSR1 was handled\n");
			power_off();
		}
		if (sigprocmask(SIG_UNBLOCK, &usr1, NULL) != 0)
			fail("sigprocmask(SIG_UNBLOCK)");
	}
	uint64_t total = now_ns() - start;
	if (handled != SIGNAL_ROUNDS) {
		printf("signal_bench: unblock: %d of %d signals handled\n", (int)handled,
		       SIGNAL_ROUNDS);
		power_off();
	}
	report("signal_unblock_pending", total, SIGNAL_ROUNDS);
}

/* ------------------------------------------------------------- processes */

/* waitpid for pid; anything but a normal exit with status 0 is a failure. */
static void reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("signal_bench: %s child ended with status %#x\n", what, status);
		power_off();
	}
}

static void report_us(const char *name, uint64_t total_ns, uint64_t ops)
{
	printf("bench: %s %.1f us\n", name, total_ns / 1e3 / ops);
	fflush(stdout);
}

static void fork_exit_wait(void)
{
	uint64_t start = now_ns();
	for (int i = 0; i < FORKS; ++i) {
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0)
			_exit(0);
		reap(pid, "fork");
	}
	report_us("fork_exit_wait", now_ns() - start, FORKS);
}

static void fork_exec_wait(void)
{
	char *const argv[] = { (char *)self_path, (char *)EXIT_ARG, NULL };
	char *const envp[] = { NULL };

	uint64_t start = now_ns();
	for (int i = 0; i < EXECS; ++i) {
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			execve(self_path, argv, envp);
			_exit(127);
		}
		reap(pid, "exec");
	}
	report_us("fork_exec_wait", now_ns() - start, EXECS);
}

/* ---------------------------------------------------------------- pipeline */

static char chunk[CHUNK];

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void writer(int out)
{
	memset(chunk, 'x', sizeof chunk);
	for (size_t done = 0; done < PIPELINE_BYTES; done += CHUNK)
		write_all(out, chunk, CHUNK);
	_exit(0);
}

/* Reads to end of file; relays what it reads to out unless out < 0 (the reader), which
 * checks the count instead. */
static void relay(int in, int out)
{
	uint64_t total = 0;

	for (;;) {
		ssize_t n = read(in, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (out >= 0)
			write_all(out, chunk, (size_t)n);
	}
	_exit(total == PIPELINE_BYTES ? 0 : 3);
}

/*
 * Stage i reads pipe i-1 and writes pipe i.  The parent closes each end as soon as the
 * stage that uses it has been forked, so every reader sees end of file once its writer
 * ends (on Mica, where a child runs to its end before the parent goes on, this is also what
 * lets the next stage find all its input already queued).
 */
static void pipeline(void)
{
	pid_t pids[STAGES];
	int in = -1;

	fflush(stdout);
	uint64_t start = now_ns();
	for (int i = 0; i < STAGES; ++i) {
		int p[2] = { -1, -1 };

		if (i < STAGES - 1 && pipe(p) != 0)
			fail("pipe");
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork");
		if (pids[i] == 0) {
			if (p[0] >= 0)
				close(p[0]);
			if (i == 0)
				writer(p[1]);
			relay(in, p[1]);
		}
		if (in >= 0)
			close(in);
		if (p[1] >= 0)
			close(p[1]);
		in = p[0];
	}
	for (int i = 0; i < STAGES; ++i)
		reap(pids[i], "pipeline");
	uint64_t total = now_ns() - start;
	printf("bench: pipeline_4_stages %.1f MB/s\n", PIPELINE_BYTES * 1e3 / total);
	printf("signal_bench: pipeline took %llu ns\n", (unsigned long long)total);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc > 1 && strcmp(argv[1], EXIT_ARG) == 0)
		_exit(0);
	if (argc > 0 && argv[0][0] == '/')
		self_path = argv[0];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		fail("sigaction");
	printf("signal_bench: pid %d, exec path %s\n", (int)getpid(), self_path);
	signal_raise_handler();
	signal_unblock_pending();
	fflush(stdout);	/* children must not inherit buffered output */
	fork_exit_wait();
	fork_exec_wait();
	pipeline();
	printf("signal_bench: done\n");
	power_off();
	return 1;
}
