/* AF_INET stream sockets over loopback, with server and client threads: a fresh socket's
 * answers, bind's errors, names, accept4's flags, MSG_PEEK/MSG_WAITALL/MSG_DONTWAIT/MSG_TRUNC,
 * half-close with every readiness change, refused connections (blocking and not), a reset by
 * SO_LINGER {1, 0}, unread data at close, a peer that resets in the middle of a transfer,
 * 4 MiB each way checked with a hash, the options' round trips and bad addresses.
 * Ports are always the kernel's choice (port 0), so runs on a busy host never collide; the
 * output never shows a port number. Threads, not fork (Mica's fork freezes the parent). */
#define _GNU_SOURCE
#include "app_test.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SIOCINQ
#define SIOCINQ FIONREAD  /* linux/sockios.h's names for the socket queue ioctls */
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif

static const char* err(long r) {
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
static const char* events(short e) {
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

static short poll_now(int fd) {
    struct pollfd p = {fd, POLLIN | POLLPRI | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

/* Waits (at most 30 s, never expected) until one of `want` is reported; then what is. */
static short wait_for(int fd, short want) {
    for (int i = 0; i < 3000; ++i) {
        short e = poll_now(fd);
        if (e & want) return e;
        struct pollfd p = {fd, want, 0};
        poll(&p, 1, 10);
    }
    return poll_now(fd);
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    return a;
}

static const char* address_text(const struct sockaddr_in* a) {
    static char text[32];
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    return text;
}

/* A listener on 127.0.0.1 with a port of the kernel's choice, and its address. */
static int listener(struct sockaddr_in* a, int backlog) {
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
static void connected_pair(int* client, int* server) {
    struct sockaddr_in a;
    int l = listener(&a, 4);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    APP_REQUIRE(connect(*client, (struct sockaddr*)&a, sizeof a) == 0);
    *server = accept(l, NULL, NULL);
    APP_REQUIRE(*server >= 0);
    close(l);
}

static int get_int(int fd, int level, int name) {
    int v = -12345;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0) return -errno;
    return v;
}

static void fresh_socket(void) {
    printf("-- a fresh socket\n");
    SHOW("socket(SOCK_STREAM, IPPROTO_UDP)", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    SHOW("socket(SOCK_SEQPACKET)", socket(AF_INET, SOCK_SEQPACKET, 0));
    SHOW("socket(type 99)", socket(AF_INET, 99, 0));
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    APP_REQUIRE(s >= 0);
    printf("poll: %s\n", events(poll_now(s)));
    printf("SO_TYPE %d, SO_PROTOCOL %d, SO_DOMAIN %d, SO_ACCEPTCONN %d, SO_ERROR %d\n", get_int(s, SOL_SOCKET, SO_TYPE),
           get_int(s, SOL_SOCKET, SO_PROTOCOL), get_int(s, SOL_SOCKET, SO_DOMAIN),
           get_int(s, SOL_SOCKET, SO_ACCEPTCONN), get_int(s, SOL_SOCKET, SO_ERROR));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    SHOW("getsockname", getsockname(s, (struct sockaddr*)&a, &len));
    printf("  %s port %d, length %u\n", address_text(&a), ntohs(a.sin_port), (unsigned)len);
    SHOW("getpeername", getpeername(s, (struct sockaddr*)&a, &len));
    char b[8];
    SHOW("recv", recv(s, b, sizeof b, MSG_DONTWAIT));
    SHOW("send", send(s, "x", 1, MSG_NOSIGNAL));
    SHOW("write", write(s, "x", 1));
    SHOW("shutdown(SHUT_WR)", shutdown(s, SHUT_WR));
    printf("poll after shutdown: %s\n", events(poll_now(s)));
    SHOW("shutdown(7)", shutdown(s, 7));
    SHOW("accept (not listening)", accept(s, NULL, NULL));
    printf("TCP_MAXSEG %d\n", get_int(s, IPPROTO_TCP, TCP_MAXSEG));
    struct tcp_info info;
    len = sizeof info;
    SHOW("TCP_INFO", getsockopt(s, IPPROTO_TCP, TCP_INFO, &info, &len));
    printf("  state %d\n", info.tcpi_state);
    close(s);
}

static void bind_errors(void) {
    printf("-- bind\n");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    SHOW("short address", bind(s, (struct sockaddr*)&a, 8));
    a.sin_family = AF_UNIX;
    SHOW("AF_UNIX address", bind(s, (struct sockaddr*)&a, sizeof a));
    SHOW("bad pointer", bind(s, (struct sockaddr*)8, sizeof a));
    a = loopback(0);
    a.sin_addr.s_addr = inet_addr("192.0.2.1");  /* TEST-NET-1: no interface has it */
    SHOW("address not ours", bind(s, (struct sockaddr*)&a, sizeof a));
    a = loopback(0);
    a.sin_family = AF_UNSPEC;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    SHOW("AF_UNSPEC with INADDR_ANY", bind(s, (struct sockaddr*)&a, sizeof a));
    SHOW("again", bind(s, (struct sockaddr*)&a, sizeof a));
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr*)&a, &len);
    printf("port 0 got a port: %s, address %s\n", yes_no(a.sin_port != 0), address_text(&a));
    close(s);

    /* Two sockets on one port. */
    int first = socket(AF_INET, SOCK_STREAM, 0), second = socket(AF_INET, SOCK_STREAM, 0);
    a = loopback(0);
    APP_REQUIRE(bind(first, (struct sockaddr*)&a, sizeof a) == 0);
    len = sizeof a;
    getsockname(first, (struct sockaddr*)&a, &len);
    SHOW("same port", bind(second, (struct sockaddr*)&a, sizeof a));
    int one = 1;
    setsockopt(first, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    SHOW("same port, SO_REUSEADDR on the first only", bind(second, (struct sockaddr*)&a, sizeof a));
    setsockopt(second, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    SHOW("same port, SO_REUSEADDR on both", bind(second, (struct sockaddr*)&a, sizeof a));
    close(second);
    SHOW("listen on the first", listen(first, 1));
    second = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(second, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    SHOW("same port as a listener, SO_REUSEADDR on both", bind(second, (struct sockaddr*)&a, sizeof a));
    close(second);
    close(first);
}

struct echo {
    int listener;
    int ok;
    struct sockaddr_in peer, local;
};

static void* echo_server(void* arg) {
    struct echo* e = arg;
    socklen_t len = sizeof e->peer;
    int c = accept4(e->listener, (struct sockaddr*)&e->peer, &len, SOCK_CLOEXEC);
    if (c < 0) return NULL;
    len = sizeof e->local;
    getsockname(c, (struct sockaddr*)&e->local, &len);
    char b[256];
    ssize_t n;
    while ((n = read(c, b, sizeof b)) > 0) {
        if (write(c, b, (size_t)n) != n) return NULL;
    }
    e->ok = n == 0;
    close(c);
    return NULL;
}

static void echo_and_names(void) {
    printf("-- echo and names\n");
    struct echo e;
    memset(&e, 0, sizeof e);
    struct sockaddr_in a;
    e.listener = listener(&a, 4);
    printf("listener: SO_ACCEPTCONN %d, poll: %s\n", get_int(e.listener, SOL_SOCKET, SO_ACCEPTCONN),
           events(poll_now(e.listener)));
    pthread_t t;
    pthread_create(&t, NULL, echo_server, &e);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect", connect(c, (struct sockaddr*)&a, sizeof a));
    SHOW("connect again", connect(c, (struct sockaddr*)&a, sizeof a));
    SHOW("listen on a connected socket", listen(c, 1));
    SHOW("bind a connected socket", bind(c, (struct sockaddr*)&a, sizeof a));
    SHOW("write", write(c, "hello, world", 12));
    char b[32] = {0};
    SHOW("read", read(c, b, sizeof b));
    printf("  '%s'\n", b);
    struct sockaddr_in mine, theirs;
    socklen_t len = sizeof mine;
    getsockname(c, (struct sockaddr*)&mine, &len);
    len = sizeof theirs;
    SHOW("getpeername", getpeername(c, (struct sockaddr*)&theirs, &len));
    printf("  client %s, peer %s, peer is the listener: %s\n", address_text(&mine), address_text(&theirs),
           yes_no(theirs.sin_port == a.sin_port));
    struct sockaddr_in tiny;
    len = 4;
    SHOW("getsockname into 4 bytes", getsockname(c, (struct sockaddr*)&tiny, &len));
    printf("  length reported %u\n", (unsigned)len);
    struct tcp_info info;
    len = sizeof info;
    getsockopt(c, IPPROTO_TCP, TCP_INFO, &info, &len);
    printf("TCP_INFO: client %d", info.tcpi_state);
    len = sizeof info;
    getsockopt(e.listener, IPPROTO_TCP, TCP_INFO, &info, &len);
    printf(", listener %d\n", info.tcpi_state);
    shutdown(c, SHUT_WR);
    SHOW("read at the end", read(c, b, sizeof b));
    pthread_join(t, NULL);
    printf("server: ok %s, its peer is the client: %s, its address is the listener's: %s\n", yes_no(e.ok),
           yes_no(e.peer.sin_port == mine.sin_port && e.peer.sin_addr.s_addr == mine.sin_addr.s_addr),
           yes_no(e.local.sin_port == a.sin_port && e.local.sin_addr.s_addr == a.sin_addr.s_addr));
    close(c);

    /* accept4's flags. */
    int l = listener(&a, 4);
    c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr*)&a, sizeof a);
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4(SOCK_NONBLOCK | SOCK_CLOEXEC): O_NONBLOCK %s, FD_CLOEXEC %s\n",
           yes_no(fcntl(s, F_GETFL) & O_NONBLOCK), yes_no(fcntl(s, F_GETFD) & FD_CLOEXEC));
    SHOW("accept4 with a bad flag", syscall(SYS_accept4, l, NULL, NULL, 0x1234));
    SHOW("accept, nothing pending, non-blocking listener", (fcntl(l, F_SETFL, O_NONBLOCK), accept(l, NULL, NULL)));
    close(s);
    close(c);
    close(l);
}

static void flags(void) {
    printf("-- MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, MSG_TRUNC\n");
    int c, s;
    connected_pair(&c, &s);
    char b[32];
    SHOW("MSG_DONTWAIT on nothing", recv(c, b, sizeof b, MSG_DONTWAIT));
    SHOW("write", write(s, "abcdefgh", 8));
    int n = 0;
    for (int i = 0; i < 3000 && n < 8; ++i) {
        wait_for(c, POLLIN);
        ioctl(c, FIONREAD, &n);
        if (n < 8) usleep(1000);
    }
    printf("FIONREAD %d, poll: %s\n", n, events(poll_now(c)));
    memset(b, 0, sizeof b);
    SHOW("MSG_PEEK 3", recv(c, b, 3, MSG_PEEK));
    printf("  '%s'\n", b);
    ioctl(c, SIOCINQ, &n);
    printf("SIOCINQ after the peek %d\n", n);
    SHOW("MSG_TRUNC 2 (dropped)", recv(c, b, 2, MSG_TRUNC));
    memset(b, 0, sizeof b);
    SHOW("recv", recv(c, b, sizeof b, 0));
    printf("  '%s'\n", b);
    /* MSG_WAITALL waits for the second write. */
    write(s, "123", 3);
    memset(b, 0, sizeof b);
    struct pollfd p = {c, POLLIN, 0};
    poll(&p, 1, 30000);
    write(s, "4567", 4);
    SHOW("MSG_WAITALL 7", recv(c, b, 7, MSG_WAITALL));
    printf("  '%s'\n", b);
    /* MSG_WAITALL ends early at the end of the stream. */
    write(s, "xy", 2);
    shutdown(s, SHUT_WR);
    SHOW("MSG_WAITALL 10 with 2 and FIN", recv(c, b, 10, MSG_WAITALL));
    /* Many small writes arrive whole. */
    close(c);
    close(s);
    connected_pair(&c, &s);
    int nodelay = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    for (int i = 0; i < 100; ++i) write(s, "0123456789", 10);
    static char many[1000];
    SHOW("100 writes of 10, one MSG_WAITALL read", recv(c, many, sizeof many, MSG_WAITALL));
    int same = 1;
    for (int i = 0; i < 1000; ++i) same &= many[i] == '0' + i % 10;
    printf("  in order: %s\n", yes_no(same));
    int queued = -1;
    for (int i = 0; i < 3000 && queued != 0; ++i) {
        ioctl(s, SIOCOUTQ, &queued);
        if (queued) usleep(1000);
    }
    printf("SIOCOUTQ drains to 0: %s\n", yes_no(queued == 0));
    close(c);
    close(s);
    /* MSG_MORE and TCP_CORK hold data back a while; it all arrives, in order. */
    connected_pair(&c, &s);
    SHOW("send with MSG_MORE", send(s, "ab", 2, MSG_MORE));
    SHOW("send", send(s, "cd", 2, 0));
    memset(b, 0, sizeof b);
    SHOW("MSG_WAITALL 4", recv(c, b, 4, MSG_WAITALL));
    printf("  '%s'\n", b);
    int on = 1, off = 0;
    SHOW("TCP_CORK on", setsockopt(s, IPPROTO_TCP, TCP_CORK, &on, sizeof on));
    write(s, "ef", 2);
    write(s, "gh", 2);
    SHOW("TCP_CORK off", setsockopt(s, IPPROTO_TCP, TCP_CORK, &off, sizeof off));
    memset(b, 0, sizeof b);
    SHOW("MSG_WAITALL 4", recv(c, b, 4, MSG_WAITALL));
    printf("  '%s'\n", b);
    SHOW("TCP_CORK on, and left on", setsockopt(s, IPPROTO_TCP, TCP_CORK, &on, sizeof on));
    write(s, "ij", 2);
    memset(b, 0, sizeof b);
    SHOW("MSG_WAITALL 2 (corked data goes out after a while)", recv(c, b, 2, MSG_WAITALL));
    printf("  '%s'\n", b);
    close(c);
    close(s);
}

static void half_close(void) {
    printf("-- half-close\n");
    int c, s;
    connected_pair(&c, &s);
    printf("connected: client %s, server %s\n", events(poll_now(c)), events(poll_now(s)));
    SHOW("client shutdown(SHUT_WR)", shutdown(c, SHUT_WR));
    printf("client: %s\n", events(poll_now(c)));
    printf("server sees the FIN: %s\n", events(wait_for(s, POLLRDHUP)));
    char b[16] = {0};
    SHOW("server read", read(s, b, sizeof b));
    SHOW("server write", write(s, "back", 4));
    SHOW("client write", write(c, "x", 1));
    printf("client: %s\n", events(wait_for(c, POLLIN)));
    SHOW("client read", read(c, b, sizeof b));
    SHOW("server close", close(s));
    printf("client after the server's FIN: %s\n", events(wait_for(c, POLLRDHUP)));
    SHOW("client read", read(c, b, sizeof b));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    SHOW("client getpeername", getpeername(c, (struct sockaddr*)&a, &len));
    SHOW("client shutdown", shutdown(c, SHUT_RD));
    close(c);

    /* SHUT_RD: the end of the stream at once, data sent afterwards still arrives. */
    connected_pair(&c, &s);
    SHOW("shutdown(SHUT_RD)", shutdown(c, SHUT_RD));
    printf("poll: %s\n", events(poll_now(c)));
    SHOW("read", read(c, b, sizeof b));
    write(s, "late", 4);
    int n = 0;
    for (int i = 0; i < 3000 && n < 4; ++i) {
        ioctl(c, FIONREAD, &n);
        if (n < 4) usleep(1000);
    }
    SHOW("read what came later", recv(c, b, sizeof b, MSG_DONTWAIT));
    SHOW("write still works", write(c, "ok", 2));
    close(c);
    close(s);
}

static void refused(void) {
    printf("-- refused\n");
    struct sockaddr_in a;
    close(listener(&a, 1));  /* a port nobody listens on now */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect", connect(c, (struct sockaddr*)&a, sizeof a));
    short e = poll_now(c);
    printf("poll: %s, SO_ERROR %d\n", events(e), get_int(c, SOL_SOCKET, SO_ERROR));
    SHOW("connect again", connect(c, (struct sockaddr*)&a, sizeof a));
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    SHOW("non-blocking connect", connect(c, (struct sockaddr*)&a, sizeof a));
    printf("poll: %s\n", events(wait_for(c, POLLOUT)));
    SHOW("connect again", connect(c, (struct sockaddr*)&a, sizeof a));
    printf("poll: %s\n", events(poll_now(c)));
    SHOW("and again (a new attempt)", connect(c, (struct sockaddr*)&a, sizeof a));
    e = wait_for(c, POLLOUT);
    int first = get_int(c, SOL_SOCKET, SO_ERROR);
    printf("poll: %s, SO_ERROR %s, then %d\n", events(e), errno_name(first), get_int(c, SOL_SOCKET, SO_ERROR));
    close(c);
    /* Non-blocking connect that works: writable, then connect says 0, then EISCONN. */
    int l = listener(&a, 1);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    SHOW("non-blocking connect", connect(c, (struct sockaddr*)&a, sizeof a));
    printf("poll: %s\n", events(wait_for(c, POLLOUT)));
    SHOW("connect again", connect(c, (struct sockaddr*)&a, sizeof a));
    SHOW("and again", connect(c, (struct sockaddr*)&a, sizeof a));
    SHOW("connect to 0.0.0.0 (this host)", ({
             int d = socket(AF_INET, SOCK_STREAM, 0);
             struct sockaddr_in any = a;
             any.sin_addr.s_addr = htonl(INADDR_ANY);
             long r = connect(d, (struct sockaddr*)&any, sizeof any);
             close(d);
             r;
         }));
    close(c);
    close(l);
}

static void resets(void) {
    printf("-- resets\n");
    char b[64];
    int c, s;
    /* Closing with unread data resets the connection. */
    connected_pair(&c, &s);
    write(c, "unread", 6);
    int n = 0;
    for (int i = 0; i < 3000 && n < 6; ++i) {
        ioctl(s, FIONREAD, &n);
        if (n < 6) usleep(1000);
    }
    close(s);
    printf("client: %s\n", events(wait_for(c, POLLERR)));
    SHOW("read", read(c, b, sizeof b));
    SHOW("read", read(c, b, sizeof b));
    SHOW("write", write(c, "x", 1));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    SHOW("getpeername", getpeername(c, (struct sockaddr*)&a, &len));
    SHOW("shutdown", shutdown(c, SHUT_RDWR));
    close(c);
    /* SO_LINGER {1, 0}: what was sent arrives, then the reset. */
    connected_pair(&c, &s);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    write(s, "hello", 5);
    close(s);
    printf("client: %s\n", events(wait_for(c, POLLERR)));
    SHOW("read", read(c, b, sizeof b));
    SHOW("read", read(c, b, sizeof b));
    SHOW("read", read(c, b, sizeof b));
    close(c);
}

struct writer {
    int fd;
    long written;
    int error;
};

static void* keep_writing(void* arg) {
    struct writer* w = arg;
    static char chunk[65536];
    for (;;) {
        ssize_t n = send(w->fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (n < 0) {
            w->error = errno;
            return NULL;
        }
        w->written += n;
    }
}

static void vanishing_peer(void) {
    printf("-- a peer that resets in the middle of a transfer\n");
    int c, s;
    connected_pair(&c, &s);
    struct writer w = {c, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, keep_writing, &w);
    static char b[100000];
    long got = 0;
    while (got < 300000) {
        ssize_t n = read(s, b, sizeof b);
        if (n <= 0) break;
        got += n;
    }
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
    pthread_join(t, NULL);
    printf("the server read 300000 bytes: %s; the writer stopped with %s\n", yes_no(got >= 300000),
           errno_name(w.error));
    SHOW("write", send(c, "x", 1, MSG_NOSIGNAL));
    close(c);
}

static uint32_t pattern(uint32_t i, uint32_t seed) {
    uint32_t x = i * 2654435761u + seed;
    return (x >> 24) ^ (x >> 11) ^ (i / 4093);
}

static uint64_t fnv(uint64_t h, const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

#define BIG (4u << 20)

struct stream {
    int fd;
    uint32_t seed;
    uint64_t hash;
    long bytes;
};

static void* send_stream(void* arg) {
    struct stream* st = arg;
    static __thread unsigned char chunk[50000];
    uint64_t h = 1469598103934665603ull;
    for (uint32_t sent = 0; sent < BIG;) {
        uint32_t n = BIG - sent < sizeof chunk ? BIG - sent : (uint32_t)sizeof chunk;
        for (uint32_t i = 0; i < n; ++i) chunk[i] = (unsigned char)pattern(sent + i, st->seed);
        h = fnv(h, chunk, n);
        if (write(st->fd, chunk, n) != (ssize_t)n) return NULL;
        sent += n;
        st->bytes = sent;
    }
    st->hash = h;
    shutdown(st->fd, SHUT_WR);
    return NULL;
}

static void* receive_stream(void* arg) {
    struct stream* st = arg;
    static __thread unsigned char chunk[70000];
    uint64_t h = 1469598103934665603ull;
    ssize_t n;
    while ((n = read(st->fd, chunk, sizeof chunk)) > 0) {
        h = fnv(h, chunk, (size_t)n);
        st->bytes += n;
    }
    st->hash = h;
    return NULL;
}

static void large_transfer(void) {
    printf("-- 4 MiB each way at once\n");
    int c, s;
    connected_pair(&c, &s);
    struct stream out_c = {c, 1, 0, 0}, in_s = {s, 0, 0, 0}, out_s = {s, 2, 0, 0}, in_c = {c, 0, 0, 0};
    pthread_t t[4];
    pthread_create(&t[0], NULL, send_stream, &out_c);
    pthread_create(&t[1], NULL, receive_stream, &in_s);
    pthread_create(&t[2], NULL, send_stream, &out_s);
    pthread_create(&t[3], NULL, receive_stream, &in_c);
    for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
    printf("client -> server: %ld bytes, hash matches %s\n", in_s.bytes, yes_no(in_s.hash == out_c.hash));
    printf("server -> client: %ld bytes, hash matches %s\n", in_c.bytes, yes_no(in_c.hash == out_s.hash));
    close(c);
    close(s);
}

static void options(void) {
    printf("-- options\n");
    int c, s;
    connected_pair(&c, &s);
    int v;
#define ROUND_TRIP(level, name, value)                                                   \
    do {                                                                                 \
        v = (value);                                                                     \
        errno = 0;                                                                       \
        long r_ = setsockopt(c, level, name, &v, sizeof v);                              \
        printf("%s = %d: %s, reads %d\n", #name, (value), err(r_), get_int(c, level, name)); \
    } while (0)
    printf("defaults: SO_REUSEADDR %d, SO_KEEPALIVE %d, TCP_NODELAY %d, TCP_CORK %d, IP_TTL %d, IP_TOS %d\n",
           get_int(c, SOL_SOCKET, SO_REUSEADDR), get_int(c, SOL_SOCKET, SO_KEEPALIVE),
           get_int(c, IPPROTO_TCP, TCP_NODELAY), get_int(c, IPPROTO_TCP, TCP_CORK), get_int(c, IPPROTO_IP, IP_TTL),
           get_int(c, IPPROTO_IP, IP_TOS));
    ROUND_TRIP(SOL_SOCKET, SO_REUSEADDR, 1);
    ROUND_TRIP(SOL_SOCKET, SO_REUSEPORT, 1);
    ROUND_TRIP(SOL_SOCKET, SO_KEEPALIVE, 1);
    ROUND_TRIP(IPPROTO_TCP, TCP_NODELAY, 1);
    ROUND_TRIP(IPPROTO_TCP, TCP_KEEPIDLE, 30);
    ROUND_TRIP(IPPROTO_TCP, TCP_KEEPINTVL, 5);
    ROUND_TRIP(IPPROTO_TCP, TCP_KEEPCNT, 3);
    ROUND_TRIP(IPPROTO_TCP, TCP_KEEPIDLE, 0);
    ROUND_TRIP(IPPROTO_TCP, TCP_KEEPCNT, 128);
    ROUND_TRIP(IPPROTO_TCP, TCP_CORK, 1);
    ROUND_TRIP(IPPROTO_TCP, TCP_CORK, 0);
    ROUND_TRIP(SOL_SOCKET, SO_RCVBUF, 65536);
    ROUND_TRIP(SOL_SOCKET, SO_SNDBUF, 65536);
    ROUND_TRIP(IPPROTO_IP, IP_TTL, 32);
    ROUND_TRIP(IPPROTO_IP, IP_TTL, 0);
    ROUND_TRIP(IPPROTO_IP, IP_TTL, -1);
    ROUND_TRIP(IPPROTO_IP, IP_TOS, 0x10);
    ROUND_TRIP(IPPROTO_IP, IP_TOS, 0xff);  /* TCP keeps the ECN bits */
    struct linger lg = {1, 7};
    SHOW("SO_LINGER {1, 7}", setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    memset(&lg, 0, sizeof lg);
    socklen_t len = sizeof lg;
    getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &len);
    printf("  reads {%d, %d}\n", lg.l_onoff, lg.l_linger);
    v = 1;
    SHOW("unknown level (set)", setsockopt(c, 99, 1, &v, sizeof v));
    len = sizeof v;
    SHOW("unknown level (get)", getsockopt(c, 99, 1, &v, &len));
    SHOW("UDP level on TCP (get)", getsockopt(c, IPPROTO_UDP, 1, &v, &len));
    SHOW("unknown TCP option", setsockopt(c, IPPROTO_TCP, 99, &v, sizeof v));
    SHOW("unknown socket option", setsockopt(c, SOL_SOCKET, 999, &v, sizeof v));
    SHOW("short value", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, 2));
    SHOW("bad value pointer", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, (void*)8, sizeof v));
    SHOW("bad length pointer", getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, (socklen_t*)8));
    close(c);
    close(s);
}

static void bad_addresses(void) {
    printf("-- bad addresses\n");
    int c, s;
    connected_pair(&c, &s);
    SHOW("send from a bad buffer", send(c, (void*)8, 10, MSG_NOSIGNAL));
    write(c, "ok", 2);
    wait_for(s, POLLIN);
    SHOW("recv into a bad buffer", recv(s, (void*)8, 10, 0));
    char b[8] = {0};
    SHOW("the data is still there", recv(s, b, sizeof b, 0));
    SHOW("sendto with an address (ignored)", ({
             struct sockaddr_in a = loopback(9);
             sendto(c, "ab", 2, MSG_NOSIGNAL, (struct sockaddr*)&a, sizeof a);
         }));
    struct sockaddr_in a;
    SHOW("getsockname, bad length pointer", getsockname(c, (struct sockaddr*)&a, (socklen_t*)8));
    socklen_t len = sizeof a;
    SHOW("getsockname, bad address pointer", getsockname(c, (struct sockaddr*)8, &len));
    int d = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect, bad address pointer", connect(d, (struct sockaddr*)8, sizeof a));
    a = loopback(1);
    SHOW("connect, short address", connect(d, (struct sockaddr*)&a, 8));
    a.sin_family = AF_UNIX;
    SHOW("connect, AF_UNIX address", connect(d, (struct sockaddr*)&a, sizeof a));
    a = loopback(0);
    a.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    SHOW("connect to 255.255.255.255", connect(d, (struct sockaddr*)&a, sizeof a));
    a.sin_addr.s_addr = inet_addr("224.0.0.1");
    SHOW("connect to a multicast address", connect(d, (struct sockaddr*)&a, sizeof a));
    close(d);
    close(c);
    close(s);
}

int main(void) {
    app_test_init();
    signal(SIGPIPE, SIG_IGN);  /* Linux would also send SIGPIPE with EPIPE; Mica has none yet */
    fresh_socket();
    bind_errors();
    echo_and_names();
    flags();
    half_close();
    refused();
    resets();
    vanishing_peer();
    large_transfer();
    options();
    bad_addresses();
    printf("done\n");
    return 0;
}
