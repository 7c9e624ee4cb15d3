/*
 * mm_bench.c - /init for the Linux guest of tools/bench/mm.
 *
 * The same four measurements as Mica's tests/guest/bench_mm.cc, with the same
 * counts, printed in the same format ("bench: <name> <ns> ns"), after which the
 * VM powers off.  malloc is the C library's (musl on x86_64, glibc on
 * aarch64); page faults and mmap are the kernel's.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>
#include "bench_init.h"

enum { MALLOC_ROUNDS = 100000, FAULT_PAGES = 4096, MAP_ROUNDS = 2000, PAGE = 4096 };

static void fail(const char *what)
{
	printf("mm_bench: %s failed\n", what);
	power_off();
}

static void *malloc_loop(void *arg)
{
	void *live[8] = { 0 };
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)(intptr_t)arg, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	for (int i = 0; i < MALLOC_ROUNDS; i++) {
		int slot = i & 7;

		free(live[slot]);
		live[slot] = malloc(64);
		if (!live[slot])
			fail("malloc");
		*(volatile char *)live[slot] = 1;
	}
	for (int i = 0; i < 8; i++)
		free(live[i]);
	return NULL;
}

static void malloc_threads(const char *name, int n)
{
	pthread_t t[64];
	uint64_t start = now_ns();

	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, malloc_loop, (void *)(intptr_t)i))
			fail("pthread_create");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	report(name, now_ns() - start, MALLOC_ROUNDS);
}

int main(void)
{
	int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);

	malloc_threads("malloc_free_64B_one_thread", 1);
	malloc_threads("malloc_free_64B_thread_per_cpu", cpus > 64 ? 64 : cpus);

	char *a = mmap(NULL, (size_t)FAULT_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		fail("mmap");
	uint64_t start = now_ns();
	for (size_t i = 0; i < FAULT_PAGES; i++)
		((volatile char *)a)[i * PAGE] = 1;
	report("page_fault_anonymous_write", now_ns() - start, FAULT_PAGES);
	munmap(a, (size_t)FAULT_PAGES * PAGE);

	start = now_ns();
	for (int i = 0; i < MAP_ROUNDS; i++) {
		char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			fail("mmap");
		*(volatile char *)p = 1;
		munmap(p, PAGE);
	}
	report("mmap_touch_munmap_page", now_ns() - start, MAP_ROUNDS);
	printf("mm_bench: done\n");
	power_off();
	return 0;
}
