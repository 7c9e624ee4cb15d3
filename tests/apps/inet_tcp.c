/* AF_INET stream sockets over loopback, with server and client threads: names, accept4's
 * flags, MSG_PEEK/MSG_WAITALL/MSG_DONTWAIT/MSG_TRUNC/MSG_MORE and TCP_CORK, half-close with
 * every readiness change, refused connections (blocking and not), a reset by SO_LINGER
 * {1, 0}, unread data at close, a peer that resets in the middle of a transfer, and 4 MiB
 * each way checked with a hash. (The calls' answers are in inet_tcp_calls.c.)
 * Ports are always the kernel's choice (port 0), so runs on a busy host never collide; the
 * output never shows a port number. Threads, not fork (Mica's fork freezes the parent). */
#define _GNU_SOURCE
#include "inet_test.h"
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>

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

static void sendfile_to_socket(void) {
    printf("-- sendfile from a file to a connection\n");
    const char* dir = getenv("TMPDIR");
    char path[256];
    snprintf(path, sizeof path, "%s/inet_tcp_sendfile", dir ? dir : "/tmp");
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    APP_REQUIRE(f >= 0);
    static unsigned char data[300000], back[300000];
    for (size_t i = 0; i < sizeof data; ++i) data[i] = (unsigned char)pattern((uint32_t)i, 5);
    APP_REQUIRE(write(f, data, sizeof data) == (ssize_t)sizeof data);
    int c, s;
    connected_pair(&c, &s);
    off_t offset = 1000;
    SHOW("sendfile of 200000 bytes from offset 1000", sendfile(s, f, &offset, 200000));
    printf("  offset now %ld\n", (long)offset);
    SHOW("read them", recv(c, back, 200000, MSG_WAITALL));
    printf("  the file's bytes: %s\n", yes_no(memcmp(back, data + 1000, 200000) == 0));
    close(c);
    close(s);
    close(f);
    unlink(path);
}

int main(void) {
    app_test_init();
    signal(SIGPIPE, SIG_IGN);  /* Linux would also send SIGPIPE with EPIPE; Mica has none yet */
    echo_and_names();
    flags();
    half_close();
    refused();
    resets();
    vanishing_peer();
    large_transfer();
    sendfile_to_socket();
    printf("done\n");
    return 0;
}
