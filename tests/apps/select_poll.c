/* poll, ppoll, select and pselect: readiness of pipes and sockets, POLLHUP/POLLERR/POLLNVAL,
 * timeouts (select and pselect write the time left back, as Linux does), a sleeper woken by
 * another thread, the signal-mask arguments, and the errors. */
#define _GNU_SOURCE
#include "app_test.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

static const char* revents(short r) {
    static char text[64];
    text[0] = 0;
    if (r & POLLIN) strcat(text, "IN ");
    if (r & POLLOUT) strcat(text, "OUT ");
    if (r & POLLHUP) strcat(text, "HUP ");
    if (r & POLLERR) strcat(text, "ERR ");
    if (r & POLLNVAL) strcat(text, "NVAL ");
    if (r & POLLRDHUP) strcat(text, "RDHUP ");
    size_t n = strlen(text);
    if (n) text[n - 1] = 0;
    else strcpy(text, "-");
    return text;
}

static void show_poll(const char* label, struct pollfd* fds, int n, int timeout) {
    int r = poll(fds, (nfds_t)n, timeout);
    printf("%s: %s", label, err(r));
    for (int i = 0; i < n; ++i) printf(" [%s]", revents(fds[i].revents));
    printf("\n");
}

static void* write_later(void* arg) {
    int fd = *(int*)arg;
    usleep(20000);
    write(fd, "x", 1);
    return NULL;
}

static void polls(void) {
    printf("-- poll\n");
    int p[2];
    pipe(p);
    struct pollfd fds[4] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}, {999, POLLIN, 0}};
    show_poll("empty pipe", fds, 4, 0);
    write(p[1], "x", 1);
    show_poll("with data", fds, 4, 0);
    char c;
    read(p[0], &c, 1);
    fds[1].events = 0;  /* errors and hang-ups are reported even when not asked for */
    show_poll("nothing asked of the write end", fds, 2, 0);
    show_poll("30 ms timeout, nothing ready", fds, 1, 30);
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, write_later, &p[1]) == 0);
    show_poll("woken by a thread", fds, 1, -1);
    pthread_join(t, NULL);
    read(p[0], &c, 1);
    close(p[1]);
    show_poll("writer gone", fds, 1, 0);
    int q[2];
    pipe(q);
    close(q[0]);
    struct pollfd w = {q[1], POLLOUT, 0};
    show_poll("reader gone", &w, 1, 0);
    close(q[1]);
    close(p[0]);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct pollfd s[2] = {{sv[0], POLLIN | POLLOUT | POLLRDHUP, 0}, {sv[1], POLLIN | POLLOUT | POLLRDHUP, 0}};
    show_poll("socket pair", s, 2, 0);
    shutdown(sv[1], SHUT_WR);
    show_poll("one side shut writing", s, 2, 0);
    close(sv[1]);
    show_poll("one side closed", s, 1, 0);
    close(sv[0]);
    struct pollfd* volatile bad = (struct pollfd*)8;
    SHOW("poll with a bad pointer", poll(bad, 1, 0));
    SHOW("poll of nothing, 10 ms", poll(NULL, 0, 10));

    struct timespec ts = {0, 20000000};
    pipe(p);
    struct pollfd one = {p[0], POLLIN, 0};
    sigset_t mask;
    sigemptyset(&mask);
    SHOW("ppoll with a timeout and a mask", ppoll(&one, 1, &ts, &mask));
    ts.tv_nsec = 2000000000;
    SHOW("ppoll with a bad timeout", ppoll(&one, 1, &ts, NULL));
    uint64_t raw = 0;
    SHOW("ppoll with a bad mask size", syscall(SYS_ppoll, &one, 1, NULL, &raw, 4));
    close(p[0]);
    close(p[1]);
}

static void selects(void) {
    printf("-- select\n");
    int p[2];
    pipe(p);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int top = p[0];
    if (p[1] > top) top = p[1];
    if (sv[0] > top) top = sv[0];
    if (sv[1] > top) top = sv[1];
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(p[0], &r);
    FD_SET(sv[0], &r);
    FD_SET(p[1], &w);
    FD_SET(p[0], &e);
    struct timeval tv = {0, 0};
    long n = select(top + 1, &r, &w, &e, &tv);
    printf("nothing to read: %s, pipe readable %s, pipe writable %s, exception %s\n", err(n), yes_no(FD_ISSET(p[0], &r)),
           yes_no(FD_ISSET(p[1], &w)), yes_no(FD_ISSET(p[0], &e)));
    write(sv[1], "x", 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    FD_SET(sv[0], &r);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    n = select(top + 1, &r, NULL, NULL, &tv);
    long long left = tv.tv_sec * 1000000LL + tv.tv_usec;
    printf("socket readable: %s, socket %s, pipe %s, time left written back (0 < left <= 5 s): %s\n", err(n),
           yes_no(FD_ISSET(sv[0], &r)), yes_no(FD_ISSET(p[0], &r)), yes_no(left > 0 && left <= 5000000));
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    n = select(p[0] + 1, &r, NULL, NULL, &tv);
    /* glibc's select gives the kernel's write-back (0 left), musl's keeps its own copy. */
    printf("30 ms timeout: %s, time left at most 30 ms: %s\n", err(n), yes_no(tv.tv_sec == 0 && tv.tv_usec <= 30000));
    tv.tv_sec = 0;
    tv.tv_usec = 1500000;  /* more than a second of microseconds: normalised, not an error */
    FD_ZERO(&r);
    FD_SET(sv[0], &r);
    SHOW("1500000 microseconds", select(sv[0] + 1, &r, NULL, NULL, &tv));
    tv.tv_usec = -1;
    SHOW("negative microseconds", select(sv[0] + 1, &r, NULL, NULL, &tv));
    SHOW("negative nfds", select(-1, NULL, NULL, NULL, NULL));
    int closed = dup(p[0]);
    close(closed);
    FD_ZERO(&r);
    FD_SET(closed, &r);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    SHOW("a closed descriptor", select(closed + 1, &r, NULL, NULL, &tv));
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, write_later, &p[1]) == 0);
    SHOW("select woken by a thread", select(p[0] + 1, &r, NULL, NULL, NULL));
    pthread_join(t, NULL);

    printf("-- pselect\n");
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec ts = {0, 20000000};
    sigset_t mask;
    sigemptyset(&mask);
    SHOW("pselect with data", pselect(p[0] + 1, &r, NULL, NULL, &ts, &mask));
    char c;
    read(p[0], &c, 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW("pselect 20 ms timeout", pselect(p[0] + 1, &r, NULL, NULL, &ts, &mask));
    ts.tv_nsec = -5;
    SHOW("pselect with a bad timeout", pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL));
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    app_test_init();
    polls();
    selects();
    return 0;
}
