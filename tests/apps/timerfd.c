/* timerfd: one-shot and periodic timers on CLOCK_MONOTONIC, CLOCK_REALTIME and
 * CLOCK_BOOTTIME, relative and absolute (TFD_TIMER_ABSTIME), disarming, timerfd_gettime, the
 * expiration count a read returns, blocking and non-blocking reads, poll and epoll, and the
 * errors. No timing assertion can flake: counts are checked as "at least", never "at most",
 * and elapsed times only from below. */
#define _GNU_SOURCE
#include "app_test.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static const char* err(long r) {
    static char text[64];
    if (r >= 0) snprintf(text, sizeof text, "%ld", r);
    else snprintf(text, sizeof text, "-1 %s", errno_name(errno));
    return text;
}

#define SHOW(label, call)                              \
    do {                                               \
        long show_result_ = (long)(call);              \
        printf("%s: %s\n", label, err(show_result_));  \
    } while (0)

static long long now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct itimerspec spec(long long value_ns, long long interval_ns) {
    struct itimerspec s;
    s.it_value.tv_sec = value_ns / 1000000000;
    s.it_value.tv_nsec = value_ns % 1000000000;
    s.it_interval.tv_sec = interval_ns / 1000000000;
    s.it_interval.tv_nsec = interval_ns % 1000000000;
    return s;
}

int main(void) {
    app_test_init();
    printf("-- one-shot\n");
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    APP_REQUIRE(fd >= 0);
    printf("cloexec %s\n", yes_no(fcntl(fd, F_GETFD) & FD_CLOEXEC));
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    printf("disarmed: value %lld.%09ld, interval %lld\n", (long long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
           (long long)cur.it_interval.tv_sec);
    /* What is left of an armed timer, on one long enough that it cannot have fired by the
     * time it is read (a loaded host may stop the CPU for longer than 30 ms between two calls). */
    struct itimerspec s = spec(3600 * 1000000000LL, 0);
    SHOW("arm for an hour", timerfd_settime(fd, 0, &s, NULL));
    timerfd_gettime(fd, &cur);
    long long left = cur.it_value.tv_sec * 1000000000LL + cur.it_value.tv_nsec;
    printf("armed: 0 < value <= 1 hour: %s\n", yes_no(left > 0 && left <= 3600 * 1000000000LL));
    s = spec(30 * 1000000LL, 0);
    long long start = now_ns(CLOCK_MONOTONIC);
    SHOW("arm again for 30 ms", timerfd_settime(fd, 0, &s, NULL));
    uint64_t count = 0;
    long n = read(fd, &count, sizeof count);  /* blocks until it fires */
    long long elapsed = now_ns(CLOCK_MONOTONIC) - start;
    printf("blocking read: %ld bytes, count %llu, at least 30 ms later: %s\n", n, (unsigned long long)count,
           yes_no(elapsed >= 30 * 1000000LL));
    timerfd_gettime(fd, &cur);
    printf("after firing: value %lld.%09ld\n", (long long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    SHOW("non-blocking read with nothing", read(fd, &count, sizeof count));
    char small[4];
    SHOW("read 4 bytes", read(fd, small, sizeof small));

    printf("-- periodic\n");
    s = spec(10 * 1000000LL, 10 * 1000000LL);
    start = now_ns(CLOCK_MONOTONIC);
    struct itimerspec old;
    SHOW("arm every 10 ms", timerfd_settime(fd, 0, &s, &old));
    printf("old setting: value %lld.%09ld\n", (long long)old.it_value.tv_sec, old.it_value.tv_nsec);
    struct timespec nap = {0, 65 * 1000000};
    nanosleep(&nap, NULL);
    /* At least 65 ms passed: at least 6 expirations, however late the timer ran. */
    n = read(fd, &count, sizeof count);
    printf("after 65 ms: %ld bytes, count >= 6: %s\n", n, yes_no(count >= 6));
    timerfd_gettime(fd, &cur);
    printf("interval %lld.%09ld, value <= 10 ms: %s\n", (long long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec,
           yes_no(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 10 * 1000000));
    struct pollfd p = {fd, POLLIN, 0};
    SHOW("poll waits for the next one", poll(&p, 1, 1000));
    int ep = epoll_create1(0);
    struct epoll_event e = {EPOLLIN | EPOLLET, {.u64 = 9}};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    struct epoll_event got;
    SHOW("epoll waits for an expiration", epoll_wait(ep, &got, 1, 1000));
    uint64_t total = 0;
    for (int i = 0; i < 3; ++i) {
        while (read(fd, &count, sizeof count) < 0) epoll_wait(ep, &got, 1, 1000);
        total += count;
    }
    printf("three more reads: total >= 3: %s\n", yes_no(total >= 3));
    s = spec(0, 0);
    SHOW("disarm", timerfd_settime(fd, 0, &s, &old));
    printf("old interval %lld.%09ld\n", (long long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
    read(fd, &count, sizeof count);  /* what was counted before disarming (settime cleared it) */
    nanosleep(&nap, NULL);
    SHOW("nothing after disarming", read(fd, &count, sizeof count));
    close(ep);
    close(fd);

    printf("-- absolute times\n");
    clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
    const char* names[] = {"CLOCK_MONOTONIC", "CLOCK_REALTIME", "CLOCK_BOOTTIME"};
    for (int i = 0; i < 3; ++i) {
        fd = timerfd_create(clocks[i], 0);
        long long when = now_ns(clocks[i]) + 20 * 1000000LL;
        s = spec(when, 0);
        SHOW(names[i], timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL));
        n = read(fd, &count, sizeof count);
        printf("  fired: %ld bytes, count %llu, not early: %s\n", n, (unsigned long long)count,
               yes_no(now_ns(clocks[i]) >= when));
        s = spec(1000000000LL, 0);  /* one second after the epoch: long past */
        timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL);
        n = read(fd, &count, sizeof count);
        printf("  a time in the past fires at once: count %llu\n", (unsigned long long)count);
        close(fd);
    }

    printf("-- errors\n");
    SHOW("bad clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    SHOW("bad flags", timerfd_create(CLOCK_MONOTONIC, 0x1234));
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    s = spec(0, 0);
    s.it_value.tv_nsec = 1000000000;
    SHOW("nanoseconds out of range", timerfd_settime(fd, 0, &s, NULL));
    s = spec(1000, 0);
    SHOW("bad settime flags", timerfd_settime(fd, 0x100, &s, NULL));
    SHOW("settime on a pipe", ({
             int pp[2];
             pipe(pp);
             long r = timerfd_settime(pp[0], 0, &s, NULL);
             close(pp[0]);
             close(pp[1]);
             r;
         }));
    SHOW("gettime with a bad pointer", timerfd_gettime(fd, (struct itimerspec*)8));
    close(fd);
    return 0;
}
