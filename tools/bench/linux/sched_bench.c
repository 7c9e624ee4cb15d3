/*
 * sched_bench.c - /init for the Linux guest of tools/bench/sched.
 *
 * The same four measurements as Mica's tests/guest/bench_sched.cc, with the
 * same iteration counts, done with pthreads, printed in the same format
 * ("bench: <name> <ns> ns", total time / operations, truncated), after which
 * the VM powers off.  Build: musl-gcc -static (x86_64) or
 * aarch64-linux-gnu-gcc -static (aarch64, static glibc).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>
#include "bench_init.h"

enum {
	SWITCH_ROUNDS = 20000,		/* yields per thread */
	PING_PONGS = SWITCH_ROUNDS / 4,	/* round trips = 2 hand-overs each */
	CREATE_JOINS = 2000,
};

/* Any failure: say so and stop; tools/bench/sched then misses a line. */
static void check(int err, const char *what)
{
	if (err) {
		printf("sched_bench: %s failed: %s\n", what, strerror(err));
		power_off();
	}
}

/* ------------------------------------------------ two pinned threads */

struct worker {
	void (*body)(void);
	int cpu;
};

/* ready: both workers are pinned and running; go: main has taken t0. */
static pthread_barrier_t ready, go;

static void *worker_main(void *arg)
{
	const struct worker *w = arg;
	cpu_set_t set;

	/* musl has no pthread_attr_setaffinity_np: pin ourselves first. */
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	check(pthread_setaffinity_np(pthread_self(), sizeof set, &set),
	      "pthread_setaffinity_np");
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&go);
	w->body();
	return NULL;
}

/*
 * Time a pair of bodies on the given CPUs, from "release both threads" to
 * "both joined", as Mica times sched::start() .. join().  Thread creation
 * and pinning happen before the clock starts.
 */
static void run_pair(const char *name, uint64_t ops,
		     void (*a)(void), int cpu_a, void (*b)(void), int cpu_b)
{
	struct worker wa = { a, cpu_a }, wb = { b, cpu_b };
	pthread_t ta, tb;

	check(pthread_barrier_init(&ready, NULL, 3), "pthread_barrier_init");
	check(pthread_barrier_init(&go, NULL, 3), "pthread_barrier_init");
	check(pthread_create(&tb, NULL, worker_main, &wb), "pthread_create");
	check(pthread_create(&ta, NULL, worker_main, &wa), "pthread_create");
	pthread_barrier_wait(&ready);
	uint64_t start = now_ns();
	pthread_barrier_wait(&go);
	check(pthread_join(ta, NULL), "pthread_join");
	check(pthread_join(tb, NULL), "pthread_join");
	report(name, now_ns() - start, ops);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&go);
}

static void yielder(void)
{
	for (int i = 0; i < SWITCH_ROUNDS; ++i)
		sched_yield();
}

static sem_t ping_sem, pong_sem;

static void pinger(void)
{
	for (int i = 0; i < PING_PONGS; ++i) {
		sem_post(&ping_sem);
		sem_wait(&pong_sem);
	}
}

static void ponger(void)
{
	for (int i = 0; i < PING_PONGS; ++i) {
		sem_wait(&ping_sem);
		sem_post(&pong_sem);
	}
}

static void ping_pong(const char *name, int cpu_a, int cpu_b)
{
	check(sem_init(&ping_sem, 0, 0), "sem_init");
	check(sem_init(&pong_sem, 0, 0), "sem_init");
	run_pair(name, 2 * PING_PONGS, pinger, cpu_a, ponger, cpu_b);
	sem_destroy(&ping_sem);
	sem_destroy(&pong_sem);
}

/* ------------------------------------------------ create + join */

static void *empty(void *arg)
{
	return arg;
}

static void create_join(void)
{
	uint64_t start = now_ns();

	for (int i = 0; i < CREATE_JOINS; ++i) {
		pthread_t t;

		check(pthread_create(&t, NULL, empty, NULL), "pthread_create");
		check(pthread_join(t, NULL), "pthread_join");
	}
	report("thread_create_join", now_ns() - start, CREATE_JOINS);
}

int main(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	printf("sched_bench: %ld CPUs online\n", cpus);
	if (cpus < 2) {
		printf("sched_bench: needs two CPUs (QEMU -smp 2)\n");
		power_off();
	}
	/* Mica's order (its suite runs the tests in this order too). */
	create_join();
	ping_pong("semaphore_handover_cross_cpu", 0, 1);
	ping_pong("semaphore_handover_same_cpu", 0, 0);
	run_pair("context_switch_yield_same_cpu", 2 * SWITCH_ROUNDS,
		 yielder, 0, yielder, 0);
	printf("sched_bench: done\n");
	power_off();
	return 1;
}
