/* AF_UNIX stream and seqpacket sockets: socketpair, a server and clients in threads over a
 * filesystem name and an abstract name, half-close, EOF, EPIPE, a full backlog (EAGAIN for a
 * non-blocking connect, a blocking one waiting for accept), SCM_RIGHTS, SO_PEERCRED, the
 * generic options, MSG_PEEK/MSG_WAITALL/MSG_DONTWAIT, SO_RCVTIMEO, and the errors Linux gives.
 * Threads, not fork: Mica's fork freezes the parent until its child exits. */
#define _GNU_SOURCE
#include "app_test.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
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

/* Prints `label: result` with the call made first (printf's arguments have no order). */
#define SHOW(label, call)                          \
    do {                                           \
        long show_result_ = (long)(call);          \
        printf("%s: %s\n", label, err(show_result_)); \
    } while (0)

static socklen_t path_address(struct sockaddr_un* a, const char* path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

/* Abstract names are shared by every process of the host's network namespace: the pid
 * keeps concurrent reference runs apart (and is not printed). */
static socklen_t abstract_address(struct sockaddr_un* a, const char* name) {
    char unique[64];
    snprintf(unique, sizeof unique, "%s-%d", name, (int)getpid());
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, unique, strlen(unique));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(unique));
}

static unsigned char byte_at(size_t i) { return (unsigned char)(i * 7 + (i >> 9)); }

#define BIG (1000 * 1000)

struct transfer {
    int fd;
    size_t sent;
};

static void* big_writer(void* arg) {
    struct transfer* t = arg;
    static unsigned char chunk[10007];
    while (t->sent < BIG) {
        size_t n = sizeof chunk;
        if (n > BIG - t->sent) n = BIG - t->sent;
        for (size_t i = 0; i < n; ++i) chunk[i] = byte_at(t->sent + i);
        ssize_t w = write(t->fd, chunk, n);  /* blocking: all of it */
        if (w != (ssize_t)n) return (void*)1;
        t->sent += n;
    }
    shutdown(t->fd, SHUT_WR);
    return NULL;
}

