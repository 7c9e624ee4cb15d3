/* Signals and threads: pthread_kill and tgkill reach the thread they name (the handler runs
 * in it: gettid inside the handler is the target's), a process-directed signal goes to the one
 * thread that does not block it, masks are per thread (and inherited by new threads),
 * thread-directed and process-wide pending sets, sigwait in a dedicated thread. */
#define _GNU_SOURCE
#include "signal_test.h"
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4

static void install(int sig, void (*action)(int, siginfo_t*, void*)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = action;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    APP_REQUIRE(sigaction(sig, &sa, NULL) == 0);
}

static pid_t tids[THREADS];
static pthread_t threads[THREADS];
static volatile pid_t handled_by[THREADS];  /* gettid in the handler, per target */
static volatile int handled_code[THREADS];
static __thread int my_index = -1;
static __thread volatile sig_atomic_t got;
static sem_t ready, finished;
static volatile int phase;

static void record(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)uc;
    if (my_index >= 0) {
        handled_by[my_index] = my_tid();
        handled_code[my_index] = si->si_code;
    }
    got++;
}

/* Each worker blocks SIGUSR1 and SIGUSR2 and takes them only inside sigsuspend, so a signal
 * sent before it waits is not lost (it stays pending for that thread). */
static void* worker(void* arg) {
    my_index = (int)(long)arg;
    tids[my_index] = my_tid();
    sigset_t wait_mask;
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, NULL, &wait_mask) == 0);
    sigdelset(&wait_mask, SIGUSR1);
    sigdelset(&wait_mask, SIGUSR2);
    sem_post(&ready);
    /* Phase 1: one SIGUSR1 by pthread_kill; phase 2: one SIGUSR2 by tgkill. */
    for (int want = 1; want <= 2; want++) {
        while (got < want)
            sigsuspend(&wait_mask);
        sem_post(&finished);
    }
    return NULL;
}

static void test_directed(void) {
    section = "test_directed";
    printf("-- pthread_kill and tgkill\n");
    install(SIGUSR1, record);
    install(SIGUSR2, record);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);  /* inherited by the workers */
    sem_init(&ready, 0, 0);
    sem_init(&finished, 0, 0);
    for (long i = 0; i < THREADS; i++)
        APP_REQUIRE(pthread_create(&threads[i], NULL, worker, (void*)i) == 0);
    for (int i = 0; i < THREADS; i++)
        sem_wait(&ready);
    /* In reverse order, so that no thread gets its signal by being first in some list. */
    for (int i = THREADS - 1; i >= 0; i--)
        APP_REQUIRE(pthread_kill(threads[i], SIGUSR1) == 0);
    for (int i = 0; i < THREADS; i++)
        sem_wait(&finished);
    for (int i = 0; i < THREADS; i++)
        printf("pthread_kill to thread %d: handled in that thread %s, SI_TKILL %s\n", i,
               yes_no(handled_by[i] == tids[i]), yes_no(handled_code[i] == SI_TKILL));
    memset((void*)handled_by, 0, sizeof handled_by);
    for (int i = THREADS - 1; i >= 0; i--)
        APP_REQUIRE(syscall(SYS_tgkill, getpid(), tids[i], SIGUSR2) == 0);
    for (int i = 0; i < THREADS; i++)
        sem_wait(&finished);
    for (int i = 0; i < THREADS; i++)
        printf("tgkill to thread %d: handled in that thread %s\n", i, yes_no(handled_by[i] == tids[i]));
    for (int i = 0; i < THREADS; i++)
        APP_REQUIRE(pthread_join(threads[i], NULL) == 0);
    errno = 0;
    printf("tgkill with the wrong process: %s\n",
           errno_name(syscall(SYS_tgkill, getpid() + 100000, my_tid(), SIGUSR2) == -1 ? errno : 0));
    printf("pthread_kill with signal 0: %d\n", pthread_kill(pthread_self(), 0));
    APP_REQUIRE(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
}

/* --- a process-directed signal goes to the one thread that can take it --- */
static volatile pid_t taker_tid;
static volatile sig_atomic_t taken;
static volatile pid_t taken_by;
static volatile int others_stop;

static void take(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)si, (void)uc;
    taken_by = my_tid();
    taken++;
}

static void* blocker(void* arg) {
    (void)arg;
    sem_post(&ready);
    while (!others_stop)
        usleep(1000);
    return NULL;
}

static void* taker(void* arg) {
    (void)arg;
    taker_tid = my_tid();
    sigset_t wait_mask;
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, NULL, &wait_mask) == 0);
    sigdelset(&wait_mask, SIGUSR1);
    sem_post(&ready);
    for (int want = 1; want <= 5; want++) {
        while (taken < want)
            sigsuspend(&wait_mask);
        sem_post(&finished);
    }
    return NULL;
}

