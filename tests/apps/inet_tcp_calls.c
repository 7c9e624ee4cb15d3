/* AF_INET stream sockets, the calls' own answers as Linux gives them: a fresh socket, bind's
 * errors and SO_REUSEADDR, the options' round trips (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP)
 * and their errors, and bad addresses and buffers. Ports are the kernel's choice. */
#define _GNU_SOURCE
#include "inet_test.h"
#include <netinet/tcp.h>
#include <signal.h>

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
    options();
    bad_addresses();
    printf("done\n");
    return 0;
}