static void socketpair_basics(void) {
    printf("-- socketpair\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct stat st;
    fstat(sv[0], &st);
    printf("fstat: socket %s, mode %o\n", yes_no(S_ISSOCK(st.st_mode)), st.st_mode & 0777);
    SHOW("write", write(sv[0], "hello", 5));
    int available = -1;
    ioctl(sv[1], FIONREAD, &available);
    printf("FIONREAD: %d\n", available);
    char buf[64] = {0};
    long r = recv(sv[1], buf, 3, MSG_PEEK);
    printf("peek: %s '%.3s'\n", err(r), buf);
    memset(buf, 0, sizeof buf);
    r = read(sv[1], buf, sizeof buf);
    printf("read: %s '%s'\n", err(r), buf);
    SHOW("dontwait on empty", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    /* Stream: two writes may come back as one read. */
    write(sv[1], "ab", 2);
    write(sv[1], "cd", 2);
    memset(buf, 0, sizeof buf);
    r = recv(sv[0], buf, 4, MSG_WAITALL);
    printf("two writes, waitall read of 4: %s '%s'\n", err(r), buf);
    /* Half-close: the reader sees EOF, the writer EPIPE. */
    SHOW("shutdown(SHUT_WR)", shutdown(sv[0], SHUT_WR));
    SHOW("read at EOF", read(sv[1], buf, sizeof buf));
    SHOW("write after SHUT_WR", write(sv[0], "x", 1));
    SHOW("the other way still works", write(sv[1], "back", 4));
    memset(buf, 0, sizeof buf);
    r = read(sv[0], buf, sizeof buf);
    printf("and reads back %s '%s'\n", err(r), buf);
    struct pollfd p = {sv[1], POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    printf("poll after peer SHUT_WR: in %s, rdhup %s, hup %s\n", yes_no(p.revents & POLLIN),
           yes_no(p.revents & POLLRDHUP), yes_no(p.revents & POLLHUP));
    close(sv[0]);
    p.revents = 0;
    poll(&p, 1, 0);
    printf("poll after peer close: hup %s\n", yes_no(p.revents & POLLHUP));
    SHOW("write to a closed peer", write(sv[1], "x", 1));
    SHOW("read from a closed peer", read(sv[1], buf, sizeof buf));
    close(sv[1]);

    /* Lots of data through a pair, from a thread, checked byte by byte. */
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct transfer t = {sv[0], 0};
    pthread_t writer;
    APP_REQUIRE(pthread_create(&writer, NULL, big_writer, &t) == 0);
    static unsigned char in[65536];
    size_t got = 0, bad = 0;
    for (;;) {
        ssize_t n = read(sv[1], in, (got % 3 + 1) * 7000);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i) bad += in[i] != byte_at(got + (size_t)i);
        got += (size_t)n;
    }
    void* status;
    pthread_join(writer, &status);
    printf("big transfer: %zu bytes, %zu wrong, writer status %ld\n", got, bad, (long)status);
    close(sv[0]);
    close(sv[1]);
}

static void sendfile_to_a_socket(void) {
    printf("-- sendfile to a socket\n");
    int f = open("sendfile.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    static char text[100000];
    for (size_t i = 0; i < sizeof text; ++i) text[i] = (char)('a' + i % 26);
    write(f, text, sizeof text);
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    off_t offset = 10;
    long n = sendfile(sv[0], f, &offset, 50000);
    printf("sendfile: %s, offset now %ld\n", err(n), (long)offset);
    static char got[60000];
    size_t total = 0;
    while (total < 50000) {
        long r = read(sv[1], got + total, sizeof got - total);
        if (r <= 0) break;
        total += (size_t)r;
    }
    printf("received %zu bytes, same as the file: %s\n", total, yes_no(total == 50000 && memcmp(got, text + 10, 50000) == 0));
    close(sv[0]);
    close(sv[1]);
    close(f);
    unlink("sendfile.txt");
}

static void options(void) {
    printf("-- options\n");
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    APP_REQUIRE(s >= 0);
    long r;
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len);
    printf("SO_TYPE %d (len %u)", v, (unsigned)len);
    getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &len);
    printf(", SO_DOMAIN %d", v);
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len);
    printf(", SO_PROTOCOL %d", v);
    getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
    printf(", SO_ACCEPTCONN %d", v);
    getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &len);
    printf(", SO_ERROR %d\n", v);
    printf("FD_CLOEXEC from SOCK_CLOEXEC: %s\n", yes_no(fcntl(s, F_GETFD) & FD_CLOEXEC));
    v = 1;
    SHOW("SO_REUSEADDR on", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
    v = 0;
    getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &len);
    printf("SO_REUSEADDR reads %d\n", v);
    v = 1;
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
    getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
    printf("SO_KEEPALIVE %d\n", v);
    v = 4096;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("SO_SNDBUF set 4096 reads %d\n", v);
    v = 1000;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &len);
    printf("SO_RCVBUF set 1000 reads %d\n", v);
    struct linger l = {1, 5};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    memset(&l, 0, sizeof l);
    len = sizeof l;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &len);
    printf("SO_LINGER %d %d\n", l.l_onoff, l.l_linger);
    struct timeval tv = {2, 500000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&tv, 0, sizeof tv);
    len = sizeof tv;
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    printf("SO_RCVTIMEO %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    tv.tv_usec = 1000000;
    SHOW("SO_RCVTIMEO with 1000000 us", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    SHOW("short option", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2));
    SHOW("unknown option", setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v));
    SHOW("SO_TYPE is read-only", setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v));
    SHOW("bad level on AF_UNIX", setsockopt(s, 6 /* IPPROTO_TCP */, 1, &v, sizeof v));
    struct pollfd p = {s, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("fresh socket polls: out %s, hup %s, in %s\n", yes_no(p.revents & POLLOUT), yes_no(p.revents & POLLHUP),
           yes_no(p.revents & POLLIN));
    char c;
    SHOW("read unconnected", read(s, &c, 1));
    SHOW("write unconnected", write(s, "x", 1));
    SHOW("listen unbound", listen(s, 1));
    SHOW("accept not listening", accept(s, NULL, NULL));
    struct sockaddr_un a;
    len = sizeof a;
    SHOW("getpeername unconnected", getpeername(s, (struct sockaddr*)&a, &len));
    len = sizeof a;
    r = getsockname(s, (struct sockaddr*)&a, &len);
    printf("getsockname unbound: %s, length %u\n", err(r), (unsigned)len);
    SHOW("shutdown(99)", shutdown(s, 99));
    close(s);
    SHOW("socket(AF_UNIX, 99)", socket(AF_UNIX, 9, 0));
    SHOW("socket(AF_UNIX, STREAM, 7)", socket(AF_UNIX, SOCK_STREAM, 7));
    SHOW("socket(12345)", socket(12345, SOCK_STREAM, 0));
    SHOW("socket flags 0x1000000", socket(AF_UNIX, SOCK_STREAM | 0x1000000, 0));
    printf("read on a pipe's FIONBIO'd socket... getsockopt on a pipe: ");
    int pfd[2];
    pipe(pfd);
    len = sizeof v;
    printf("%s\n", err(getsockopt(pfd[0], SOL_SOCKET, SO_TYPE, &v, &len)));
    close(pfd[0]);
    close(pfd[1]);
}

