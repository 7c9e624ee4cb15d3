/* epoll: level- and edge-triggered items and EPOLLONESHOT on pipes, eventfds and sockets,
 * EPOLLRDHUP, 500 descriptors at once, a nested instance, registrations dropped when the
 * open file is finally closed, a waiter in another thread, and epoll_ctl's errors. */
#define _GNU_SOURCE
#include "app_test.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event e = {events, {.u64 = data}};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event e = {events, {.u64 = data}};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static const char* event_names(uint32_t e) {
    static char text[96];
    text[0] = 0;
    if (e & EPOLLIN) strcat(text, "IN ");
    if (e & EPOLLOUT) strcat(text, "OUT ");
    if (e & EPOLLRDHUP) strcat(text, "RDHUP ");
    if (e & EPOLLHUP) strcat(text, "HUP ");
    if (e & EPOLLERR) strcat(text, "ERR ");
    if (e & EPOLLPRI) strcat(text, "PRI ");
    size_t n = strlen(text);
    if (n) text[n - 1] = 0;
    return text;
}

/* One epoll_wait, printed: the count and each event's data and names. */
static int wait_and_show(const char* label, int ep, int max, int timeout) {
    struct epoll_event events[16];
    int n = epoll_wait(ep, events, max, timeout);
    printf("%s: %s", label, err(n));
    for (int i = 0; i < n; ++i) printf(" [%llu %s]", (unsigned long long)events[i].data.u64, event_names(events[i].events));
    printf("\n");
    return n;
}

/* The legacy calls x86_64 has (aarch64 only has epoll_create1 and epoll_pwait): the same
 * results either way. */
static void legacy(void) {
    printf("-- epoll_create and epoll_wait\n");
#ifdef SYS_epoll_create
    int ep = (int)syscall(SYS_epoll_create, 1);
    long bad = syscall(SYS_epoll_create, 0);
    int bad_errno = errno;
#else
    int ep = epoll_create1(0);
    long bad = -1;
    int bad_errno = EINVAL;
#endif
    printf("epoll_create(1) works: %s, epoll_create(0): %ld %s\n", yes_no(ep >= 0), bad, errno_name(bad_errno));
    int p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 3);
    write(p[1], "x", 1);
    struct epoll_event e;
#ifdef SYS_epoll_wait
    long n = syscall(SYS_epoll_wait, ep, &e, 1, 0);
#else
    long n = epoll_pwait(ep, &e, 1, 0, NULL);
#endif
    printf("epoll_wait: %ld, data %llu\n", n, (unsigned long long)e.data.u64);
    close(p[0]);
    close(p[1]);
    close(ep);
}

static void errors(void) {
    printf("-- errors\n");
    SHOW("epoll_create1(1)", epoll_create1(1));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("EPOLL_CLOEXEC: %s\n", yes_no(fcntl(ep, F_GETFD) & FD_CLOEXEC));
    int p[2];
    pipe(p);
    struct epoll_event e = {EPOLLIN, {.u64 = 1}};
    SHOW("add itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
    SHOW("add to a pipe", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e));
    int file = open("/proc/self/maps", O_RDONLY);
    SHOW("add a regular file", epoll_ctl(ep, EPOLL_CTL_ADD, file, &e));
    int null = open("/dev/null", O_RDONLY);
    SHOW("add /dev/null", epoll_ctl(ep, EPOLL_CTL_ADD, null, &e));
    SHOW("add a closed descriptor", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e));
    SHOW("add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    SHOW("add again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    SHOW("modify one never added", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e));
    SHOW("delete one never added", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    SHOW("bad operation", epoll_ctl(ep, 99, p[0], &e));
    SHOW("delete with a null event", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    SHOW("add with a bad event pointer", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], (struct epoll_event*)8));
    struct epoll_event out[1];
    SHOW("wait for 0 events", epoll_wait(ep, out, 0, 0));
    SHOW("wait on a pipe", epoll_wait(p[0], out, 1, 0));
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    SHOW("EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    SHOW("modify an exclusive one", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
    e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    SHOW("EPOLLEXCLUSIVE with EPOLLONESHOT", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e));
    int inner = epoll_create1(0), outer = epoll_create1(0);
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    SHOW("EPOLLEXCLUSIVE on an epoll", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &e));
    e.events = EPOLLIN;
    SHOW("outer watches inner", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &e));
    SHOW("inner watches outer (a loop)", epoll_ctl(inner, EPOLL_CTL_ADD, outer, &e));
    char c;
    SHOW("read an epoll descriptor", read(ep, &c, 1));
    close(inner);
    close(outer);
    close(file);
    close(null);
    close(p[0]);
    close(p[1]);
    close(ep);
}

