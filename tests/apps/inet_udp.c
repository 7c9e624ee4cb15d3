/* AF_INET datagram sockets over loopback: datagram boundaries, truncation (MSG_TRUNC both
 * ways), zero-length and maximal datagrams, sources reported by recvfrom, connect as the
 * default peer (and the filter it sets), AF_UNSPEC to forget it, ECONNREFUSED from a
 * connected socket whose peer has no socket, SO_BROADCAST over 127.255.255.255, shutdown,
 * readiness, FIONREAD, a receiver thread, and the errors Linux gives for bad addresses.
 * Ports are the kernel's choice; the output shows none. */
#define _GNU_SOURCE
#include "app_test.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char* err(long r) {
    static char text[64];
    if (r >= 0) {
        snprintf(text, sizeof text, "%ld", r);
        return text;
    }
    snprintf(text, sizeof text, "-1 %s", errno_name(errno));
    return text;
}

#define SHOW(label, call)                             \
    do {                                              \
        errno = 0;                                    \
        long show_result_ = (long)(call);             \
        printf("%s: %s\n", label, err(show_result_)); \
    } while (0)

static const char* events(short e) {
    static char text[96];
    text[0] = '\0';
    if (e & POLLIN) strcat(text, " IN");
    if (e & POLLOUT) strcat(text, " OUT");
    if (e & POLLERR) strcat(text, " ERR");
    if (e & POLLHUP) strcat(text, " HUP");
    if (e & POLLRDHUP) strcat(text, " RDHUP");
    if (!text[0]) strcat(text, " none");
    return text + 1;
}

static short poll_now(int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

/* Waits (at most 30 s) until `fd` has a datagram queued. */
static void wait_readable(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 30000);
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    return a;
}

/* A socket bound to 127.0.0.1 (or INADDR_ANY) with a port of the kernel's choice. */
static int bound(struct sockaddr_in* a, int any) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    APP_REQUIRE(s >= 0);
    *a = loopback(0);
    if (any) a->sin_addr.s_addr = htonl(INADDR_ANY);
    APP_REQUIRE(bind(s, (struct sockaddr*)a, sizeof *a) == 0);
    socklen_t len = sizeof *a;
    APP_REQUIRE(getsockname(s, (struct sockaddr*)a, &len) == 0);
    if (any) a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return s;
}

static void boundaries(void) {
    printf("-- boundaries and truncation\n");
    struct sockaddr_in ra, sa;
    int r = bound(&ra, 0), s = bound(&sa, 0);
    printf("fresh: %s\n", events(poll_now(r)));
    SHOW("send 0 bytes", sendto(s, "", 0, 0, (struct sockaddr*)&ra, sizeof ra));
    SHOW("send 10 bytes", sendto(s, "0123456789", 10, 0, (struct sockaddr*)&ra, sizeof ra));
    SHOW("send 3 bytes", sendto(s, "abc", 3, 0, (struct sockaddr*)&ra, sizeof ra));
    wait_readable(r);
    int n = -1;
    ioctl(r, FIONREAD, &n);
    printf("FIONREAD (the first datagram) %d, poll: %s\n", n, events(poll_now(r)));
    char b[64];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    SHOW("recvfrom", recvfrom(r, b, sizeof b, 0, (struct sockaddr*)&from, &len));
    printf("  from the sender: %s, length %u\n",
           yes_no(from.sin_port == sa.sin_port && from.sin_addr.s_addr == sa.sin_addr.s_addr), (unsigned)len);
    wait_readable(r);
    ioctl(r, FIONREAD, &n);
    printf("FIONREAD %d\n", n);
    struct msghdr m;
    struct iovec io = {b, 4};
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    memset(b, 0, sizeof b);
    SHOW("recvmsg 4 of 10, MSG_PEEK", recvmsg(r, &m, MSG_PEEK));
    printf("  '%s', MSG_TRUNC in msg_flags: %s\n", b, yes_no(m.msg_flags & MSG_TRUNC));
    SHOW("recv 4 with MSG_TRUNC (the real length)", recv(r, b, 4, MSG_TRUNC));
    SHOW("recv the next, whole", recv(r, b, sizeof b, 0));
    SHOW("nothing left", recv(r, b, sizeof b, MSG_DONTWAIT));
    /* Scattered into iovecs, and gathered from them. */
    struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    memset(&m, 0, sizeof m);
    m.msg_name = &ra;
    m.msg_namelen = sizeof ra;
    m.msg_iov = out;
    m.msg_iovlen = 3;
    SHOW("sendmsg of 3 iovecs", sendmsg(s, &m, 0));
    char x[3] = {0}, y[8] = {0};
    struct iovec in[2] = {{x, 3}, {y, sizeof y - 1}};
    memset(&m, 0, sizeof m);
    m.msg_iov = in;
    m.msg_iovlen = 2;
    wait_readable(r);
    SHOW("recvmsg into 2 iovecs", recvmsg(r, &m, 0));
    printf("  '%.3s' '%s'\n", x, y);
    /* The largest datagram IPv4 carries, and one more byte. */
    static char big[65536], back[65536];
    for (size_t i = 0; i < sizeof big; ++i) big[i] = (char)(i * 7 + 1);
    SHOW("send 65508 bytes", sendto(s, big, 65508, 0, (struct sockaddr*)&ra, sizeof ra));
    SHOW("send 65507 bytes", sendto(s, big, 65507, 0, (struct sockaddr*)&ra, sizeof ra));
    wait_readable(r);
    SHOW("recv it", recv(r, back, sizeof back, 0));
    printf("  same bytes: %s\n", yes_no(memcmp(big, back, 65507) == 0));
    close(r);
    close(s);
}