struct server {
    int listener;
    int accepted;
    socklen_t peer_length;
    char received[64];
};

static void* serve_one(void* arg) {
    struct server* s = arg;
    struct sockaddr_un peer;
    socklen_t len = sizeof peer;
    int c = accept(s->listener, (struct sockaddr*)&peer, &len);
    if (c < 0) return (void*)1;
    s->accepted = 1;
    s->peer_length = len;
    ssize_t n = read(c, s->received, sizeof s->received - 1);
    if (n > 0) write(c, s->received, (size_t)n);  /* echo */
    close(c);
    return NULL;
}

static void named_server(void) {
    printf("-- a server on mica.sock in TMPDIR\n");
    const char* path = "mica.sock";
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t alen = path_address(&a, path);
    SHOW("bind", bind(l, (struct sockaddr*)&a, alen));
    struct stat st;
    long r = stat(path, &st);
    printf("stat: %s, socket %s, permissions %o\n", err(r), yes_no(S_ISSOCK(st.st_mode)), st.st_mode & 0777);
    SHOW("open the socket file", open(path, O_RDONLY));
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("bind the same path again", bind(other, (struct sockaddr*)&a, alen));
    struct sockaddr_un a2;
    socklen_t a2len = path_address(&a2, "mica-second.sock");
    SHOW("bind twice", bind(l, (struct sockaddr*)&a2, a2len));
    SHOW("bind twice leaves no name", access("mica-second.sock", F_OK));
    SHOW("bind twice to a name in use", bind(l, (struct sockaddr*)&a, alen));
    SHOW("connect before listen", connect(other, (struct sockaddr*)&a, alen));
    SHOW("listen", listen(l, 4));
    int v = 0;
    socklen_t len = sizeof v;
    getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
    printf("SO_ACCEPTCONN: %d\n", v);
    struct server srv = {l, 0, 0, {0}};
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, serve_one, &srv) == 0);
    SHOW("connect", connect(other, (struct sockaddr*)&a, alen));
    SHOW("connect again", connect(other, (struct sockaddr*)&a, alen));
    struct sockaddr_un name;
    len = sizeof name;
    getpeername(other, (struct sockaddr*)&name, &len);
    printf("getpeername: length %u, '%s'\n", (unsigned)len, name.sun_path);
    len = sizeof name;
    getsockname(other, (struct sockaddr*)&name, &len);
    printf("getsockname of the client: length %u\n", (unsigned)len);
    struct ucred cred;
    len = sizeof cred;
    getsockopt(other, SOL_SOCKET, SO_PEERCRED, &cred, &len);
    printf("SO_PEERCRED: pid is ours %s, uid %u, gid %u, len %u\n", yes_no(cred.pid == getpid()), cred.uid, cred.gid,
           (unsigned)len);
    write(other, "echo me", 7);
    char buf[64] = {0};
    r = read(other, buf, sizeof buf);
    printf("echo: %s '%s'\n", err(r), buf);
    SHOW("then EOF", read(other, buf, sizeof buf));
    pthread_join(t, NULL);
    printf("server got '%s', the client's address length %u\n", srv.received, (unsigned)srv.peer_length);
    close(other);
    SHOW("unlink", unlink(path));
    other = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect after unlink", connect(other, (struct sockaddr*)&a, alen));
    close(other);
    close(l);
    /* A name whose socket is gone: the node stays, nobody answers. */
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr*)&a, alen);
    close(l);
    other = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect to a stale name", connect(other, (struct sockaddr*)&a, alen));
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    unlink(path);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr*)&a, alen);
    listen(l, 1);
    SHOW("connect a datagram socket to a stream listener", connect(dg, (struct sockaddr*)&a, alen));
    close(dg);
    close(l);
    close(other);
    unlink(path);
    int f = open("not-a-socket", O_CREAT | O_WRONLY, 0644);
    close(f);
    other = socket(AF_UNIX, SOCK_STREAM, 0);
    alen = path_address(&a, "not-a-socket");
    SHOW("connect to a regular file", connect(other, (struct sockaddr*)&a, alen));
    alen = path_address(&a, "missing.sock");
    SHOW("connect to nothing", connect(other, (struct sockaddr*)&a, alen));
    a.sun_family = AF_INET;
    SHOW("connect with the wrong family", connect(other, (struct sockaddr*)&a, alen));
    SHOW("bind with length 200", bind(other, (struct sockaddr*)&a, 200));
    close(other);
    unlink("not-a-socket");
}

