/* The benchmark server (tools/bench/apps/http_server.c: epoll, non-blocking sockets,
 * keep-alive) on one thread of this program, and clients on others over loopback: the page,
 * pipelined requests, a 1 MB body each way, 404, HTTP/1.0's close, and 20 connections with
 * 10 requests each at once. It proves the server tools/bench/net measures works on Mica.
 * The server listens on a port of the kernel's choice (-p 0); the client finds it as the
 * one AF_INET listening socket of the process. */
#define _GNU_SOURCE
#include "app_test.h"

#define main http_server_main
#include "../../tools/bench/apps/http_server.c"
#undef main

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>

#define PAGE_BYTES 612
#define SOME_CONNECTIONS 20
#define REQUESTS_EACH 10

/* The client's report, printed once the server has answered (so after its own line). */
static char report[4096];
static size_t report_used;

static void note(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(report + report_used, sizeof report - report_used, format, args);
    va_end(args);
    if (n > 0) report_used += (size_t)n < sizeof report - report_used ? (size_t)n : sizeof report - report_used - 1;
}

static void* run_server(void* arg) {
    (void)arg;
    char* argv[] = {"http_server", "-p", "0", NULL};
    http_server_main(3, argv);
    return NULL;
}

/* The server's listening socket (the only AF_INET listener here), found by looking. */
static struct sockaddr_in find_server(void) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    for (int tries = 0; tries < 3000; ++tries) {
        for (int fd = 3; fd < 64; ++fd) {
            int listening = 0;
            socklen_t len = sizeof listening;
            if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) continue;
            len = sizeof a;
            if (getsockname(fd, (struct sockaddr*)&a, &len) == 0 && a.sin_family == AF_INET) {
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                return a;
            }
        }
        usleep(10000);
    }
    printf("FAILED: the server never listened\n");
    exit(1);
}

static int connect_to(const struct sockaddr_in* a) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    APP_REQUIRE(fd >= 0);
    APP_REQUIRE(connect(fd, (const struct sockaddr*)a, sizeof *a) == 0);
    return fd;
}

static int send_all(int fd, const void* data, size_t length) {
    const char* p = data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n <= 0) return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

struct response {
    int status;
    long length;      /* Content-Length */
    long body_read;   /* bytes of body received */
    int body_ok;      /* every byte as expected (the page's start, or all 'y') */
    char body[64];    /* the start of the body */
};

/* Reads one response; a connection's leftover bytes stay in `buffer` (used bytes in *have). */
static int read_response(int fd, char* buffer, size_t size, size_t* have, struct response* r, char expect) {
    memset(r, 0, sizeof *r);
    char* end;
    while (!(end = memmem(buffer, *have, "\r\n\r\n", 4))) {
        if (*have == size) return -1;
        ssize_t n = read(fd, buffer + *have, size - *have);
        if (n <= 0) return -1;
        *have += (size_t)n;
    }
    size_t head = (size_t)(end - buffer) + 4;
    if (sscanf(buffer, "HTTP/1.1 %d", &r->status) != 1) return -1;
    char* cl = strcasestr(buffer, "content-length:");
    if (!cl || cl > end) return -1;
    r->length = strtol(cl + 15, NULL, 10);
    memmove(buffer, buffer + head, *have - head);
    *have -= head;
    r->body_ok = 1;
    while (r->body_read < r->length) {
        if (*have == 0) {
            ssize_t n = read(fd, buffer, size);
            if (n <= 0) return -1;
            *have = (size_t)n;
        }
        size_t take = *have < (size_t)(r->length - r->body_read) ? *have : (size_t)(r->length - r->body_read);
        for (size_t i = 0; i < take; ++i) {
            long at = r->body_read + (long)i;
            if (at < (long)sizeof r->body - 1) r->body[at] = buffer[i];
            if (expect && buffer[i] != expect) r->body_ok = 0;
        }
        r->body_read += (long)take;
        memmove(buffer, buffer + take, *have - take);
        *have -= take;
    }
    return 0;
}

static const char* get_page = "GET / HTTP/1.1\r\nHost: mica\r\n\r\n";