static void connected(void) {
    printf("-- connect\n");
    struct sockaddr_in ra, oa;
    int r = bound(&ra, 0), s = socket(AF_INET, SOCK_DGRAM, 0), other = bound(&oa, 0);
    char b[32];
    SHOW("send without a destination", send(s, "x", 1, 0));
    SHOW("getpeername", ({
             socklen_t l = sizeof oa;
             getpeername(s, (struct sockaddr*)&oa, &l);
         }));
    SHOW("connect", connect(s, (struct sockaddr*)&ra, sizeof ra));
    struct sockaddr_in name;
    socklen_t len = sizeof name;
    getsockname(s, (struct sockaddr*)&name, &len);
    printf("  bound on connect: %s, local address 127.0.0.1: %s\n", yes_no(name.sin_port != 0),
           yes_no(name.sin_addr.s_addr == htonl(INADDR_LOOPBACK)));
    len = sizeof name;
    SHOW("getpeername", getpeername(s, (struct sockaddr*)&name, &len));
    printf("  the receiver: %s\n", yes_no(name.sin_port == ra.sin_port));
    SHOW("send", send(s, "to the peer", 11, 0));
    wait_readable(r);
    SHOW("recv", recv(r, b, sizeof b, 0));
    /* A connected socket hears only its peer. */
    struct sockaddr_in sname = name;
    len = sizeof sname;
    getsockname(s, (struct sockaddr*)&sname, &len);
    SHOW("a stranger sends", sendto(other, "stranger", 8, 0, (struct sockaddr*)&sname, sizeof sname));
    SHOW("the peer sends", sendto(r, "peer", 4, 0, (struct sockaddr*)&sname, sizeof sname));
    wait_readable(s);
    memset(b, 0, sizeof b);
    SHOW("recv", recv(s, b, sizeof b, 0));
    printf("  '%s'\n", b);
    SHOW("nothing else", recv(s, b, sizeof b, MSG_DONTWAIT));
    /* sendto another address still works. */
    SHOW("sendto another address", sendto(s, "elsewhere", 9, 0, (struct sockaddr*)&oa, sizeof oa));
    wait_readable(other);
    SHOW("it arrives", recv(other, b, sizeof b, 0));
    /* AF_UNSPEC forgets the peer. */
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    SHOW("connect(AF_UNSPEC)", connect(s, &unspec, sizeof unspec));
    SHOW("send", send(s, "x", 1, 0));
    len = sizeof name;
    SHOW("getpeername", getpeername(s, (struct sockaddr*)&name, &len));
    len = sizeof name;
    getsockname(s, (struct sockaddr*)&name, &len);
    printf("  still has its port: %s\n", yes_no(name.sin_port != 0));
    close(s);
    close(r);
    close(other);
}

static void refused(void) {
    printf("-- a connected peer without a socket\n");
    struct sockaddr_in a;
    close(bound(&a, 0));  /* a port nobody has now */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("connect", connect(s, (struct sockaddr*)&a, sizeof a));
    SHOW("send", send(s, "x", 1, 0));
    for (int i = 0; i < 3000 && !(poll_now(s) & POLLERR); ++i) usleep(1000);
    printf("poll: %s\n", events(poll_now(s)));
    SHOW("send again", send(s, "x", 1, 0));
    SHOW("recv", recv(s, (char[4]){0}, 4, MSG_DONTWAIT));
    SHOW("send", send(s, "x", 1, 0));
    for (int i = 0; i < 3000 && !(poll_now(s) & POLLERR); ++i) usleep(1000);
    char b[4];
    SHOW("recv", recv(s, b, sizeof b, MSG_DONTWAIT));
    int e = -1;
    socklen_t len = sizeof e;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len);
    printf("SO_ERROR %d\n", e);
    /* Unconnected: nobody hears of it. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("sendto (not connected)", sendto(u, "x", 1, 0, (struct sockaddr*)&a, sizeof a));
    usleep(10000);
    SHOW("sendto again", sendto(u, "x", 1, 0, (struct sockaddr*)&a, sizeof a));
    close(u);
    close(s);
}

static void broadcast(void) {
    printf("-- broadcast\n");
    struct sockaddr_in ra;
    int r = bound(&ra, 1);  /* INADDR_ANY hears broadcasts */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = ra;
    to.sin_addr.s_addr = inet_addr("127.255.255.255");
    SHOW("sendto 127.255.255.255", sendto(s, "all", 3, 0, (struct sockaddr*)&to, sizeof to));
    SHOW("connect to it", connect(s, (struct sockaddr*)&to, sizeof to));
    int one = 1;
    SHOW("SO_BROADCAST", setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one));
    SHOW("sendto 127.255.255.255", sendto(s, "all", 3, 0, (struct sockaddr*)&to, sizeof to));
    wait_readable(r);
    char b[8] = {0};
    SHOW("recv", recv(r, b, sizeof b, 0));
    printf("  '%s'\n", b);
    close(r);
    close(s);
}

