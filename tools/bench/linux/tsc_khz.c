/*
 * tsc_khz.c - print the host TSC frequency in kHz.
 *
 * Under TCG the guest's RDTSC returns the host TSC, and microvm has no HPET
 * or ACPI PM timer, so Linux can only calibrate the TSC against the PIT.
 * That calibration fails intermittently under TCG (PIT reads are too slow
 * and jittery), and the guest then hangs before reaching /init.  So
 * tools/bench/boot passes tsc_early_khz=<this value> to the Linux guest.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
	struct timespec nap = { 0, 100 * 1000 * 1000 };	/* 100 ms */
	double t0 = now();
	uint64_t c0 = __rdtsc();

	nanosleep(&nap, NULL);
	double t1 = now();
	uint64_t c1 = __rdtsc();

	printf("%.0f\n", (c1 - c0) / (t1 - t0) / 1e3);
	return 0;
}