struct backlog_test {
    int listener;
    int done;
    char first[16];
};

static void* accept_later(void* arg) {
    struct backlog_test* b = arg;
    /* Accept one connection (the oldest: it wrote "early"), making room for the blocked
     * connect. */
    int c = accept(b->listener, NULL, NULL);
    b->done = c >= 0;
    if (c >= 0) {
        read(c, b->first, sizeof b->first - 1);
        close(c);
    }
    return NULL;
}

static void backlog(void) {
    printf("-- backlog\n");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t alen = abstract_address(&a, "mica-backlog");
    SHOW("bind abstract", bind(l, (struct sockaddr*)&a, alen));
    struct sockaddr_un name;
    socklen_t len = sizeof name;
    getsockname(l, (struct sockaddr*)&name, &len);
    printf("getsockname: same length %s, first byte %d, '%.12s'\n", yes_no(len == alen), name.sun_path[0],
           name.sun_path + 1);
    int twin = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("bind the same abstract name", bind(twin, (struct sockaddr*)&a, alen));
    close(twin);
    listen(l, 1);
    int clients[4];
    for (int i = 0; i < 3; ++i) {
        clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        printf("non-blocking connect %d: %s\n", i, err(connect(clients[i], (struct sockaddr*)&a, alen)));
    }
    /* Connected clients can write before they are accepted. */
    SHOW("write before accept", write(clients[0], "early", 5));
    struct pollfd p = {l, POLLIN, 0};
    SHOW("listener readable", poll(&p, 1, 0));
    struct backlog_test b = {l, 0, {0}};
    pthread_t t;
    clients[3] = socket(AF_UNIX, SOCK_STREAM, 0);
    APP_REQUIRE(pthread_create(&t, NULL, accept_later, &b) == 0);
    SHOW("blocking connect waits for room", connect(clients[3], (struct sockaddr*)&a, alen));
    pthread_join(t, NULL);
    printf("accepted by the thread: %s, it read '%s'\n", yes_no(b.done), b.first);
    fcntl(l, F_SETFL, O_NONBLOCK);
    int c, n = 0;
    while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        ++n;
        close(c);
    }
    printf("accepted %d more, then %s\n", n, errno_name(errno));
    for (int i = 0; i < 4; ++i) close(clients[i]);
    close(l);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOW("connect to a closed abstract name", connect(s, (struct sockaddr*)&a, alen));
    struct sockaddr_un autob = {AF_UNIX, {0}};
    SHOW("autobind", bind(s, (struct sockaddr*)&autob, sizeof(sa_family_t)));
    len = sizeof name;
    getsockname(s, (struct sockaddr*)&name, &len);
    printf("autobound name length %u, abstract %s\n", (unsigned)len, yes_no(name.sun_path[0] == 0));
    close(s);
}

static void* blocked_accept(void* arg) {
    int* fd = arg;
    long r = accept(*fd, NULL, NULL);
    *fd = r < 0 ? -errno : (int)r;
    return NULL;
}

static void accept_and_shutdown(void) {
    printf("-- shutdown wakes a blocked accept\n");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t alen = abstract_address(&a, "mica-shutdown");
    bind(l, (struct sockaddr*)&a, alen);
    listen(l, 1);
    int arg = l;
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, blocked_accept, &arg) == 0);
    usleep(20000);
    SHOW("shutdown(SHUT_RD) of the listener", shutdown(l, SHUT_RD));
    pthread_join(t, NULL);
    printf("the blocked accept returned %s\n", arg < 0 ? errno_name(-arg) : "a connection");
    close(l);
}