static void shutdowns(void) {
    printf("-- shutdown\n");
    struct sockaddr_in ra;
    int r = bound(&ra, 0);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("shutdown, not connected", shutdown(s, SHUT_RD));
    printf("poll: %s\n", events(poll_now(s)));
    SHOW("recv (non-blocking)", recv(s, (char[4]){0}, 4, MSG_DONTWAIT));
    SHOW("recv (blocking)", recv(s, (char[4]){0}, 4, 0));
    close(s);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    connect(s, (struct sockaddr*)&ra, sizeof ra);
    SHOW("shutdown(SHUT_WR), connected", shutdown(s, SHUT_WR));
    printf("poll: %s\n", events(poll_now(s)));
    SHOW("send", send(s, "x", 1, 0));
    SHOW("shutdown(SHUT_RD)", shutdown(s, SHUT_RD));
    printf("poll: %s\n", events(poll_now(s)));
    SHOW("shutdown(9)", shutdown(s, 9));
    close(s);
    close(r);
}

static void bad_input(void) {
    printf("-- bad input\n");
    struct sockaddr_in ra;
    int r = bound(&ra, 0);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    SHOW("socket(SOCK_DGRAM, IPPROTO_TCP)", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    struct sockaddr_in a = ra;
    SHOW("sendto, short address", sendto(s, "x", 1, 0, (struct sockaddr*)&a, 8));
    SHOW("sendto, address length 0", sendto(s, "x", 1, 0, (struct sockaddr*)&a, 0));
    SHOW("sendto, bad address pointer", sendto(s, "x", 1, 0, (struct sockaddr*)8, sizeof a));
    SHOW("sendto, bad buffer", sendto(s, (void*)8, 1, 0, (struct sockaddr*)&a, sizeof a));
    a.sin_port = 0;
    SHOW("sendto port 0", sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof a));
    a = ra;
    a.sin_family = AF_INET6;
    SHOW("sendto, AF_INET6 address", sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof a));
    a.sin_family = AF_UNSPEC;
    SHOW("sendto, AF_UNSPEC address (taken as AF_INET)", sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof a));
    wait_readable(r);
    SHOW("recv into a bad buffer", recv(r, (void*)8, 4, 0));
    SHOW("that datagram is gone", recv(r, (char[4]){0}, 4, MSG_DONTWAIT));
    SHOW("connect, short address", connect(s, (struct sockaddr*)&ra, 1));
    a = ra;
    a.sin_addr.s_addr = inet_addr("192.0.2.1");
    SHOW("bind to an address not ours", bind(s, (struct sockaddr*)&a, sizeof a));
    SHOW("bind to the receiver's port", bind(s, (struct sockaddr*)&ra, sizeof ra));
    SHOW("listen", listen(s, 1));
    SHOW("accept", accept(s, NULL, NULL));
    int v = 1;
    SHOW("a TCP option", setsockopt(s, IPPROTO_TCP, 1, &v, sizeof v));
    socklen_t len = sizeof v;
    SHOW("a TCP option (get)", getsockopt(s, IPPROTO_TCP, 1, &v, &len));
    SHOW("MSG_OOB", send(s, "x", 1, MSG_OOB));
    close(s);
    close(r);
}

struct burst {
    int fd;
    int count;
    int ok;
};

static void* receive_burst(void* arg) {
    struct burst* b = arg;
    char buf[64];
    b->ok = 1;
    for (int i = 0; i < b->count; ++i) {
        ssize_t n = recv(b->fd, buf, sizeof buf, 0);
        char want[16];
        int w = snprintf(want, sizeof want, "datagram %d", i);
        if (n != w || memcmp(buf, want, (size_t)w) != 0) b->ok = 0;
    }
    return NULL;
}

static void threads(void) {
    printf("-- a receiver thread\n");
    struct sockaddr_in ra;
    int r = bound(&ra, 0);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct burst b = {r, 50, 0};
    pthread_t t;
    pthread_create(&t, NULL, receive_burst, &b);
    for (int i = 0; i < 50; ++i) {
        char text[16];
        int n = snprintf(text, sizeof text, "datagram %d", i);
        sendto(s, text, (size_t)n, 0, (struct sockaddr*)&ra, sizeof ra);
        if (i % 10 == 9) usleep(1000);
    }
    pthread_join(t, NULL);
    printf("50 datagrams, in order and whole: %s\n", yes_no(b.ok));
    close(r);
    close(s);
}

int main(void) {
    app_test_init();
    boundaries();
    connected();
    refused();
    broadcast();
    shutdowns();
    bad_input();
    threads();
    printf("done\n");
    return 0;
}
