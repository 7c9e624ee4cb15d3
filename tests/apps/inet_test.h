/* Helpers shared by the AF_INET apps tests (inet_tcp.c, inet_tcp_calls.c): results and
 * readiness by name, waiting for an event with a cap, loopback listeners and connected pairs
 * with ports of the kernel's choice. */
#ifndef MICA_INET_TEST_H
#define MICA_INET_TEST_H
#include "app_test.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SIOCINQ
#define SIOCINQ FIONREAD  /* linux/sockios.h's names for the socket queue ioctls */
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif

static inline const char* err(long r) {
    static char text[64];
    if (r >= 0) {
        snprintf(text, sizeof text, "%ld", r);
        return text;
    }
    snprintf(text, sizeof text, "-1 %s", errno_name(errno));
    return text;
}

#define SHOW(label, call)                                 \
    do {                                                  \
        errno = 0;                                        \
        long show_result_ = (long)(call);                 \
        printf("%s: %s\n", label, err(show_result_));     \
    } while (0)

/* poll(2) events by name, in a fixed order. */
static inline const char* events(short e) {
    static char text[96];
    text[0] = '\0';
    if (e & POLLIN) strcat(text, " IN");
    if (e & POLLPRI) strcat(text, " PRI");
    if (e & POLLOUT) strcat(text, " OUT");
    if (e & POLLERR) strcat(text, " ERR");
    if (e & POLLHUP) strcat(text, " HUP");
    if (e & POLLRDHUP) strcat(text, " RDHUP");
    if (!text[0]) strcat(text, " none");
    return text + 1;
}

static inline short poll_now(int fd) {
    struct pollfd p = {fd, POLLIN | POLLPRI | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

/* Waits (at most 30 s, never expected) until one of `want` is reported; then what is. */
static inline short wait_for(int fd, short want) {
    for (int i = 0; i < 3000; ++i) {
        short e = poll_now(fd);
        if (e & want) return e;
        struct pollfd p = {fd, want, 0};
        poll(&p, 1, 10);
    }
    return poll_now(fd);
}

static inline struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    return a;
}

static inline const char* address_text(const struct sockaddr_in* a) {
    static char text[32];
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    return text;
}

/* A listener on 127.0.0.1 with a port of the kernel's choice, and its address. */
static inline int listener(struct sockaddr_in* a, int backlog) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    APP_REQUIRE(l >= 0);
    *a = loopback(0);
    APP_REQUIRE(bind(l, (struct sockaddr*)a, sizeof *a) == 0);
    APP_REQUIRE(listen(l, backlog) == 0);
    socklen_t len = sizeof *a;
    APP_REQUIRE(getsockname(l, (struct sockaddr*)a, &len) == 0);
    return l;
}

/* A connected pair through a listener (a blocking connect completes before accept). */
static inline void connected_pair(int* client, int* server) {
    struct sockaddr_in a;
    int l = listener(&a, 4);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    APP_REQUIRE(connect(*client, (struct sockaddr*)&a, sizeof a) == 0);
    *server = accept(l, NULL, NULL);
    APP_REQUIRE(*server >= 0);
    close(l);
}

static inline int get_int(int fd, int level, int name) {
    int v = -12345;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0) return -errno;
    return v;
}

#endif
