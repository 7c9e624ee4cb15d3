/*
 * http_server.c - the server tools/bench/net runs in both guests (Mica and the Linux guest):
 * one static binary, one thread, epoll (level-triggered), non-blocking sockets, HTTP/1.1
 * keep-alive. It answers
 *   GET /            a 612-byte page (the size of nginx's default index.html, wrk's usual target)
 *   GET /bytes/N     N bytes of body (guest -> host stream throughput)
 *   POST /sink       reads Content-Length bytes and discards them (host -> guest throughput)
 *   GET /quit        "bye"; the server exits with status 0 once its last connection has
 *                    closed (tools/soak ends each round this way, the client closing first)
 * Anything else gets 404. It prints "http_server: listening on port P" once it listens, and
 * runs until killed (the guest is simply stopped) or asked to quit.
 *
 *   http_server [-p PORT] [-c MAX_CONNECTIONS]
 * Build: musl-gcc -static -O2 -o http_server http_server.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { page_bytes = 612, head_max = 4096, chunk_bytes = 65536, events_max = 64 };

struct conn {
	int fd;
	size_t in_used;              /* bytes of an unparsed request head in `in` */
	uint64_t body_left;          /* request body bytes still to discard (POST /sink) */
	uint64_t discarded;          /* body bytes discarded so far, for the reply */
	char out[1024];              /* response head and a small body (the page) still to send */
	size_t out_len, out_off;
	uint64_t stream_left;        /* /bytes/N: body bytes still to send after `out` */
	int close_after;             /* Connection: close (or HTTP/1.0) */
	char in[head_max];
};

static char page[page_bytes + 1];
static char chunk[chunk_bytes];
static struct conn **conns;      /* indexed by descriptor */
static int conns_max;
static int ep;
static int open_connections, quitting;

static void die(const char *what)
{
	fprintf(stderr, "http_server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void drop(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	conns[c->fd] = NULL;
	free(c);
	--open_connections;
}

static void want_write(struct conn *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = c->fd };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void respond(struct conn *c, int status, const char *body, size_t body_len, uint64_t stream)
{
	const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";
	uint64_t length = body ? body_len : stream;
	c->out_len = (size_t)snprintf(c->out, sizeof c->out,
				      "HTTP/1.1 %d %s\r\nServer: mica-bench\r\nContent-Type: text/html\r\n"
				      "Content-Length: %llu\r\n%s\r\n",
				      status, reason, (unsigned long long)length,
				      c->close_after ? "Connection: close\r\n" : "");
	c->out_off = 0;
	c->stream_left = body ? 0 : stream;
	if (body && c->out_len + body_len > sizeof c->out) {
		c->close_after = 1; /* cannot happen with the bodies above; never send a short body */
		body_len = 0;
	}
	if (body) {
		memcpy(c->out + c->out_len, body, body_len);
		c->out_len += body_len;
	}
}

/* One request head in c->in[0..end); returns 0, or -1 to drop the connection. */
static int handle_head(struct conn *c, size_t end)
{
	char *head = c->in;
	head[end - 1] = '\0';
	c->close_after = strstr(head, "HTTP/1.0") != NULL || strcasestr(head, "connection: close") != NULL;
	if (strncmp(head, "GET / ", 6) == 0) {
		respond(c, 200, page, page_bytes, 0);
	} else if (strncmp(head, "GET /quit ", 10) == 0) {
		quitting = 1;
		respond(c, 200, "bye\n", 4, 0);
	} else if (strncmp(head, "GET /bytes/", 11) == 0) {
		respond(c, 200, NULL, 0, strtoull(head + 11, NULL, 10));
	} else if (strncmp(head, "POST /sink ", 11) == 0) {
		char *cl = strcasestr(head, "content-length:");
		if (!cl)
			return -1;
		c->body_left = strtoull(cl + 15, NULL, 10);
		c->discarded = 0;
		c->out_len = 0;
	} else {
		respond(c, 404, "not found\n", 10, 0);
	}
	memmove(c->in, c->in + end, c->in_used - end);
	c->in_used -= end;
	return 0;
}

/* Sends what is pending; returns 1 when everything went, 0 when the socket is full, -1 on error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len || c->stream_left) {
		ssize_t n;
		if (c->out_off < c->out_len) {
			n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		} else {
			size_t want = c->stream_left < chunk_bytes ? (size_t)c->stream_left : chunk_bytes;
			n = send(c->fd, chunk, want, MSG_NOSIGNAL);
		}
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		if (c->out_off < c->out_len)
			c->out_off += (size_t)n;
		else
			c->stream_left -= (uint64_t)n;
	}
	c->out_len = c->out_off = 0;
	return 1;
}

/* Discards body bytes of a POST /sink; answers once the whole body is in. */
static void discard(struct conn *c, uint64_t n)
{
	c->body_left -= n;
	c->discarded += n;
	if (c->body_left == 0) {
		char text[32];
		int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)c->discarded);
		respond(c, 200, text, (size_t)len, 0);
	}
}

