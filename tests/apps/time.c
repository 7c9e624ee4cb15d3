/* Clocks: only booleans are printed, so the output does not depend on when or where it runs. */
#include "app_test.h"
#include <pthread.h>
#include <sys/time.h>
#include <time.h>

static long long ns(const struct timespec* t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

/* A condition variable wait with an absolute deadline 30 ms away on `clock` (glibc makes it a
   FUTEX_WAIT_BITSET, with FUTEX_CLOCK_REALTIME for the wall clock): it times out, not early. */
static int timed_wait_times_out(clockid_t clock) {
    pthread_condattr_t attr;
    pthread_cond_t cond;
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, clock);
    pthread_cond_init(&cond, &attr);
    struct timespec deadline, after;
    clock_gettime(clock, &deadline);
    deadline.tv_nsec += 30 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&mutex);
    int r = pthread_cond_timedwait(&cond, &mutex, &deadline);
    clock_gettime(clock, &after);
    pthread_mutex_unlock(&mutex);
    return r == ETIMEDOUT && ns(&after) >= ns(&deadline);
}

int main(void) {
    app_test_init();
    struct timespec a, b, c, rt;
    int ok = clock_gettime(CLOCK_MONOTONIC, &a) == 0;
    long long previous = ns(&a);
    int monotonic = 1;
    for (int i = 0; i < 1000; ++i) {
        ok &= clock_gettime(CLOCK_MONOTONIC, &b) == 0;
        monotonic &= ns(&b) >= previous;
        previous = ns(&b);
    }
    printf("clock_gettime(CLOCK_MONOTONIC) works: %s\n", yes_no(ok));
    printf("monotonic clock never goes back: %s\n", yes_no(monotonic));
    printf("tv_nsec in range: %s\n", yes_no(b.tv_nsec >= 0 && b.tv_nsec < 1000000000L));

    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    int slept = nanosleep(&ten_ms, NULL) == 0;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("nanosleep(10 ms) returned 0: %s\n", yes_no(slept));
    /* Only a lower bound: how late a sleep ends depends on how loaded the host is. */
    printf("at least 10 ms elapsed: %s\n", yes_no(ns(&b) - ns(&a) >= 10000000LL));

    struct timespec twenty_ms = {0, 20 * 1000 * 1000};
    int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &twenty_ms, NULL);
    clock_gettime(CLOCK_MONOTONIC, &c);
    printf("clock_nanosleep(20 ms) returned 0: %s\n", yes_no(r == 0));
    printf("at least 20 ms more elapsed: %s\n", yes_no(ns(&c) - ns(&b) >= 20000000LL));

    /* The wall clocks agree: each reading lies between the readings of another clock taken
       just before and just after it (no tolerance that a stalled CPU could exceed). */
    struct timeval tv, tv_after;
    struct timespec rt_after;
    clock_gettime(CLOCK_REALTIME, &rt);
    ok = gettimeofday(&tv, NULL) == 0;
    clock_gettime(CLOCK_REALTIME, &rt_after);
    printf("gettimeofday works: %s\n", yes_no(ok));
    printf("tv_usec in range: %s\n", yes_no(tv.tv_usec >= 0 && tv.tv_usec < 1000000));
    printf("wall clock after 2020-01-01: %s\n", yes_no(tv.tv_sec > 1577836800L));
    long long tv_ns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
    printf("gettimeofday agrees with CLOCK_REALTIME: %s\n",
           yes_no(ns(&rt) / 1000 * 1000 <= tv_ns && tv_ns <= ns(&rt_after)));
    printf("a condition wait until a CLOCK_REALTIME deadline times out: %s\n", yes_no(timed_wait_times_out(CLOCK_REALTIME)));
    printf("a condition wait until a CLOCK_MONOTONIC deadline times out: %s\n", yes_no(timed_wait_times_out(CLOCK_MONOTONIC)));
    time_t now = time(NULL);
    ok = gettimeofday(&tv_after, NULL) == 0;
    printf("time() agrees with gettimeofday: %s\n", yes_no(ok && tv.tv_sec <= now && now <= tv_after.tv_sec));

    /* CPU-time clocks count running, not waiting: across a 50 ms sleep the thread's CPU
       time falls behind the monotonic clock by (about) the sleep, however slow the machine
       (time the host takes the CPU away while the thread runs counts on both clocks); a loop
       that spins until 20 ms of CPU time have passed takes at least 20 ms of wall time. */
    struct timespec cpu_a, cpu_b, proc_t, mono_a, mono_b;
    clock_gettime(CLOCK_MONOTONIC, &mono_a);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_a);
    struct timespec fifty_ms = {0, 50 * 1000 * 1000};
    nanosleep(&fifty_ms, NULL);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_b);
    clock_gettime(CLOCK_MONOTONIC, &mono_b);
    long long asleep = (ns(&mono_b) - ns(&mono_a)) - (ns(&cpu_b) - ns(&cpu_a));
    printf("a 50 ms sleep is not CPU time: %s\n", yes_no(asleep >= 40000000LL));
    clock_gettime(CLOCK_MONOTONIC, &mono_a);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_a);
    do {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_b);
    } while (ns(&cpu_b) - ns(&cpu_a) < 20000000LL);
    clock_gettime(CLOCK_MONOTONIC, &mono_b);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &proc_t);
    printf("20 ms of CPU time take at least 20 ms: %s\n", yes_no(ns(&mono_b) - ns(&mono_a) >= 20000000LL));
    printf("the process has run at least as long as this thread: %s\n", yes_no(ns(&proc_t) >= ns(&cpu_b)));
    return 0;
}
