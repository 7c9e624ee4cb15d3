/* AF_INET stream sockets driven by epoll, as servers run them: 200 connections at once with
 * non-blocking connect and accept on both sides of one loopback, an edge-triggered listener
 * drained until EAGAIN, EPOLLRDHUP and EPOLLHUP as peers go, and a full accept backlog: with
 * nobody accepting, exactly backlog + 1 connections complete; once the server accepts,
 * the clients that waited get in too. Ports are the kernel's choice; none is printed. */
#define _GNU_SOURCE
#include "app_test.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLIENTS 200
#define MESSAGE 16  /* every message is this long: "client NNN ....\n" */

static struct sockaddr_in listen_on(int* fd, int backlog, int flags) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM | flags, 0);
    APP_REQUIRE(*fd >= 0);
    APP_REQUIRE(bind(*fd, (struct sockaddr*)&a, sizeof a) == 0);
    APP_REQUIRE(listen(*fd, backlog) == 0);
    socklen_t len = sizeof a;
    APP_REQUIRE(getsockname(*fd, (struct sockaddr*)&a, &len) == 0);
    return a;
}

static int so_error(int fd) {
    int e = -1;
    socklen_t len = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
    return e;
}

/* ---- 200 connections --------------------------------------------------------------------- */

struct server {
    int listener;
    int served;     /* connections answered and closed by their client */
    int accepted;
    int bad;
};

/* One epoll loop: an edge-triggered listener drained with accept4 until EAGAIN, and
 * level-triggered connections answered with "ok" + the client's number. */
static void* serve(void* arg) {
    struct server* s = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = s->listener};
    epoll_ctl(ep, EPOLL_CTL_ADD, s->listener, &ev);
    static char pending[1024][MESSAGE];
    static int have[1024];
    while (s->served < CLIENTS) {
        struct epoll_event events[64];
        int n = epoll_wait(ep, events, 64, 30000);
        if (n <= 0) break;  /* 30 s without anything: give up (never expected) */
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == s->listener) {
                for (;;) {
                    int c = accept4(s->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) {
                        if (errno != EAGAIN) ++s->bad;
                        break;
                    }
                    ++s->accepted;
                    if (c >= 1024) {
                        ++s->bad;
                        close(c);
                        continue;
                    }
                    have[c] = 0;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = read(fd, pending[fd] + have[fd], (size_t)(MESSAGE - have[fd]));
            if (r > 0) {
                have[fd] += (int)r;
                if (have[fd] == MESSAGE) {
                    char reply[MESSAGE];
                    memcpy(reply, "ok", 2);
                    memcpy(reply + 2, pending[fd] + 2, MESSAGE - 2);
                    if (write(fd, reply, MESSAGE) != MESSAGE) ++s->bad;
                }
                continue;
            }
            if (r < 0 && errno == EAGAIN) continue;
            /* The client closed: its end of stream (with EPOLLRDHUP). */
            if (r < 0 || have[fd] != MESSAGE || !(events[i].events & EPOLLRDHUP)) ++s->bad;
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
            close(fd);
            ++s->served;
        }
    }
    close(ep);
    return NULL;
}

static void many_connections(void) {
    printf("-- %d connections at once\n", CLIENTS);
    struct server s = {0, 0, 0, 0};
    struct sockaddr_in a = listen_on(&s.listener, CLIENTS + 10, SOCK_NONBLOCK);
    pthread_t t;
    pthread_create(&t, NULL, serve, &s);
    int ep = epoll_create1(0);
    static int fds[CLIENTS], got[CLIENTS];
    static char replies[CLIENTS][MESSAGE];
    int in_progress = 0, other = 0;
    for (int i = 0; i < CLIENTS; ++i) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int r = connect(fds[i], (struct sockaddr*)&a, sizeof a);
        if (r < 0 && errno == EINPROGRESS) ++in_progress;
        else ++other;
        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    printf("connect: EINPROGRESS %d, anything else %d\n", in_progress, other);
    int connected = 0, answered = 0, errors = 0;
    while (answered < CLIENTS) {
        struct epoll_event events[64];
        int n = epoll_wait(ep, events, 64, 30000);
        if (n <= 0) break;
        for (int k = 0; k < n; ++k) {
            int i = (int)events[k].data.u32;
            if (events[k].events & EPOLLOUT) {
                /* Connected: say who we are, then wait for the answer. */
                if (so_error(fds[i]) != 0) ++errors;
                ++connected;
                char message[MESSAGE + 1];
                snprintf(message, sizeof message, "client %03d ....\n", i);
                if (write(fds[i], message, MESSAGE) != MESSAGE) ++errors;
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
                continue;
            }
            ssize_t r = read(fds[i], replies[i] + got[i], (size_t)(MESSAGE - got[i]));
            if (r <= 0) {
                ++errors;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                continue;
            }
            got[i] += (int)r;
            if (got[i] == MESSAGE) {
                char want[MESSAGE + 1];
                snprintf(want, sizeof want, "okient %03d ....\n", i);
                if (memcmp(replies[i], want, MESSAGE) != 0) ++errors;
                ++answered;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                close(fds[i]);
            }
        }
    }
    pthread_join(t, NULL);
    printf("clients: connected %d, answered %d, errors %d\n", connected, answered, errors);
    printf("server: accepted %d, served %d, errors %d\n", s.accepted, s.served, s.bad);
    close(ep);
    close(s.listener);
}