static void rights(void) {
    printf("-- SCM_RIGHTS\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int pipefd[2];
    pipe(pipefd);
    write(pipefd[1], "through a passed pipe", 21);
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec io = {"F", 1};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(2 * sizeof(int));
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(cm), pipefd, 2 * sizeof(int));
    SHOW("sendmsg with two descriptors", sendmsg(sv[0], &m, 0));
    close(pipefd[0]);
    close(pipefd[1]);
    write(sv[0], "after", 5);
    char data[16] = {0};
    char rbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec rio = {data, sizeof data};
    struct msghdr r = {0};
    r.msg_iov = &rio;
    r.msg_iovlen = 1;
    r.msg_control = rbuf;
    r.msg_controllen = sizeof rbuf;
    ssize_t n = recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC);
    printf("recvmsg: %zd '%s' (stops at the descriptors), flags %d\n", n, data, r.msg_flags);
    struct cmsghdr* got = CMSG_FIRSTHDR(&r);
    if (got && got->cmsg_type == SCM_RIGHTS) {
        int fds[2];
        memcpy(fds, CMSG_DATA(got), sizeof fds);
        printf("got %zu descriptors, cloexec %s\n", (size_t)((got->cmsg_len - CMSG_LEN(0)) / sizeof(int)),
               yes_no(fcntl(fds[0], F_GETFD) & FD_CLOEXEC));
        char text[32] = {0};
        long r = read(fds[0], text, sizeof text - 1);
        printf("read through the received pipe: %s '%s'\n", err(r), text);
        close(fds[0]);
        close(fds[1]);
    } else {
        printf("no descriptors\n");
    }
    memset(data, 0, sizeof data);
    n = read(sv[1], data, sizeof data - 1);
    printf("next read: %s '%s'\n", err(n), data);
    /* A control buffer too small for the descriptors: MSG_CTRUNC, the extras closed. */
    int one[2];
    pipe(one);
    memcpy(CMSG_DATA(cm), one, 2 * sizeof(int));
    sendmsg(sv[0], &m, 0);
    close(one[0]);
    close(one[1]);
    char tiny[CMSG_SPACE(sizeof(int))];
    r.msg_control = tiny;
    r.msg_controllen = CMSG_LEN(sizeof(int));  /* room for one */
    r.msg_flags = 0;
    n = recvmsg(sv[1], &r, 0);
    got = CMSG_FIRSTHDR(&r);
    printf("small control buffer: %zd, MSG_CTRUNC %s, descriptors %zu, control length %zu\n", n,
           yes_no(r.msg_flags & MSG_CTRUNC), got ? (size_t)((got->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : (size_t)0,
           (size_t)r.msg_controllen);
    if (got) {
        int fd;
        memcpy(&fd, CMSG_DATA(got), sizeof fd);
        close(fd);
    }
    int bad = 9999;
    memcpy(CMSG_DATA(cm), &bad, sizeof bad);
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    SHOW("sending a closed descriptor", sendmsg(sv[0], &m, 0));
    cm->cmsg_len = 3;
    SHOW("a malformed control message", sendmsg(sv[0], &m, 0));
    close(sv[0]);
    close(sv[1]);
}

static void seqpacket(void) {
    printf("-- seqpacket\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    send(sv[0], "one", 3, 0);
    send(sv[0], "two!", 4, 0);
    send(sv[0], "", 0, 0);
    char buf[16] = {0};
    SHOW("record 1", recv(sv[1], buf, sizeof buf, 0));
    SHOW("record 2", recv(sv[1], buf, sizeof buf, 0));
    SHOW("record 3 (empty)", recv(sv[1], buf, sizeof buf, 0));
    send(sv[0], "truncated", 9, 0);
    struct iovec io = {buf, 4};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    long r = recvmsg(sv[1], &m, 0);
    printf("short read: %s, MSG_TRUNC %s\n", err(r), yes_no(m.msg_flags & MSG_TRUNC));
    SHOW("the rest is gone", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    send(sv[0], "real length", 11, 0);
    SHOW("MSG_TRUNC gives the real length", recv(sv[1], buf, 2, MSG_TRUNC));
    close(sv[0]);
    SHOW("EOF after close", recv(sv[1], buf, sizeof buf, 0));
    close(sv[1]);
}

static void timeouts(void) {
    printf("-- timeouts\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct timeval tv = {0, 50000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    SHOW("read with SO_RCVTIMEO", read(sv[0], &c, 1));
    int on = 1;
    ioctl(sv[0], FIONBIO, &on);
    SHOW("read with FIONBIO", read(sv[0], &c, 1));
    /* Fill the pair: non-blocking writes stop with EAGAIN, poll says not writable. */
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    static char block[4096];
    size_t total = 0;
    for (;;) {
        ssize_t n = write(sv[1], block, sizeof block);
        if (n < 0) break;
        total += (size_t)n;
    }
    printf("filled: stopped with %s, more than 64 KiB %s\n", errno_name(errno), yes_no(total > 65536));
    struct pollfd p = {sv[1], POLLOUT, 0};
    SHOW("writable when full", poll(&p, 1, 0));
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    app_test_init();
    /* Socket names go in TMPDIR (relative names, so they print the same everywhere). */
    const char* tmp = getenv("TMPDIR");
    APP_REQUIRE(tmp && chdir(tmp) == 0);
    signal(SIGPIPE, SIG_IGN);  /* Mica has no SIGPIPE: writers get EPIPE, as here */
    socketpair_basics();
    options();
    named_server();
    backlog();
    accept_and_shutdown();
    rights();
    seqpacket();
    timeouts();
    sendfile_to_a_socket();
    return 0;
}
