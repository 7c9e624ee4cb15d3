/*
 * bench_init.h - shared by the benchmark /init programs (sched_bench.c, mm_bench.c, signal_bench.c,
 * dyn_bench.c): the output format tools/bench reads ("bench: <name> <ns> ns", total /
 * operations, truncated), the monotonic clock, and powering the VM off at the end.
 */
#ifndef MICA_BENCH_INIT_H
#define MICA_BENCH_INIT_H
#include <stdint.h>
#include <stdio.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

static void power_off(void)
{
	fflush(stdout);
	reboot(RB_POWER_OFF);
	_exit(1);	/* only if reboot() failed; init exiting panics (panic=-1) */
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static inline void report(const char *name, uint64_t total_ns, uint64_t ops)
{
	printf("bench: %s %llu ns\n", name, (unsigned long long)(total_ns / ops));
	fflush(stdout);
}
#endif