/* ---- readiness as peers go ------------------------------------------------------------------- */

static const char* epoll_events(uint32_t e) {
    static char text[96];
    text[0] = '\0';
    if (e & EPOLLIN) strcat(text, " IN");
    if (e & EPOLLOUT) strcat(text, " OUT");
    if (e & EPOLLERR) strcat(text, " ERR");
    if (e & EPOLLHUP) strcat(text, " HUP");
    if (e & EPOLLRDHUP) strcat(text, " RDHUP");
    if (!text[0]) strcat(text, " none");
    return text + 1;
}

static uint32_t wait_one(int ep) {
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, 30000);
    return n == 1 ? ev.events : 0;
}

static void peers_going(void) {
    printf("-- readiness as peers go\n");
    int l;
    struct sockaddr_in a = listen_on(&l, 4, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    APP_REQUIRE(connect(c, (struct sockaddr*)&a, sizeof a) == 0);
    int s = accept(l, NULL, NULL);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    struct epoll_event none;
    printf("nothing yet: %d\n", epoll_wait(ep, &none, 1, 0));
    write(c, "a", 1);
    printf("data: %s\n", epoll_events(wait_one(ep)));
    printf("edge-triggered, nothing new: %d\n", epoll_wait(ep, &none, 1, 0));
    write(c, "b", 1);
    printf("more data, a new edge: %s\n", epoll_events(wait_one(ep)));
    shutdown(c, SHUT_WR);
    printf("the peer's FIN: %s\n", epoll_events(wait_one(ep)));
    char b[8];
    ssize_t first = read(s, b, sizeof b);
    ssize_t second = read(s, b, sizeof b);
    printf("read %zd, then %zd\n", first, second);
    struct linger lg = {1, 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
    printf("the peer's reset: %s\n", epoll_events(wait_one(ep)));
    close(s);
    close(ep);
    close(l);
}

/* ---- a full accept backlog --------------------------------------------------------------------- */

#define WAITING 4

static void full_backlog(void) {
    printf("-- a full accept backlog (listen(fd, 1))\n");
    int l;
    struct sockaddr_in a = listen_on(&l, 1, 0);
    int c[WAITING];
    int in_progress = 0;
    for (int i = 0; i < WAITING; ++i) {
        c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(c[i], (struct sockaddr*)&a, sizeof a) < 0 && errno == EINPROGRESS) ++in_progress;
    }
    printf("connect: EINPROGRESS %d\n", in_progress);
    /* Wait until two are connected, then long enough for the others' first SYN
       retransmission (1 s on Linux): with nobody accepting, they stay out. */
    int done = 0;
    for (int round = 0; round < 3000 && done < 2; ++round) {
        done = 0;
        for (int i = 0; i < WAITING; ++i) {
            struct pollfd p = {c[i], POLLOUT, 0};
            if (poll(&p, 1, 0) == 1) ++done;
        }
        if (done < 2) usleep(10000);
    }
    usleep(1500000);
    done = 0;
    for (int i = 0; i < WAITING; ++i) {
        struct pollfd p = {c[i], POLLOUT, 0};
        if (poll(&p, 1, 0) == 1) ++done;
    }
    printf("connected while nobody accepts: %d\n", done);
    /* Now accept them all: those that waited get in as their SYNs come again. */
    int ok = 0;
    for (int i = 0; i < WAITING; ++i) {
        int s = accept(l, NULL, NULL);
        if (s < 0) break;
        if (write(s, "!", 1) == 1) ++ok;
        close(s);
    }
    int answered = 0;
    for (int i = 0; i < WAITING; ++i) {
        struct pollfd p = {c[i], POLLIN, 0};
        poll(&p, 1, 30000);
        char b;
        if (so_error(c[i]) == 0 && read(c[i], &b, 1) == 1 && b == '!') ++answered;
        close(c[i]);
    }
    printf("accepted and answered %d, clients that got their answer %d\n", ok, answered);
    close(l);
}

int main(void) {
    app_test_init();
    many_connections();
    peers_going();
    full_backlog();
    printf("done\n");
    return 0;
}
