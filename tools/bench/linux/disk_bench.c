/*
 * disk_bench.c - the program tools/bench/disk runs from its squashfs image, at /bench/disk_bench,
 * unchanged on both kernels: Mica boots it from the image (tools/run --root IMAGE -- ...), the
 * Linux guest's /init (disk_init.c) mounts the same image on the same virtio-blk device, chroots
 * into it and execs it. It times everything itself with CLOCK_MONOTONIC and prints
 * "bench: <name> <value> <unit>" lines, then "disk_bench: done", and powers the VM off.
 *
 *   disk_bench            every measurement below
 *   disk_bench --exit     prints "disk_bench: started" and powers off at once (boot to
 *                         application, timed by the tool from outside)
 *   disk_bench --script   runs the script once, checks it, powers off (the Linux guest's
 *                         smallest-memory search; Mica runs busybox as its application)
 *
 * Measurements (the image's files are listed in /bench/expected, written by the tool):
 *   read_cold_<file>, read_warm_<file>   MB/s (10^6 bytes) of open + read() of the whole file
 *                  in READ_CHUNK chunks + close: the first read since boot (from the disk),
 *                  then the second (from the page cache if the kernel kept it). A third,
 *                  untimed pass checks the content against the expected checksum.
 *   exec_busybox_true_cold, exec_busybox_true_warm   us: fork + execve("/bin/busybox",
 *                  "true") + waitpid; the first since boot, then the mean of EXEC_RUNS
 *   exec_script_cold, exec_script_warm   us: the same for /bin/sh /bench/script.sh (busybox's
 *                  shell running a few applets), its stdout read through a pipe and compared
 *                  with /bench/script.out on every run
 *
 * /bench/expected: "file <path> <size> <checksum>" lines. The checksum is computed here and by
 * the tool alike: the file in 4 KiB pages (the last one padded with zeros), each page's sum of
 * little-endian 64-bit words, and the page sums weighted by 2 * page index + 1, all modulo
 * 2^64: cheap to compute in Python, and it notices swapped or misplaced pages.
 *
 * Build: musl-gcc -static (x86_64) or aarch64-linux-gnu-gcc -static (aarch64, static glibc).
 * Any failure prints "disk_bench: ..." and powers off early, so the tool misses a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench_init.h"

enum {
	READ_CHUNK = 128 * 1024,
	CHECK_PAGE = 4096,
	EXEC_RUNS = 20,
	SCRIPT_RUNS = 10,
	MAX_FILES = 4,
	PATH_MAX_LENGTH = 256,
	OUTPUT_MAX = 4096,
};

static const char EXPECTED[] = "/bench/expected";
static const char SCRIPT_OUT[] = "/bench/script.out";
static char *const CHILD_ENV[] = { "PATH=/bin", "HOME=/", NULL };
static char *const BUSYBOX_TRUE[] = { "/bin/busybox", "true", NULL };
static char *const SCRIPT[] = { "/bin/sh", "/bench/script.sh", NULL };

struct file {
	char path[PATH_MAX_LENGTH];
	uint64_t size, checksum;
};

static unsigned char chunk[READ_CHUNK] __attribute__((aligned(CHECK_PAGE)));

static void fail(const char *what, const char *detail)
{
	printf("disk_bench: %s %s failed: %s\n", what, detail, strerror(errno));
	power_off();
}

static void die(const char *message, const char *detail)
{
	printf("disk_bench: %s%s\n", message, detail);
	power_off();
}

static int read_expected(struct file *files)
{
	char line[PATH_MAX_LENGTH + 64], path[PATH_MAX_LENGTH];
	int count = 0;

	FILE *f = fopen(EXPECTED, "r");
	if (!f)
		fail("open", EXPECTED);
	while (fgets(line, sizeof line, f)) {
		struct file *file = &files[count];
		if (count == MAX_FILES)
			die("too many files in ", EXPECTED);
		if (sscanf(line, "file %255s %" SCNu64 " %" SCNu64, path, &file->size,
			   &file->checksum) != 3)
			die("bad line in /bench/expected: ", line);
		strcpy(file->path, path);
		++count;
	}
	fclose(f);
	if (count == 0)
		die("no files in ", EXPECTED);
	return count;
}

/* Fills chunk from fd (read() may return less than asked); the bytes read, 0 at the end. */
static size_t read_chunk(int fd, const char *path)
{
	size_t got = 0;

	while (got < sizeof chunk) {
		ssize_t n = read(fd, chunk + got, sizeof chunk - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read", path);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* One pass over the file: its size, and with check set its checksum; *took the pass's time. */
static uint64_t read_pass(const char *path, int check, uint64_t *checksum, uint64_t *took)
{
	uint64_t total = 0, sum = 0, page = 0;

	uint64_t start = now_ns();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open", path);
	for (;;) {
		/* Timed passes: one read() a chunk, as an application would. */
		ssize_t n = check ? (ssize_t)read_chunk(fd, path) : read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read", path);
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (check) {
			memset(chunk + n, 0, (CHECK_PAGE - (size_t)n % CHECK_PAGE) % CHECK_PAGE);
			for (size_t off = 0; off < (size_t)n; off += CHECK_PAGE, ++page) {
				uint64_t page_sum = 0, word;
				for (size_t w = 0; w < CHECK_PAGE; w += sizeof word) {
					memcpy(&word, chunk + off + w, sizeof word);
					page_sum += word;
				}
				sum += page_sum * (2 * page + 1);
			}
		}
	}
	close(fd);
	*took = now_ns() - start;
	*checksum = sum;
	return total;
}

static void bench_read(const struct file *file)
{
	const char *name = strrchr(file->path, '/') + 1;
	char label[PATH_MAX_LENGTH];
	uint64_t took, sum;

	/* The measurement's name: the file name without its extension. */
	snprintf(label, sizeof label, "%.*s", (int)strcspn(name, "."), name);
	for (int pass = 0; pass < 2; ++pass) {
		uint64_t size = read_pass(file->path, 0, &sum, &took);
		if (size != file->size) {
			printf("disk_bench: %s: read %" PRIu64 " bytes, want %" PRIu64 "\n", file->path,
			       size, file->size);
			power_off();
		}
		printf("bench: read_%s_%s %.2f MB/s\n", pass ? "warm" : "cold", label,
		       size / (took / 1e9) / 1e6);
		printf("disk_bench: read_%s_%s took %" PRIu64 " ns\n", pass ? "warm" : "cold", label,
		       took);
	}
	read_pass(file->path, 1, &sum, &took);
	if (sum != file->checksum) {
		printf("disk_bench: %s: checksum %" PRIu64 ", want %" PRIu64 "\n", file->path, sum,
		       file->checksum);
		power_off();
	}
	printf("disk_bench: %s content checked\n", file->path);
	fflush(stdout);
}

/* Runs argv once, its stdout into out (NUL-terminated, at most OUTPUT_MAX - 1 bytes); returns
 * the time from fork to reaped exit. The program must exit with status 0. */
static uint64_t run(char *const *argv, char *out)
{
	int fds[2], status;
	size_t length = 0;

	if (pipe2(fds, O_CLOEXEC) != 0)
		fail("pipe", "");
	fflush(stdout);	/* the child must not inherit buffered output */
	uint64_t start = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		fail("fork", "");
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(126);
		execve(argv[0], argv, CHILD_ENV);
		dprintf(STDERR_FILENO, "disk_bench: execve %s failed: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], out + length, OUTPUT_MAX - 1 - length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read from the pipe of", argv[0]);
		if (n == 0 || (length += (size_t)n) == OUTPUT_MAX - 1)
			break;
	}
	close(fds[0]);
	out[length] = '\0';
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid for", argv[0]);
	uint64_t took = now_ns() - start;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("disk_bench: %s %s ended with wait status %#x\n", argv[0], argv[1], status);
		power_off();
	}
	return took;
}

static void bench_exec(const char *name, char *const *argv, const char *want, int runs)
{
	static char got[OUTPUT_MAX];
	uint64_t total = 0;

	for (int r = 0; r <= runs; ++r) {
		uint64_t took = run(argv, got);
		if (strcmp(got, want) != 0) {
			printf("disk_bench: %s %s printed \"%s\", want \"%s\"\n", argv[0], argv[1], got,
			       want);
			power_off();
		}
		if (r == 0)
			printf("bench: %s_cold %.1f us\n", name, took / 1e3);
		else
			total += took;
	}
	printf("bench: %s_warm %.1f us\n", name, total / 1e3 / runs);
	fflush(stdout);
}

static void read_script_output(char *want)
{
	int fd = open(SCRIPT_OUT, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open", SCRIPT_OUT);
	ssize_t n = read(fd, want, OUTPUT_MAX - 1);
	if (n < 0)
		fail("read", SCRIPT_OUT);
	want[n] = '\0';
	close(fd);
}

int main(int argc, char **argv)
{
	static struct file files[MAX_FILES];
	static char script_out[OUTPUT_MAX];

	if (argc > 1 && strcmp(argv[1], "--exit") == 0) {
		printf("disk_bench: started\n");
		power_off();
	}
	read_script_output(script_out);
	if (argc > 1 && strcmp(argv[1], "--script") == 0) {
		static char got[OUTPUT_MAX];
		uint64_t took = run(SCRIPT, got);
		if (strcmp(got, script_out) != 0)
			die("the script printed something else: ", got);
		printf("disk_bench: script done in %.1f us\n", took / 1e3);
		power_off();
	}
	if (argc > 1)
		die("unknown argument ", argv[1]);
	int count = read_expected(files);
	printf("disk_bench: pid %d, %d files\n", (int)getpid(), count);
	for (int i = 0; i < count; ++i)
		bench_read(&files[i]);
	bench_exec("exec_busybox_true", BUSYBOX_TRUE, "", EXEC_RUNS);
	bench_exec("exec_script", SCRIPT, script_out, SCRIPT_RUNS);
	printf("disk_bench: done\n");
	power_off();
	return 1;
}
