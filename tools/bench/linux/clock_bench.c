/*
 * clock_bench.c - /init for tools/bench/clock, run unchanged on Debian's Linux and as Mica's
 * application: the cost of reading the clocks, each timed here with CLOCK_MONOTONIC and
 * printed as "bench: <name> <ns> ns" (per call), then "clock_bench: done" and the VM powers
 * off.
 *
 *   clock_gettime_monotonic   clock_gettime(CLOCK_MONOTONIC) through the C library (vDSO)
 *   clock_gettime_realtime    clock_gettime(CLOCK_REALTIME) through the C library (vDSO)
 *   gettimeofday              gettimeofday through the C library (vDSO)
 *   syscall_clock_gettime     syscall(SYS_clock_gettime, CLOCK_MONOTONIC): the system call
 *                             itself, for comparison
 *
 * Each loop runs ROUNDS times after a warm-up; the reading is used (summed) so no call can
 * be dropped. Build: musl-gcc -static (x86_64) or aarch64-linux-gnu-gcc -static (aarch64).
 * Any failure prints "clock_bench: ..." and powers off early, so the tool misses a line.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "bench_init.h"

enum { ROUNDS = 200000, SYSCALL_ROUNDS = 50000, WARMUP = 1000 };

static volatile uint64_t sink;

static void fail(const char *what)
{
	printf("clock_bench: %s failed\n", what);
	power_off();
}

#define TIME_LOOP(name, rounds, body)						\
	do {									\
		uint64_t sum = 0;						\
		for (int i = 0; i < WARMUP; ++i) {				\
			body;							\
		}								\
		uint64_t start = now_ns();					\
		for (int i = 0; i < (rounds); ++i) {				\
			body;							\
		}								\
		uint64_t total = now_ns() - start;				\
		sink = sum;							\
		report(name, total, rounds);					\
	} while (0)

int main(void)
{
	struct timespec ts;
	struct timeval tv;

	TIME_LOOP("clock_gettime_monotonic", ROUNDS, {
		if (clock_gettime(CLOCK_MONOTONIC, &ts))
			fail("clock_gettime(CLOCK_MONOTONIC)");
		sum += ts.tv_nsec;
	});
	TIME_LOOP("clock_gettime_realtime", ROUNDS, {
		if (clock_gettime(CLOCK_REALTIME, &ts))
			fail("clock_gettime(CLOCK_REALTIME)");
		sum += ts.tv_nsec;
	});
	TIME_LOOP("gettimeofday", ROUNDS, {
		if (gettimeofday(&tv, NULL))
			fail("gettimeofday");
		sum += tv.tv_usec;
	});
	TIME_LOOP("syscall_clock_gettime", SYSCALL_ROUNDS, {
		if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts))
			fail("syscall(SYS_clock_gettime)");
		sum += ts.tv_nsec;
	});
	printf("clock_bench: done\n");
	power_off();
	return 0;
}