/* Answers the requests already buffered, in order. Returns 1 to go on reading, 0 when the
   connection waits for EPOLLOUT or was dropped. */
static int answer_buffered(struct conn *c)
{
	for (;;) {
		if (c->body_left && c->in_used) {
			uint64_t take = c->in_used < c->body_left ? c->in_used : c->body_left;
			memmove(c->in, c->in + take, c->in_used - (size_t)take);
			c->in_used -= (size_t)take;
			discard(c, take);
		}
		if (!c->out_len && !c->stream_left) {
			if (c->body_left)
				return 1;
			char *end = memmem(c->in, c->in_used, "\r\n\r\n", 4);
			if (!end)
				return 1;
			if (handle_head(c, (size_t)(end - c->in) + 4) < 0) {
				drop(c);
				return 0;
			}
			continue;
		}
		int r = flush_out(c);
		if (r < 0 || (r > 0 && c->close_after)) {
			drop(c);
			return 0;
		}
		if (r == 0) {
			want_write(c, 1);
			return 0;
		}
	}
}

static void on_readable(struct conn *c)
{
	for (;;) {
		if (!answer_buffered(c))
			return;
		ssize_t n;
		if (c->body_left) {
			size_t want = c->body_left < chunk_bytes ? (size_t)c->body_left : chunk_bytes;
			n = recv(c->fd, chunk, want, 0);
		} else {
			if (c->in_used == head_max) {
				drop(c); /* a head this long is not a benchmark request */
				return;
			}
			n = recv(c->fd, c->in + c->in_used, head_max - c->in_used, 0);
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			drop(c);
			return;
		}
		if (n < 0)
			return;
		if (c->body_left)
			discard(c, (uint64_t)n);
		else
			c->in_used += (size_t)n;
	}
}

static void on_writable(struct conn *c)
{
	int r = flush_out(c);
	if (r < 0 || (r > 0 && c->close_after)) {
		drop(c);
		return;
	}
	if (r > 0) {
		want_write(c, 0);
		on_readable(c); /* requests that waited behind this answer */
	}
}

int main(int argc, char **argv)
{
	int port = 80, opt;
	conns_max = 4096;
	while ((opt = getopt(argc, argv, "p:c:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'c')
			conns_max = atoi(optarg);
		else {
			fprintf(stderr, "usage: http_server [-p PORT] [-c MAX_CONNECTIONS]\n");
			return 2;
		}
	}
	memset(page, 'x', page_bytes);
	memcpy(page, "<!DOCTYPE html>\n<title>mica</title>\n", 36);
	page[page_bytes - 1] = '\n';
	memset(chunk, 'y', sizeof chunk);
	signal(SIGPIPE, SIG_IGN);
	conns = calloc((size_t)conns_max, sizeof *conns);
	if (!conns)
		die("calloc");

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket");
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				    .sin_addr.s_addr = htonl(INADDR_ANY) };
	if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0)
		die("bind");
	if (listen(ls, 128) < 0)
		die("listen");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
		die("epoll_ctl");
	printf("http_server: listening on port %d\n", port);
	fflush(stdout);

	struct epoll_event events[events_max];
	for (;;) {
		int n = epoll_wait(ep, events, events_max, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; ++i) {
			int fd = events[i].data.fd;
			if (fd == ls) {
				for (;;) {
					int cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (cfd < 0)
						break;
					if (cfd >= conns_max) {
						close(cfd);
						continue;
					}
					setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct conn *c = calloc(1, sizeof *c);
					if (!c) {
						close(cfd);
						continue;
					}
					c->fd = cfd;
					conns[cfd] = c;
					++open_connections;
					struct epoll_event cev = { .events = EPOLLIN, .data.fd = cfd };
					epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
				}
				continue;
			}
			struct conn *c = conns[fd];
			if (!c)
				continue;
			if (events[i].events & (EPOLLERR | EPOLLHUP)) {
				if (!(events[i].events & EPOLLIN)) {
					drop(c);
					continue;
				}
			}
			if (events[i].events & EPOLLOUT)
				on_writable(c);
			else
				on_readable(c);
		}
		if (quitting && open_connections == 0) {
			/* The peers' last ACKs finish the closes in the stack first: a memory
			 * reading at exit (tools/soak) then finds no connection half-closed. */
			usleep(200 * 1000);
			printf("http_server: quit\n");
			fflush(stdout);
			return 0;
		}
	}
}
