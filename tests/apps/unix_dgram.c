/* AF_UNIX datagram sockets: message boundaries, named senders and receivers, connect setting
 * the default destination (and who may send to a connected socket), truncation, empty
 * datagrams, a full receiver, a sender and a receiver in two threads, and the errors Linux
 * gives. Socket names are relative to TMPDIR. */
#define _GNU_SOURCE
#include "app_test.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
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

static socklen_t path_address(struct sockaddr_un* a, const char* path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static int bound(const char* path) {
    unlink(path);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a;
    socklen_t len = path_address(&a, path);
    if (bind(s, (struct sockaddr*)&a, len) != 0) printf("bind %s failed: %s\n", path, errno_name(errno));
    return s;
}

/* Receives one datagram and prints it with its sender's name. */
static void receive_from(int s, const char* what) {
    char buf[64] = {0};
    struct sockaddr_un from;
    memset(&from, 0, sizeof from);
    socklen_t len = sizeof from;
    long n = recvfrom(s, buf, sizeof buf - 1, MSG_DONTWAIT, (struct sockaddr*)&from, &len);
    if (n < 0) {
        printf("%s: -1 %s\n", what, errno_name(errno));
        return;
    }
    printf("%s: %ld '%s' from '%s' (address length %u)\n", what, n, buf, len > 2 ? from.sun_path : "",
           (unsigned)len);
}

static void pair(void) {
    printf("-- socketpair\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    SHOW("send 'first'", send(sv[0], "first", 5, 0));
    SHOW("send 'second'", send(sv[0], "second", 6, 0));
    SHOW("send empty", send(sv[0], "", 0, 0));
    int available = -1;
    ioctl(sv[1], FIONREAD, &available);
    printf("FIONREAD (the next datagram): %d\n", available);
    char buf[16] = {0};
    long r = recv(sv[1], buf, sizeof buf, 0);
    printf("one datagram per read: %s '%s'\n", err(r), buf);
    memset(buf, 0, sizeof buf);
    r = recv(sv[1], buf, 3, MSG_PEEK);
    printf("peek 3: %s '%s'\n", err(r), buf);
    struct iovec io = {buf, 3};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    r = recvmsg(sv[1], &m, 0);
    printf("read 3 of 6: %s, MSG_TRUNC %s\n", err(r), yes_no(m.msg_flags & MSG_TRUNC));
    SHOW("the empty datagram", recv(sv[1], buf, sizeof buf, 0));
    SHOW("nothing left", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    /* readv/writev keep one datagram. */
    struct iovec parts[3] = {{"ab", 2}, {"cd", 2}, {"ef", 2}};
    SHOW("writev of three parts", writev(sv[0], parts, 3));
    char a[3] = {0}, b[5] = {0};
    struct iovec in[2] = {{a, 2}, {b, 4}};
    r = readv(sv[1], in, 2);
    printf("readv: %s '%s' '%s'\n", err(r), a, b);
    struct pollfd p = {sv[1], POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("empty pair polls: out %s, in %s, hup %s\n", yes_no(p.revents & POLLOUT), yes_no(p.revents & POLLIN),
           yes_no(p.revents & POLLHUP));
    SHOW("shutdown(SHUT_RD)", shutdown(sv[1], SHUT_RD));
    SHOW("read after SHUT_RD", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    SHOW("send to a socket that shut reading", send(sv[0], "x", 1, 0));
    close(sv[0]);
    close(sv[1]);
}

static void named(void) {
    printf("-- named sockets\n");
    int server = bound("server.sock");
    int client = bound("client.sock");
    int anonymous = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un to;
    socklen_t tolen = path_address(&to, "server.sock");
    SHOW("sendto from a named socket", sendto(client, "hi", 2, 0, (struct sockaddr*)&to, tolen));
    SHOW("sendto from an unnamed one", sendto(anonymous, "anon", 4, 0, (struct sockaddr*)&to, tolen));
    receive_from(server, "first");
    receive_from(server, "second");
    SHOW("send without a destination", send(anonymous, "x", 1, 0));
    /* connect sets the default destination. */
    SHOW("connect", connect(anonymous, (struct sockaddr*)&to, tolen));
    SHOW("send after connect", send(anonymous, "default", 7, 0));
    receive_from(server, "third");
    struct sockaddr_un name;
    socklen_t len = sizeof name;
    long r = getpeername(anonymous, (struct sockaddr*)&name, &len);
    printf("getpeername: %s '%s'\n", err(r), name.sun_path);
    /* A socket connected to someone accepts datagrams only from it. */
    struct sockaddr_un cl;
    socklen_t cllen = path_address(&cl, "client.sock");
    SHOW("connect the server to the client", connect(server, (struct sockaddr*)&cl, cllen));
    SHOW("someone else sends to the server", send(anonymous, "x", 1, 0));
    SHOW("the client sends to the server", sendto(client, "ok", 2, 0, (struct sockaddr*)&to, tolen));
    receive_from(server, "fourth");
    struct sockaddr unspec = {AF_UNSPEC, {0}};
    SHOW("disconnect with AF_UNSPEC", connect(server, &unspec, sizeof unspec));
    SHOW("now anyone may", send(anonymous, "again", 5, 0));
    receive_from(server, "fifth");
    SHOW("sendto nowhere", sendto(client, "x", 1, 0, (struct sockaddr*)&cl, path_address(&cl, "nowhere.sock")));
    int stream = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un st;
    socklen_t stlen = path_address(&st, "stream.sock");
    unlink("stream.sock");
    bind(stream, (struct sockaddr*)&st, stlen);
    SHOW("sendto a stream socket", sendto(client, "x", 1, 0, (struct sockaddr*)&st, stlen));
    close(stream);
    SHOW("listen on a datagram socket", listen(server, 1));
    SHOW("accept on a datagram socket", accept(server, NULL, NULL));
    /* The destination goes away. */
    close(server);
    SHOW("send to a closed destination", send(anonymous, "x", 1, 0));
    SHOW("and again", send(anonymous, "x", 1, 0));
    close(anonymous);
    close(client);
    unlink("server.sock");
    unlink("client.sock");
    unlink("stream.sock");
}

static void many_messages(void) {
    printf("-- sendmmsg and recvmmsg\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    struct mmsghdr out[3];
    struct iovec io[3] = {{"one", 3}, {"two!", 4}, {"three", 5}};
    memset(out, 0, sizeof out);
    for (int i = 0; i < 3; ++i) {
        out[i].msg_hdr.msg_iov = &io[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    long r = sendmmsg(sv[0], out, 3, 0);
    printf("sendmmsg: %s, lengths %u %u %u\n", err(r), out[0].msg_len, out[1].msg_len, out[2].msg_len);
    char bufs[4][8];
    struct iovec in_io[4];
    struct mmsghdr in[4];
    memset(in, 0, sizeof in);
    memset(bufs, 0, sizeof bufs);
    for (int i = 0; i < 4; ++i) {
        in_io[i].iov_base = bufs[i];
        in_io[i].iov_len = sizeof bufs[i] - 1;
        in[i].msg_hdr.msg_iov = &in_io[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    r = recvmmsg(sv[1], in, 4, MSG_WAITFORONE, NULL);
    printf("recvmmsg (MSG_WAITFORONE): %s: '%s' '%s' '%s'\n", err(r), bufs[0], bufs[1], bufs[2]);
    SHOW("recvmmsg with nothing, MSG_DONTWAIT", recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL));
    close(sv[0]);
    close(sv[1]);
}

static void credentials(void) {
    printf("-- SO_PASSCRED\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    int on = 1;
    SHOW("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
    send(sv[0], "who", 3, 0);
    char data[8] = {0};
    char control[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec io = {data, sizeof data};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    long r = recvmsg(sv[1], &m, 0);
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        struct ucred u;
        memcpy(&u, CMSG_DATA(c), sizeof u);
        printf("recvmsg: %s, credentials: pid ours %s, uid ours %s, gid ours %s\n", err(r), yes_no(u.pid == getpid()),
               yes_no(u.uid == getuid()), yes_no(u.gid == getgid()));
    } else {
        printf("recvmsg: %s, no credentials\n", err(r));
    }
    close(sv[0]);
    close(sv[1]);
}

static void full(void) {
    printf("-- a full receiver\n");
    int server = bound("full.sock");
    int sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un to;
    socklen_t tolen = path_address(&to, "full.sock");
    int sent = 0;
    for (int i = 0; i < 100; ++i) {
        if (sendto(sender, "m", 1, 0, (struct sockaddr*)&to, tolen) < 0) break;
        ++sent;
    }
    printf("queued %d before %s\n", sent, errno_name(errno));
    char c;
    recv(server, &c, 1, 0);
    SHOW("room for one more after a read", sendto(sender, "m", 1, 0, (struct sockaddr*)&to, tolen));
    static char huge[300000];
    SHOW("a datagram larger than the send buffer", sendto(sender, huge, sizeof huge, 0, (struct sockaddr*)&to, tolen));
    close(sender);
    close(server);
    unlink("full.sock");
}

#define MESSAGES 2000

struct sender {
    int fd;
    const struct sockaddr* to;  /* NULL: the connected peer */
    socklen_t to_length;
    size_t size;                /* bytes per datagram: the text, then zeros */
};

static void* send_many(void* arg) {
    struct sender* s = arg;
    static char text[4096];
    for (int i = 0; i < MESSAGES; ++i) {
        memset(text, 0, sizeof text);
        int n = snprintf(text, sizeof text, "message %d", i);
        size_t length = s->size > (size_t)n ? s->size : (size_t)n;
        /* Blocks while the receiver is full. */
        if (sendto(s->fd, text, length, 0, s->to, s->to_length) != (long)length) return (void*)1;
    }
    sendto(s->fd, "", 0, 0, s->to, s->to_length);
    return NULL;
}

/* The receiver starts late, so the sender fills the queue and blocks until reads make room. */
static void receive_many(int fd, struct sender* s, const char* what) {
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, send_many, s) == 0);
    usleep(50000);
    int in_order = 0, wrong = 0;
    for (;;) {
        char buf[4096] = {0}, expected[32];
        long n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        snprintf(expected, sizeof expected, "message %d", in_order);
        if (strcmp(buf, expected) != 0) ++wrong;
        ++in_order;
    }
    void* status;
    pthread_join(t, &status);
    printf("%s: received %d datagrams in order, %d wrong, sender status %ld\n", what, in_order, wrong, (long)status);
}

static void threads(void) {
    printf("-- sender threads\n");
    int sv[2];
    APP_REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);  /* the sender blocks on bytes */
    struct sender pair = {sv[0], NULL, 0, 0};
    receive_many(sv[1], &pair, "a pair with a small send buffer");
    close(sv[0]);
    close(sv[1]);
    /* Unconnected senders to a named receiver: one blocks on the receiver's queue length,
     * one with large datagrams and a small send buffer on bytes. */
    int server = bound("many.sock");
    struct sockaddr_un to;
    socklen_t tolen = path_address(&to, "many.sock");
    struct sender named = {socket(AF_UNIX, SOCK_DGRAM, 0), (struct sockaddr*)&to, tolen, 0};
    receive_many(server, &named, "an unconnected sender");
    close(named.fd);
    struct sender large = {socket(AF_UNIX, SOCK_DGRAM, 0), (struct sockaddr*)&to, tolen, 3000};
    setsockopt(large.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    receive_many(server, &large, "an unconnected sender of 3000-byte datagrams");
    close(large.fd);
    close(server);
    unlink("many.sock");
}

int main(void) {
    app_test_init();
    signal(SIGPIPE, SIG_IGN);
    const char* tmp = getenv("TMPDIR");
    APP_REQUIRE(tmp && chdir(tmp) == 0);
    pair();
    named();
    many_messages();
    credentials();
    full();
    threads();
    return 0;
}