static void test_process_directed(void) {
    section = "test_process_directed";
    printf("-- a process-directed signal and per-thread masks\n");
    install(SIGUSR1, take);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
    pthread_t b[3], t;
    for (int i = 0; i < 3; i++)
        APP_REQUIRE(pthread_create(&b[i], NULL, blocker, NULL) == 0);
    APP_REQUIRE(pthread_create(&t, NULL, taker, NULL) == 0);
    for (int i = 0; i < 4; i++)
        sem_wait(&ready);
    int right = 0;
    for (int i = 0; i < 5; i++) {
        APP_REQUIRE(kill(getpid(), SIGUSR1) == 0);
        sem_wait(&finished);
        right += taken_by == taker_tid;
    }
    printf("kill(getpid()) 5 times, taken by the only thread not blocking it: %d\n", right);
    others_stop = 1;
    for (int i = 0; i < 3; i++)
        APP_REQUIRE(pthread_join(b[i], NULL) == 0);
    APP_REQUIRE(pthread_join(t, NULL) == 0);
    APP_REQUIRE(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
}

/* Masks are per thread; a new thread starts with its creator's mask. */
static volatile int child_saw_usr2_blocked, child_changed;
static void* mask_thread(void* arg) {
    (void)arg;
    sigset_t now, block;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    child_saw_usr2_blocked = sigismember(&now, SIGUSR2);
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    child_changed = sigismember(&now, SIGHUP);
    /* A signal sent to this thread is pending for it alone. */
    pthread_kill(pthread_self(), SIGHUP);
    sigset_t pending;
    sigpending(&pending);
    printf("thread: SIGHUP pending for itself %s\n", yes_no(sigismember(&pending, SIGHUP)));
    sem_post(&ready);
    sem_wait(&finished);  /* main looks at its own pending set meanwhile */
    siginfo_t si;
    struct timespec zero = {0, 0};
    printf("thread: takes it with sigtimedwait %s\n", yes_no(sigtimedwait(&block, &si, &zero) == SIGHUP));
    return NULL;
}

static void test_masks(void) {
    section = "test_masks";
    sigset_t block, old, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, mask_thread, NULL) == 0);
    sem_wait(&ready);
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, NULL, &now) == 0);
    sigset_t pending;
    APP_REQUIRE(sigpending(&pending) == 0);
    printf("new thread inherited the mask: %s; its change stayed its own: %s (main blocks SIGHUP: %s)\n",
           yes_no(child_saw_usr2_blocked), yes_no(child_changed), yes_no(sigismember(&now, SIGHUP)));
    printf("main: the thread's SIGHUP pending here %s\n", yes_no(sigismember(&pending, SIGHUP)));
    sem_post(&finished);
    APP_REQUIRE(pthread_join(t, NULL) == 0);
    errno = 0;
    printf("pthread_sigmask(99): %s\n", errno_name(pthread_sigmask(99, &block, NULL)));
    APP_REQUIRE(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
}

/* --- sigwait in a dedicated thread --- */
static sem_t acked;
static volatile int waited_usr2, waited_term;

static void* signal_thread(void* arg) {
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    for (;;) {
        int sig = 0;
        APP_REQUIRE(sigwait(&set, &sig) == 0);
        if (sig == SIGTERM) {
            waited_term++;
            return NULL;
        }
        if (sig == SIGUSR2)
            waited_usr2++;
        sem_post(&acked);
    }
}

static void test_sigwait_thread(void) {
    section = "test_sigwait_thread";
    printf("-- sigwait in a dedicated thread\n");
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    /* Blocked everywhere (threads inherit it), taken only by sigwait. */
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, &set, &old) == 0);
    sem_init(&acked, 0, 0);
    pthread_t t, idle[2];
    for (int i = 0; i < 2; i++)
        APP_REQUIRE(pthread_create(&idle[i], NULL, blocker, NULL) == 0);
    others_stop = 0;
    APP_REQUIRE(pthread_create(&t, NULL, signal_thread, NULL) == 0);
    for (int i = 0; i < 5; i++) {
        APP_REQUIRE(kill(getpid(), SIGUSR2) == 0);
        sem_wait(&acked);
    }
    APP_REQUIRE(kill(getpid(), SIGTERM) == 0);
    APP_REQUIRE(pthread_join(t, NULL) == 0);
    others_stop = 1;
    for (int i = 0; i < 2; i++) {
        sem_wait(&ready);
        APP_REQUIRE(pthread_join(idle[i], NULL) == 0);
    }
    printf("sigwait thread took SIGUSR2 %d times, then SIGTERM %d\n", waited_usr2, waited_term);
    APP_REQUIRE(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
}

/* Handlers running at the same time in several threads. */
static volatile sig_atomic_t concurrent_total;
static void count_handler(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)si, (void)uc;
    __atomic_fetch_add(&concurrent_total, 1, __ATOMIC_SEQ_CST);
    got++;
}

static volatile int count_finished[THREADS];

static void* count_thread(void* arg) {
    sigset_t wait_mask;
    pthread_sigmask(SIG_BLOCK, NULL, &wait_mask);
    sigdelset(&wait_mask, SIGUSR1);
    sem_post(&ready);
    while (got < 10)
        sigsuspend(&wait_mask);
    count_finished[(long)arg] = 1;
    return NULL;
}

static void test_many(void) {
    section = "test_many";
    printf("-- many signals to many threads\n");
    install(SIGUSR1, count_handler);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        APP_REQUIRE(pthread_create(&t[i], NULL, count_thread, (void*)i) == 0);
    for (int i = 0; i < THREADS; i++)
        sem_wait(&ready);
    /* Each thread needs 10 deliveries; a standard signal can merge while pending, so keep
     * sending to each until it says it has finished. */
    for (;;) {
        int left = 0;
        for (int i = 0; i < THREADS; i++) {
            if (!count_finished[i]) {
                left++;
                pthread_kill(t[i], SIGUSR1);
            }
        }
        if (left == 0)
            break;
        usleep(100);
    }
    for (int i = 0; i < THREADS; i++)
        APP_REQUIRE(pthread_join(t[i], NULL) == 0);
    printf("every thread got its 10 signals: %s\n", yes_no(concurrent_total >= 10 * THREADS));
    APP_REQUIRE(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);
}

int main(void) {
    app_test_init();
    start_watchdog();
    test_directed();
    test_process_directed();
    test_masks();
    test_sigwait_thread();
    test_many();
    printf("done\n");
    return 0;
}
