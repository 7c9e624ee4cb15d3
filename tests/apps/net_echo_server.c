// An epoll echo server, driven from the host by net_app_test.py through tools/run --forward.
//
//   net_echo_server [-p PORT] [-b BACKLOG]
//
// PORT echoes every byte it receives, edge-triggered and non-blocking, with a bounded buffer
// per connection (a client that sends without reading is held back, not buffered without
// end); a client's half-close ends its echo once everything has gone back. PORT + 1 takes
// commands, one line each:
//   pause MS   stop accepting on PORT for MS milliseconds (a timerfd ends the pause), so
//              connections pile up past the backlog
//   stats      answers "accepted N echoed B errors E"
//   quit       prints the summary and exits with status 0
// Errors on a connection (a peer that resets or vanishes) end that connection and are
// counted; they never end the server.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256
#define BUFFER_SIZE 65536
#define MAX_EVENTS 64

struct connection {
    int fd;
    int control;  // a command connection
    int eof;      // the peer half-closed: close once `pending` is empty
    size_t start, end;
    char buffer[BUFFER_SIZE];
};

static struct connection* connections[MAX_CONNECTIONS];
static unsigned long long accepted, echoed, errors, resets, broken_pipes;
static int epoll_fd, echo_listener, control_listener, pause_timer;

static void die(const char* what) {
    printf("net_echo_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int listen_on(int port, int backlog) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) die("SO_REUSEADDR");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0) die("bind");
    if (listen(fd, backlog) != 0) die("listen");
    return fd;
}

static void watch(int fd, unsigned events, int op) {
    struct epoll_event e = {.events = events, .data.fd = fd};
    if (epoll_ctl(epoll_fd, op, fd, &e) != 0) die("epoll_ctl");
}

static void finish(struct connection* c, int error) {
    if (error) {
        ++errors;
        if (error == ECONNRESET) ++resets;
        if (error == EPIPE) ++broken_pipes;
    }
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    connections[c->fd] = NULL;
    free(c);
}

static void accept_all(int listener, int control) {
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == ECONNABORTED) continue;
            die("accept4");
        }
        if (fd >= MAX_CONNECTIONS) {
            close(fd);
            ++errors;
            continue;
        }
        struct connection* c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        c->control = control;
        connections[fd] = c;
        if (!control) {
            ++accepted;
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, EPOLL_CTL_ADD);
    }
}

static void summary(FILE* out) {
    fprintf(out, "accepted %llu echoed %llu errors %llu\n", accepted, echoed, errors);
}

static void command(struct connection* c, char* line) {
    char reply[128];
    if (strncmp(line, "pause ", 6) == 0) {
        long ms = strtol(line + 6, NULL, 10);
        struct itimerspec t = {.it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}};
        watch(echo_listener, 0, EPOLL_CTL_DEL);
        if (timerfd_settime(pause_timer, 0, &t, NULL) != 0) die("timerfd_settime");
        snprintf(reply, sizeof reply, "paused %ld\n", ms);
    } else if (strcmp(line, "stats") == 0) {
        snprintf(reply, sizeof reply, "accepted %llu echoed %llu errors %llu\n", accepted, echoed, errors);
    } else if (strcmp(line, "quit") == 0) {
        printf("net_echo_server: ");
        summary(stdout);
        printf("net_echo_server: %llu resets, %llu broken pipes\n", resets, broken_pipes);
        fflush(stdout);
        exit(0);
    } else {
        snprintf(reply, sizeof reply, "unknown command\n");
    }
    send(c->fd, reply, strlen(reply), MSG_NOSIGNAL);
}

// Control connections: whole lines, answered at once (the replies are tiny).
static void serve_control(struct connection* c) {
    for (;;) {
        ssize_t n = recv(c->fd, c->buffer + c->end, BUFFER_SIZE - 1 - c->end, 0);
        if (n == 0) return finish(c, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            return finish(c, errno);
        }
        c->end += (size_t)n;
        c->buffer[c->end] = 0;
        char* newline;
        while ((newline = strchr(c->buffer, '\n'))) {
            *newline = 0;
            command(c, c->buffer);
            size_t used = (size_t)(newline + 1 - c->buffer);
            memmove(c->buffer, newline + 1, c->end - used + 1);
            c->end -= used;
        }
        if (c->end == BUFFER_SIZE - 1) return finish(c, EINVAL);
    }
}

// Echo connections: read while there is room, write while there is data, until both would
// block (edge-triggered: the next event comes only after that).
static void serve_echo(struct connection* c) {
    for (;;) {
        int progress = 0;
        if (c->start < c->end) {
            ssize_t n = send(c->fd, c->buffer + c->start, c->end - c->start, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return finish(c, errno);
            if (n > 0) {
                c->start += (size_t)n;
                echoed += (unsigned long long)n;
                progress = 1;
            }
        }
        if (c->start == c->end) c->start = c->end = 0;
        if (c->eof && c->start == c->end) return finish(c, 0);
        if (!c->eof && c->end < BUFFER_SIZE) {
            ssize_t n = recv(c->fd, c->buffer + c->end, BUFFER_SIZE - c->end, 0);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return finish(c, errno);
            if (n == 0) c->eof = 1;
            if (n > 0) c->end += (size_t)n;
            progress |= n >= 0;
        }
        if (!progress) return;
    }
}

int main(int argc, char** argv) {
    int port = 7, backlog = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-p") == 0) port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-b") == 0) backlog = atoi(argv[i + 1]);
    }
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) die("epoll_create1");
    echo_listener = listen_on(port, backlog);
    control_listener = listen_on(port + 1, 4);
    pause_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (pause_timer < 0) die("timerfd_create");
    watch(echo_listener, EPOLLIN, EPOLL_CTL_ADD);
    watch(control_listener, EPOLLIN, EPOLL_CTL_ADD);
    watch(pause_timer, EPOLLIN, EPOLL_CTL_ADD);
    printf("net_echo_server: listening on port %d (commands on %d, backlog %d)\n", port, port + 1, backlog);
    fflush(stdout);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == echo_listener) {
                accept_all(echo_listener, 0);
            } else if (fd == control_listener) {
                accept_all(control_listener, 1);
            } else if (fd == pause_timer) {
                unsigned long long expirations;
                if (read(pause_timer, &expirations, sizeof expirations) == (ssize_t)sizeof expirations) {
                    watch(echo_listener, EPOLLIN, EPOLL_CTL_ADD);
                }
            } else if (fd < MAX_CONNECTIONS && connections[fd]) {
                struct connection* c = connections[fd];
                if (c->control) serve_control(c);
                else serve_echo(c);
            }
        }
    }
}
