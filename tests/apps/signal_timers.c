/* Timers that signal: setitimer(ITIMER_REAL)/getitimer, alarm, POSIX timers (timer_create with
 * SIGEV_SIGNAL, SIGEV_THREAD_ID and SIGEV_THREAD, periodic timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete), and system calls interrupted by a signal: a read on an
 * empty pipe with and without SA_RESTART, nanosleep/clock_nanosleep/sleep (EINTR and the time
 * left). Only counts and yes/no are printed: how late a signal comes never shows. */
#define _GNU_SOURCE
#include "signal_test.h"
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid  /* glibc before 2.37 has no name for it */
#endif

static void install(int sig, void (*action)(int, siginfo_t*, void*), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = action;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    APP_REQUIRE(sigaction(sig, &sa, NULL) == 0);
}

static volatile sig_atomic_t alarms;
static volatile int alarm_code;
static void alarm_handler(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)uc;
    alarm_code = si->si_code;
    alarms++;
}

/* The signal that interrupts a blocking call comes from a timer that repeats until it is
 * turned off: a one-shot timer could fire just before the call starts (a loaded host can stop
 * the CPU for longer than any interval between two system calls), and the call would then
 * block for good or run to its end. Each test checks that its call was interrupted and that
 * the handler ran at least once. */
static const struct itimerval repeating_30ms = {{0, 30000}, {0, 30000}};
static const struct itimerval repeating_50ms = {{0, 50000}, {0, 50000}};
static const struct itimerval timer_off = {{0, 0}, {0, 0}};

/* Blocks sig, then waits with sigsuspend until *counter reaches n (no signal is lost between
 * the check and the wait). */
static void wait_for(int sig, volatile sig_atomic_t* counter, int n) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, sig);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, sig);
    while (*counter < n)
        sigsuspend(&wait_mask);
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

static void test_itimer(void) {
    section = "test_itimer";
    printf("-- setitimer, getitimer, alarm\n");
    install(SIGALRM, alarm_handler, 0);
    struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 20000}}, now;
    APP_REQUIRE(setitimer(ITIMER_REAL, &it, NULL) == 0);
    APP_REQUIRE(getitimer(ITIMER_REAL, &now) == 0);
    printf("getitimer: interval 20 ms %s, value in (0, 20 ms] %s\n",
           yes_no(now.it_interval.tv_sec == 0 && now.it_interval.tv_usec == 20000),
           yes_no(now.it_value.tv_sec == 0 && now.it_value.tv_usec > 0 && now.it_value.tv_usec <= 20000));
    wait_for(SIGALRM, &alarms, 3);
    struct itimerval off = {{0, 0}, {0, 0}}, old;
    APP_REQUIRE(setitimer(ITIMER_REAL, &off, &old) == 0);
    printf("periodic SIGALRM: at least 3 %s, SI_KERNEL %s; setitimer returned the old interval %s\n",
           yes_no(alarms >= 3), yes_no(alarm_code == SI_KERNEL), yes_no(old.it_interval.tv_usec == 20000));
    APP_REQUIRE(getitimer(ITIMER_REAL, &now) == 0);
    printf("disarmed: %s\n", yes_no(now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0));
    errno = 0;
    printf("setitimer(99): %s\n", errno_name(setitimer(99, &it, NULL) == -1 ? errno : 0));

    printf("alarm(5) with none set: %u\n", alarm(5));
    unsigned left = alarm(0);
    /* (Rounded; 5 unless the host stalled the CPU between the two calls.) */
    printf("alarm(0) returns the seconds left, 1 to 5: %s\n", yes_no(left >= 1 && left <= 5));
    alarms = 0;
    alarm(1);
    wait_for(SIGALRM, &alarms, 1);
    printf("alarm(1) fired: %d\n", (int)alarms);
    /* pause() returns when a handler has run. The timer repeats: a first SIGALRM that comes
     * before pause() (the host took the CPU away for longer than the interval) must not leave
     * pause() waiting for ever. */
    alarms = 0;
    APP_REQUIRE(setitimer(ITIMER_REAL, &repeating_30ms, NULL) == 0);
    errno = 0;
    int r = pause();
    int pause_errno = errno;
    APP_REQUIRE(setitimer(ITIMER_REAL, &timer_off, NULL) == 0);
    printf("pause: %d %s, handler ran %s\n", r, errno_name(pause_errno), yes_no(alarms >= 1));
}