static void triggers(void) {
    printf("-- level, edge, one-shot (pipes)\n");
    int ep = epoll_create1(0);
    int lt[2], et[2], os[2];
    pipe(lt);
    pipe(et);
    pipe(os);
    add(ep, lt[0], EPOLLIN, 1);
    add(ep, et[0], EPOLLIN | EPOLLET, 2);
    add(ep, os[0], EPOLLIN | EPOLLONESHOT, 3);
    wait_and_show("nothing yet", ep, 8, 0);
    write(lt[1], "ab", 2);
    write(et[1], "ab", 2);
    write(os[1], "ab", 2);
    wait_and_show("all three", ep, 8, 0);
    wait_and_show("again: level only", ep, 8, 0);
    write(et[1], "c", 1);
    write(os[1], "c", 1);
    wait_and_show("new data: level and edge", ep, 8, 0);
    SHOW("re-arm the one-shot", mod(ep, os[0], EPOLLIN | EPOLLONESHOT, 33));
    wait_and_show("after re-arming", ep, 8, 0);
    char buf[8];
    read(lt[0], buf, sizeof buf);
    read(et[0], buf, sizeof buf);
    read(os[0], buf, sizeof buf);
    wait_and_show("drained", ep, 8, 0);
    SHOW("watch the write end for OUT", add(ep, lt[1], EPOLLOUT | EPOLLET, 4));
    wait_and_show("writable", ep, 8, 0);
    close(lt[0]);
    wait_and_show("reader gone", ep, 8, 0);
    close(et[1]);
    wait_and_show("writer gone", ep, 8, 0);
    close(lt[1]);
    close(et[0]);
    close(os[0]);
    close(os[1]);
    close(ep);
}

static void rotation(void) {
    printf("-- fewer slots than ready items\n");
    int ep = epoll_create1(0);
    int p[3][2];
    for (int i = 0; i < 3; ++i) {
        pipe(p[i]);
        add(ep, p[i][0], EPOLLIN, (uint64_t)(10 + i));
    }
    for (int i = 0; i < 3; ++i) write(p[i][1], "x", 1);
    for (int i = 0; i < 4; ++i) wait_and_show("one slot", ep, 1, 0);
    for (int i = 0; i < 3; ++i) {
        close(p[i][0]);
        close(p[i][1]);
    }
    close(ep);
}

static void eventfds_and_sockets(void) {
    printf("-- eventfd and sockets\n");
    int ep = epoll_create1(0);
    int efd = eventfd(0, EFD_NONBLOCK);
    add(ep, efd, EPOLLIN | EPOLLOUT | EPOLLET, 1);
    wait_and_show("eventfd at 0 (edge)", ep, 8, 0);
    uint64_t one = 1;
    write(efd, &one, sizeof one);
    wait_and_show("after a write", ep, 8, 0);
    wait_and_show("no new edge", ep, 8, 0);
    uint64_t value;
    read(efd, &value, sizeof value);
    wait_and_show("after the read (OUT edge)", ep, 8, 0);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    add(ep, sv[0], EPOLLIN | EPOLLRDHUP, 2);
    wait_and_show("idle socket", ep, 8, 0);
    write(sv[1], "data", 4);
    wait_and_show("data", ep, 8, 0);
    char buf[8];
    read(sv[0], buf, sizeof buf);
    shutdown(sv[1], SHUT_WR);
    wait_and_show("peer shut writing", ep, 8, 0);
    close(sv[1]);
    wait_and_show("peer closed", ep, 8, 0);
    close(sv[0]);
    close(efd);
    close(ep);
}

#define MANY 500

