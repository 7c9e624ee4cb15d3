/* Shared by the signal tests that use threads and timers (signal_threads.c, signal_timers.c):
 * the calling thread's id, and a watchdog that names the section a hung test is in. */
#ifndef MICA_SIGNAL_TEST_H
#define MICA_SIGNAL_TEST_H

#include "app_test.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t my_tid(void) { return (pid_t)syscall(SYS_gettid); }

/* A kernel that never interrupts a blocked call would hang the test until ctest's timeout:
 * the watchdog thread (every signal blocked, so it takes none) names the section instead. */
static const char* volatile section = "start";
static void* watchdog(void* arg) {
    (void)arg;
    sleep(60);
    printf("watchdog: no progress after 60 s in section \"%s\"\n", section);
    _exit(2);
}
static void start_watchdog(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, watchdog, NULL) == 0);
    pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

#endif