/* a < b */
static int earlier(const struct timespec* a, const struct timespec* b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* --- POSIX timers --- */
static volatile sig_atomic_t timer_signals;
static volatile int timer_value, timer_code, timer_overrun_seen, timer_tid;
static timer_t overrun_timer;
static volatile int check_overrun;

static void timer_handler(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)uc;
    timer_value = si->si_value.sival_int;
    timer_code = si->si_code;
    timer_tid = my_tid();
    if (check_overrun)
        timer_overrun_seen = timer_getoverrun(overrun_timer);
    timer_signals++;
}

static void test_posix_timers(void) {
    section = "test_posix_timers";
    printf("-- timer_create (SIGEV_SIGNAL)\n");
    install(SIGUSR1, timer_handler, 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 42;
    timer_t t;
    APP_REQUIRE(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    struct itimerspec spec = {.it_interval = {0, 10000000}, .it_value = {0, 10000000}}, cur;
    APP_REQUIRE(timer_settime(t, 0, &spec, NULL) == 0);
    APP_REQUIRE(timer_gettime(t, &cur) == 0);
    printf("timer_gettime: interval 10 ms %s, armed %s\n",
           yes_no(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 10000000),
           yes_no(cur.it_value.tv_sec > 0 || cur.it_value.tv_nsec > 0));
    wait_for(SIGUSR1, &timer_signals, 3);
    printf("periodic: at least 3 signals %s, SI_TIMER %s, si_value %d\n", yes_no(timer_signals >= 3),
           yes_no(timer_code == SI_TIMER), timer_value);

    /* While the signal is blocked the timer keeps expiring: one signal stays queued and
     * the expirations in between are counted as overruns. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    overrun_timer = t;
    check_overrun = 1;
    timer_signals = 0;
    struct timespec pause_ts = {0, 150000000};  /* 15 periods */
    while (nanosleep(&pause_ts, &pause_ts) == -1 && errno == EINTR) {
    }
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    check_overrun = 0;
    printf("blocked for 15 periods: delivered at unblock %s, timer_getoverrun > 0 %s\n", yes_no(timer_signals >= 1),
           yes_no(timer_overrun_seen > 0));

    /* Disarm: no more signals; relative one-shot and absolute times. */
    struct itimerspec zero = {{0, 0}, {0, 0}};
    APP_REQUIRE(timer_settime(t, 0, &zero, &cur) == 0);
    printf("disarm returns the old interval: %s\n", yes_no(cur.it_interval.tv_nsec == 10000000));
    APP_REQUIRE(sigprocmask(SIG_BLOCK, &block, &old) == 0);  /* one may be in flight: drop it */
    struct timespec ts0 = {0, 0};
    siginfo_t si;
    sigtimedwait(&block, &si, &ts0);
    APP_REQUIRE(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    timer_signals = 0;
    struct timespec settle = {0, 50000000};
    nanosleep(&settle, NULL);
    printf("after disarm: %d signals\n", (int)timer_signals);
    struct timespec abs_now;
    clock_gettime(CLOCK_MONOTONIC, &abs_now);
    abs_now.tv_nsec += 20000000;
    if (abs_now.tv_nsec >= 1000000000) {
        abs_now.tv_sec++;
        abs_now.tv_nsec -= 1000000000;
    }
    struct itimerspec absolute = {{0, 0}, abs_now};
    APP_REQUIRE(timer_settime(t, TIMER_ABSTIME, &absolute, NULL) == 0);
    wait_for(SIGUSR1, &timer_signals, 1);
    struct timespec fired_at;
    clock_gettime(CLOCK_MONOTONIC, &fired_at);
    printf("TIMER_ABSTIME one-shot: %d, not early: %s\n", (int)timer_signals, yes_no(!earlier(&fired_at, &abs_now)));
    APP_REQUIRE(timer_gettime(t, &cur) == 0);
    printf("expired one-shot is disarmed: %s\n", yes_no(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0));
    APP_REQUIRE(timer_delete(t) == 0);
    /* The same on the wall clock (moved to the monotonic one with their offset). */
    APP_REQUIRE(timer_create(CLOCK_REALTIME, &sev, &t) == 0);
    struct timespec wall_then;
    clock_gettime(CLOCK_REALTIME, &wall_then);
    wall_then.tv_nsec += 20000000;
    if (wall_then.tv_nsec >= 1000000000) {
        wall_then.tv_sec++;
        wall_then.tv_nsec -= 1000000000;
    }
    struct itimerspec wall_absolute = {{0, 0}, wall_then};
    timer_signals = 0;
    APP_REQUIRE(timer_settime(t, TIMER_ABSTIME, &wall_absolute, NULL) == 0);
    wait_for(SIGUSR1, &timer_signals, 1);
    clock_gettime(CLOCK_REALTIME, &fired_at);
    printf("CLOCK_REALTIME TIMER_ABSTIME one-shot: %d, not early: %s\n", (int)timer_signals,
           yes_no(!earlier(&fired_at, &wall_then)));
    APP_REQUIRE(timer_delete(t) == 0);
    errno = 0;
    struct itimerspec bad = {{0, 0}, {0, 1000000000}};
    timer_t t2;
    APP_REQUIRE(timer_create(CLOCK_REALTIME, &sev, &t2) == 0);
    printf("timer_settime with tv_nsec out of range: %s\n", errno_name(timer_settime(t2, 0, &bad, NULL) == -1 ? errno : 0));
    APP_REQUIRE(timer_delete(t2) == 0);
    /* A timer of the kernel's (SIGEV_NONE) that signals nothing but counts down. */
    sev.sigev_notify = SIGEV_NONE;
    APP_REQUIRE(timer_create(CLOCK_MONOTONIC, &sev, &t2) == 0);
    struct itimerspec longer = {{0, 0}, {10, 0}};
    APP_REQUIRE(timer_settime(t2, 0, &longer, NULL) == 0);
    APP_REQUIRE(timer_gettime(t2, &cur) == 0);
    printf("SIGEV_NONE timer counts down: %s\n", yes_no(cur.it_value.tv_sec <= 10 && (cur.it_value.tv_sec > 0 || cur.it_value.tv_nsec > 0)));
    APP_REQUIRE(timer_delete(t2) == 0);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 0x1000;
    errno = 0;
    printf("timer_create with a bad signal: %s\n", errno_name(timer_create(CLOCK_MONOTONIC, &sev, &t2) == -1 ? errno : 0));
}

/* SIGEV_THREAD_ID: the signal goes to the thread named in the sigevent. */
static volatile int target_tid;
static sem_t target_ready, target_done;
static volatile sig_atomic_t target_stop;

static void* target_thread(void* arg) {
    (void)arg;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    target_tid = my_tid();
    sem_post(&target_ready);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGUSR2);
    while (timer_signals < 3)
        sigsuspend(&wait_mask);
    sem_post(&target_done);
    return NULL;
}

static volatile sig_atomic_t thread_notified;
static sem_t notified;
static void notify(union sigval v) {
    if (v.sival_int == 7 && ++thread_notified == 3)
        sem_post(&notified);
}

static void test_thread_timers(void) {
    section = "test_thread_timers";
    printf("-- timer_create (SIGEV_THREAD_ID, SIGEV_THREAD)\n");
    install(SIGUSR2, timer_handler, 0);
    /* Only the target thread may take SIGUSR2. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    APP_REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
    sem_init(&target_ready, 0, 0);
    sem_init(&target_done, 0, 0);
    timer_signals = 0;
    pthread_t th;
    APP_REQUIRE(pthread_create(&th, NULL, target_thread, NULL) == 0);
    sem_wait(&target_ready);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR2;
    sev.sigev_value.sival_int = 99;
    sev.sigev_notify_thread_id = target_tid;
    timer_t t;
    APP_REQUIRE(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    struct itimerspec spec = {.it_interval = {0, 10000000}, .it_value = {0, 10000000}};
    APP_REQUIRE(timer_settime(t, 0, &spec, NULL) == 0);
    sem_wait(&target_done);
    APP_REQUIRE(timer_delete(t) == 0);
    APP_REQUIRE(pthread_join(th, NULL) == 0);
    printf("SIGEV_THREAD_ID: 3 signals %s, in the target thread %s, si_value %d\n", yes_no(timer_signals >= 3),
           yes_no(timer_tid == target_tid), timer_value);
    sev.sigev_notify_thread_id = 0x7ffffff0;  /* no such thread */
    errno = 0;
    printf("SIGEV_THREAD_ID of no thread: %s\n", errno_name(timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 ? errno : 0));
    APP_REQUIRE(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);

    /* SIGEV_THREAD: the C library runs the function in a thread of its own. */
    sem_init(&notified, 0, 0);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = notify;
    sev.sigev_value.sival_int = 7;
    APP_REQUIRE(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    APP_REQUIRE(timer_settime(t, 0, &spec, NULL) == 0);
    sem_wait(&notified);
    APP_REQUIRE(timer_delete(t) == 0);
    printf("SIGEV_THREAD: the function ran 3 times with its value: %s\n", yes_no(thread_notified >= 3));
}

/* --- interrupted system calls --- */
static int pipe_fds[2];
static volatile sig_atomic_t writer_ran;
static void writer_handler(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)si, (void)uc;
    writer_ran = 1;
    (void)!write(pipe_fds[1], "x", 1);
}

static void test_interrupted(void) {
    section = "test_interrupted";
    printf("-- EINTR and SA_RESTART\n");
    APP_REQUIRE(pipe(pipe_fds) == 0);
    char c;
    install(SIGALRM, alarm_handler, 0);  /* no SA_RESTART */
    alarms = 0;
    APP_REQUIRE(setitimer(ITIMER_REAL, &repeating_50ms, NULL) == 0);
    errno = 0;
    ssize_t n = read(pipe_fds[0], &c, 1);
    int read_errno = errno;
    APP_REQUIRE(setitimer(ITIMER_REAL, &timer_off, NULL) == 0);
    printf("read without SA_RESTART: %zd %s, handler ran %s\n", n, errno_name(read_errno), yes_no(alarms >= 1));

    /* With SA_RESTART the read goes on after the SIGALRM handler; a later signal (SIGUSR1
     * from a POSIX timer) has a handler that writes the byte that ends it. */
    install(SIGALRM, alarm_handler, SA_RESTART);
    install(SIGUSR1, writer_handler, SA_RESTART);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    timer_t t;
    APP_REQUIRE(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    struct itimerspec later = {{0, 0}, {0, 300000000}};
    /* (One-shot timers here: whichever order the signals and the read come in, the read
     * returns the byte and both handlers have run.) */
    struct itimerval once = {{0, 0}, {0, 50000}};
    alarms = 0;
    writer_ran = 0;
    APP_REQUIRE(setitimer(ITIMER_REAL, &once, NULL) == 0);
    APP_REQUIRE(timer_settime(t, 0, &later, NULL) == 0);
    errno = 0;
    n = read(pipe_fds[0], &c, 1);
    wait_for(SIGALRM, &alarms, 1);
    printf("read with SA_RESTART: %zd byte '%c', SIGALRM handler ran %s, writer ran %s\n", n, n == 1 ? c : '?',
           yes_no(alarms == 1), yes_no(writer_ran));
    APP_REQUIRE(timer_delete(t) == 0);

    /* nanosleep is never restarted: EINTR and the time left. */
    install(SIGALRM, alarm_handler, SA_RESTART);
    alarms = 0;
    APP_REQUIRE(setitimer(ITIMER_REAL, &repeating_50ms, NULL) == 0);
    struct timespec req = {5, 0}, rem = {0, 0};
    errno = 0;
    int r = nanosleep(&req, &rem);
    int sleep_errno = errno;
    APP_REQUIRE(setitimer(ITIMER_REAL, &timer_off, NULL) == 0);
    printf("nanosleep(5 s) interrupted: %d %s, time left in (0, 5 s) %s\n", r, errno_name(sleep_errno),
           yes_no((rem.tv_sec > 0 || rem.tv_nsec > 0) && rem.tv_sec < 5));
    alarms = 0;
    APP_REQUIRE(setitimer(ITIMER_REAL, &repeating_50ms, NULL) == 0);
    rem.tv_sec = rem.tv_nsec = 0;
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    APP_REQUIRE(setitimer(ITIMER_REAL, &timer_off, NULL) == 0);
    printf("clock_nanosleep(5 s) interrupted: %s, time left in (0, 5 s) %s\n", errno_name(r),
           yes_no((rem.tv_sec > 0 || rem.tv_nsec > 0) && rem.tv_sec < 5));
    alarms = 0;
    APP_REQUIRE(setitimer(ITIMER_REAL, &repeating_50ms, NULL) == 0);
    unsigned left = sleep(5);
    APP_REQUIRE(setitimer(ITIMER_REAL, &timer_off, NULL) == 0);
    printf("sleep(5) interrupted: returns the seconds left, 1 to 5: %s\n", yes_no(left >= 1 && left <= 5));
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

int main(void) {
    app_test_init();
    start_watchdog();
    test_itimer();
    test_posix_timers();
    test_thread_timers();
    test_interrupted();
    printf("done\n");
    return 0;
}