static void many(void) {
    printf("-- %d eventfds\n", MANY);
    int ep = epoll_create1(0);
    int fds[MANY];
    for (int i = 0; i < MANY; ++i) {
        fds[i] = eventfd(0, EFD_NONBLOCK);
        APP_REQUIRE(fds[i] >= 0);
        APP_REQUIRE(add(ep, fds[i], EPOLLIN, (uint64_t)i) == 0);
    }
    uint64_t one = 1;
    for (int i = 0; i < MANY; i += 7) write(fds[i], &one, sizeof one);
    static struct epoll_event events[MANY];
    int n = epoll_wait(ep, events, MANY, 0);
    int right = 0;
    for (int i = 0; i < n; ++i) right += events[i].data.u64 % 7 == 0 && events[i].events == EPOLLIN;
    printf("ready: %d, all of them multiples of 7: %s\n", n, yes_no(right == n));
    for (int i = 0; i < MANY; i += 2) close(fds[i]);  /* closing drops half of the registrations */
    n = epoll_wait(ep, events, MANY, 0);
    right = 0;
    for (int i = 0; i < n; ++i) right += events[i].data.u64 % 14 == 7;
    printf("after closing the even ones: %d ready, all odd multiples of 7: %s\n", n, yes_no(right == n));
    for (int i = 1; i < MANY; i += 2) close(fds[i]);
    close(ep);
}

static void nested(void) {
    printf("-- nested\n");
    int outer = epoll_create1(0), inner = epoll_create1(0);
    int p[2];
    pipe(p);
    add(inner, p[0], EPOLLIN, 7);
    add(outer, inner, EPOLLIN, 70);
    wait_and_show("outer, nothing yet", outer, 8, 0);
    write(p[1], "x", 1);
    wait_and_show("outer", outer, 8, 0);
    wait_and_show("inner", inner, 8, 0);
    struct pollfd pf = {inner, POLLIN, 0};
    printf("poll on the inner epoll: %d\n", poll(&pf, 1, 0));
    char c;
    read(p[0], &c, 1);
    wait_and_show("outer after draining", outer, 8, 0);
    pf.revents = 0;
    printf("poll on the inner epoll after draining: %d\n", poll(&pf, 1, 0));
    close(p[0]);
    close(p[1]);
    close(inner);
    close(outer);
}

static void closing(void) {
    printf("-- registrations belong to the open file\n");
    int ep = epoll_create1(0);
    int p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 5);
    int copy = dup(p[0]);
    close(p[0]);  /* the open file lives on in `copy`: still registered (under the old number) */
    write(p[1], "x", 1);
    wait_and_show("after closing one of two descriptors", ep, 8, 0);
    SHOW("delete by the closed number", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    close(copy);  /* the last one: the registration goes */
    wait_and_show("after closing the last", ep, 8, 0);
    int q[2];
    pipe(q);  /* likely the same numbers again */
    SHOW("add the new pipe", add(ep, q[0], EPOLLIN, 6));
    write(q[1], "y", 1);
    wait_and_show("the new pipe", ep, 8, 0);
    close(q[0]);
    close(q[1]);
    close(p[1]);
    close(ep);
}

struct waiter {
    int ep;
    int n;
    uint64_t data;
};

static void* wait_in_thread(void* arg) {
    struct waiter* w = arg;
    struct epoll_event e;
    w->n = epoll_wait(w->ep, &e, 1, -1);
    w->data = e.data.u64;
    return NULL;
}

static void threads(void) {
    printf("-- a waiter in another thread\n");
    int ep = epoll_create1(0);
    int p[2];
    pipe(p);
    add(ep, p[0], EPOLLIN, 42);
    struct waiter w = {ep, -2, 0};
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, wait_in_thread, &w) == 0);
    usleep(20000);
    write(p[1], "x", 1);
    pthread_join(t, NULL);
    printf("the thread's epoll_wait: %d, data %llu\n", w.n, (unsigned long long)w.data);
    wait_and_show("timeout of 30 ms with nothing new... (level: still there)", ep, 8, 30);
    char c;
    read(p[0], &c, 1);
    wait_and_show("timeout of 30 ms", ep, 8, 30);
    struct epoll_event e;
    uint64_t mask = 0;
    SHOW("epoll_pwait with a signal mask", epoll_pwait(ep, &e, 1, 0, (sigset_t*)&mask));
    struct timespec ts = {0, 1000000};
    long r = syscall(441 /* epoll_pwait2, the same number on x86_64 and aarch64 */, ep, &e, 1, &ts, NULL, 8);
    SHOW("epoll_pwait2 with a 1 ms timeout", r);
    close(p[0]);
    close(p[1]);
    close(ep);
}

int main(void) {
    app_test_init();
    signal(SIGPIPE, SIG_IGN);
    legacy();
    errors();
    triggers();
    rotation();
    eventfds_and_sockets();
    many();
    nested();
    closing();
    threads();
    return 0;
}