struct worker {
    struct sockaddr_in server;
    int ok;
};

static void* keep_asking(void* arg) {
    struct worker* w = arg;
    int fd = connect_to(&w->server);
    static __thread char buffer[8192];
    size_t have = 0;
    for (int i = 0; i < REQUESTS_EACH; ++i) {
        struct response r;
        if (send_all(fd, get_page, strlen(get_page)) < 0 ||
            read_response(fd, buffer, sizeof buffer, &have, &r, 0) < 0 || r.status != 200 ||
            r.body_read != PAGE_BYTES) {
            close(fd);
            return NULL;
        }
    }
    close(fd);
    w->ok = 1;
    return NULL;
}

int main(void) {
    app_test_init();
    pthread_t server;
    pthread_create(&server, NULL, run_server, NULL);
    struct sockaddr_in a = find_server();
    static char buffer[65536];
    size_t have = 0;
    struct response r;

    int fd = connect_to(&a);
    send_all(fd, get_page, strlen(get_page));
    int got = read_response(fd, buffer, sizeof buffer, &have, &r, 0);
    note("GET /: %s, status %d, %ld bytes, '%.15s'\n", got == 0 ? "answered" : "failed", r.status, r.body_read,
         r.body);

    /* Three requests in one write: three answers in order on the same connection. */
    char three[256];
    snprintf(three, sizeof three, "%s%s%s", get_page, "GET /nothing HTTP/1.1\r\n\r\n", get_page);
    send_all(fd, three, strlen(three));
    for (int i = 0; i < 3; ++i) {
        got = read_response(fd, buffer, sizeof buffer, &have, &r, 0);
        note("pipelined %d: %s, status %d, %ld bytes\n", i + 1, got == 0 ? "answered" : "failed", r.status,
             r.body_read);
    }

    /* A large body out of the guest, and one into it. */
    const char* big = "GET /bytes/1000000 HTTP/1.1\r\n\r\n";
    send_all(fd, big, strlen(big));
    got = read_response(fd, buffer, sizeof buffer, &have, &r, 'y');
    note("GET /bytes/1000000: %s, status %d, %ld bytes, all 'y' %s\n", got == 0 ? "answered" : "failed", r.status,
         r.body_read, yes_no(r.body_ok));
    const char* post = "POST /sink HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n";
    send_all(fd, post, strlen(post));
    static char body[1000000];
    memset(body, 'z', sizeof body);
    send_all(fd, body, sizeof body);
    got = read_response(fd, buffer, sizeof buffer, &have, &r, 0);
    note("POST /sink of 1000000: %s, status %d, the server counted %.7s\n", got == 0 ? "answered" : "failed",
         r.status, r.body);
    close(fd);

    /* HTTP/1.0: the server closes after its answer. */
    fd = connect_to(&a);
    have = 0;
    const char* old = "GET / HTTP/1.0\r\n\r\n";
    send_all(fd, old, strlen(old));
    got = read_response(fd, buffer, sizeof buffer, &have, &r, 0);
    char extra;
    ssize_t after = read(fd, &extra, 1);
    note("HTTP/1.0: %s, status %d, then the server closed: %s\n", got == 0 ? "answered" : "failed", r.status,
         yes_no(after == 0 && have == 0));
    close(fd);

    /* Many clients at once. */
    struct worker workers[SOME_CONNECTIONS];
    pthread_t threads[SOME_CONNECTIONS];
    for (int i = 0; i < SOME_CONNECTIONS; ++i) {
        workers[i].server = a;
        workers[i].ok = 0;
        pthread_create(&threads[i], NULL, keep_asking, &workers[i]);
    }
    int ok = 0;
    for (int i = 0; i < SOME_CONNECTIONS; ++i) {
        pthread_join(threads[i], NULL);
        ok += workers[i].ok;
    }
    note("%d connections x %d requests: %d connections got every answer\n", SOME_CONNECTIONS, REQUESTS_EACH, ok);

    fputs(report, stdout);
    printf("done\n");
    fflush(stdout);
    exit(0);  /* the server thread runs until the process ends */
}
