// The TCP and UDP echo service of the network test services (test_services.h): echo, the
// control port, discard and source, all callback-driven over lwIP's raw API under the core
// lock; the boot thread waits until the host has read the summary.
#include <mica/console.h>
#include <mica/format.h>
#include <mica/net/net.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "test_services_internal.h"

namespace mica::net::test_services {
namespace {

constexpr u8_t listen_backlog = 16;
constexpr size_t summary_size = 256;

// --- TCP echo service --------------------------------------------------------------------------

struct EchoService {
    sched::CondVar cv;
    bool stop = false;
    uint64_t accepted = 0, completed = 0, reset = 0, aborted = 0, refused = 0;
    uint64_t received = 0, echoed = 0, datagrams = 0;
    uint64_t discarded = 0, sourced = 0;  // the discard and source ports (measurements)
    size_t open = 0;
    char summary[summary_size];
} echo;  // the boot thread's while the service runs; changed under the core lock

struct EchoConnection {
    struct tcp_pcb* pcb;
    struct pbuf* queue;  // received, not yet written back
    bool peer_closed;
};

void forget(EchoConnection* c) {
    if (c->queue) pbuf_free(c->queue);
    --echo.open;
    free(c);
}

// Closes the connection; false if it had to be aborted (the callback then returns ERR_ABRT).
bool echo_close(EchoConnection* c) {
    struct tcp_pcb* pcb = c->pcb;
    tcp_arg(pcb, nullptr);
    tcp_recv(pcb, nullptr);
    tcp_sent(pcb, nullptr);
    tcp_err(pcb, nullptr);
    bool closed = tcp_close(pcb) == ERR_OK;
    if (closed) {
        ++echo.completed;
    } else {
        ++echo.aborted;
        tcp_abort(pcb);
    }
    forget(c);
    echo.cv.broadcast();
    return closed;
}

// Writes back as much of the queue as the send buffer takes; the receive window reopens by
// what was written, so a client that does not read stalls its own sending. The callbacks'
// result: ERR_ABRT when the connection was aborted (and `c` freed).
err_t echo_send(EchoConnection* c) {
    while (c->queue) {
        struct pbuf* q = c->queue;
        u16_t room = tcp_sndbuf(c->pcb);
        if (q->len && room == 0) break;
        u16_t n = q->len < room ? q->len : room;
        if (n) {
            err_t err = tcp_write(c->pcb, q->payload, n, TCP_WRITE_FLAG_COPY | (q->next ? TCP_WRITE_FLAG_MORE : 0));
            if (err == ERR_MEM) break;  // again from the sent callback
            if (err != ERR_OK) {
                tcp_abort(c->pcb);  // echo_error counts it and frees c
                return ERR_ABRT;
            }
            tcp_recved(c->pcb, n);
            echo.echoed += n;
        }
        if (n == q->len) {
            c->queue = q->next;
            q->next = nullptr;  // the next one keeps the reference the chain gave it
            pbuf_free(q);
        } else {
            pbuf_remove_header(q, n);
        }
    }
    tcp_output(c->pcb);
    if (c->peer_closed && !c->queue && !echo_close(c)) return ERR_ABRT;
    return ERR_OK;
}

err_t echo_received(void* arg, struct tcp_pcb*, struct pbuf* p, err_t) {
    auto* c = static_cast<EchoConnection*>(arg);
    if (!p) {
        c->peer_closed = true;
    } else {
        echo.received += p->tot_len;
        if (c->queue) pbuf_cat(c->queue, p);
        else c->queue = p;
    }
    return echo_send(c);
}

err_t echo_sent(void* arg, struct tcp_pcb*, u16_t) { return echo_send(static_cast<EchoConnection*>(arg)); }

void echo_error(void* arg, err_t err) {
    auto* c = static_cast<EchoConnection*>(arg);  // lwIP has freed the pcb
    if (err == ERR_RST) ++echo.reset;
    else ++echo.aborted;
    forget(c);
    echo.cv.broadcast();
}

err_t echo_accepted(void*, struct tcp_pcb* pcb, err_t err) {
    if (err != ERR_OK || !pcb) return ERR_VAL;
    auto* c = static_cast<EchoConnection*>(malloc(sizeof(EchoConnection)));
    if (!c) {
        ++echo.refused;
        return ERR_MEM;  // lwIP aborts the connection
    }
    *c = EchoConnection{pcb, nullptr, false};
    ++echo.accepted;
    ++echo.open;
    tcp_nagle_disable(pcb);
    tcp_arg(pcb, c);
    tcp_recv(pcb, echo_received);
    tcp_sent(pcb, echo_sent);
    tcp_err(pcb, echo_error);
    return ERR_OK;
}

// UDP echo on the same port: each datagram goes back as it came (the received pbuf itself,
// so a driver's zero-copy transmit sends from its own receive buffers).
void datagram_received(void*, struct udp_pcb* pcb, struct pbuf* p, const ip_addr_t* from, u16_t port) {
    if (udp_sendto(pcb, p, from, port) == ERR_OK) ++echo.datagrams;
    pbuf_free(p);
}

// Discard (PORT+2) and source (PORT+3), for one-way measurements (tools/bench/net-echo): the
// first reads and drops everything, the second sends a pattern until the host closes.
void stream_detach(struct tcp_pcb* pcb) {
    tcp_arg(pcb, nullptr);
    tcp_recv(pcb, nullptr);
    tcp_sent(pcb, nullptr);
    tcp_err(pcb, nullptr);
}

// Closes a discard or source connection from its receive callback; its result.
err_t stream_close(struct tcp_pcb* pcb) {
    stream_detach(pcb);
    if (tcp_close(pcb) == ERR_OK) return ERR_OK;
    tcp_abort(pcb);
    return ERR_ABRT;
}

err_t discard_received(void*, struct tcp_pcb* pcb, struct pbuf* p, err_t) {
    if (!p) return stream_close(pcb);
    echo.discarded += p->tot_len;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

err_t discard_accepted(void*, struct tcp_pcb* pcb, err_t err) {
    if (err != ERR_OK || !pcb) return ERR_VAL;
    tcp_recv(pcb, discard_received);
    return ERR_OK;
}

err_t source_more(void*, struct tcp_pcb* pcb, u16_t) {
    static uint8_t pattern[pattern_chunk];  // any bytes will do; written once
    if (!pattern[1]) fill_pattern(pattern, 0, sizeof pattern);
    bool wrote = false;
    while (tcp_sndbuf(pcb) >= sizeof pattern / 4) {
        u16_t n = tcp_sndbuf(pcb) < sizeof pattern ? tcp_sndbuf(pcb) : static_cast<u16_t>(sizeof pattern);
        if (tcp_write(pcb, pattern, n, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
        echo.sourced += n;
        wrote = true;
    }
    if (wrote) tcp_output(pcb);
    return ERR_OK;
}

err_t source_received(void*, struct tcp_pcb* pcb, struct pbuf* p, err_t) {
    if (!p) return stream_close(pcb);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

void stream_error(void*, err_t) {}  // lwIP has freed the pcb; nothing of ours to free

err_t source_accepted(void*, struct tcp_pcb* pcb, err_t err) {
    if (err != ERR_OK || !pcb) return ERR_VAL;
    tcp_recv(pcb, source_received);
    tcp_sent(pcb, source_more);
    tcp_err(pcb, stream_error);
    return source_more(nullptr, pcb, 0);
}

// The control port: the summary, then, once the host has read it and closed its end, the
// kernel stops (stopping at once could lose the summary on its way out of the machine).
void control_done() {
    echo.stop = true;
    echo.cv.broadcast();
}

err_t control_received(void*, struct tcp_pcb* pcb, struct pbuf* p, err_t) {
    if (p) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    tcp_recv(pcb, nullptr);
    tcp_err(pcb, nullptr);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        control_done();
        return ERR_ABRT;
    }
    control_done();
    return ERR_OK;
}

void control_error(void*, err_t) { control_done(); }

void format_summary() {
    fmt::snprintf(echo.summary, sizeof echo.summary,
                  "echo: %llu connections, %llu closed, %llu reset by the peer, %llu aborted, %llu refused, "
                  "%llu bytes received, %llu echoed, %llu datagrams echoed; %llu bytes discarded, %llu sourced\n",
                  (unsigned long long)echo.accepted, (unsigned long long)echo.completed,
                  (unsigned long long)echo.reset, (unsigned long long)echo.aborted, (unsigned long long)echo.refused,
                  (unsigned long long)echo.received, (unsigned long long)echo.echoed,
                  (unsigned long long)echo.datagrams, (unsigned long long)echo.discarded,
                  (unsigned long long)echo.sourced);
}

err_t control_accepted(void*, struct tcp_pcb* pcb, err_t err) {
    if (err != ERR_OK || !pcb) return ERR_VAL;
    format_summary();
    tcp_recv(pcb, control_received);
    tcp_err(pcb, control_error);
    tcp_write(pcb, echo.summary, static_cast<u16_t>(strlen(echo.summary)), TCP_WRITE_FLAG_COPY);
    tcp_output(pcb);
    return ERR_OK;
}

// The status port (PORT+4): the summary so far, then this side closes; the service goes on
// (the host polls it to see a connection's end before it stops the service).
err_t status_accepted(void*, struct tcp_pcb* pcb, err_t err) {
    if (err != ERR_OK || !pcb) return ERR_VAL;
    format_summary();
    tcp_recv(pcb, discard_received);  // anything sent is dropped; the host's close ends it
    tcp_write(pcb, echo.summary, static_cast<u16_t>(strlen(echo.summary)), TCP_WRITE_FLAG_COPY);
    if (tcp_shutdown(pcb, 0, 1) != ERR_OK) tcp_output(pcb);  // FIN after the line
    return ERR_OK;
}

struct tcp_pcb* listen_on(uint16_t port, tcp_accept_fn accepted) {
    struct tcp_pcb* pcb = tcp_new();
    if (!pcb) return nullptr;
    ip_set_option(pcb, SOF_REUSEADDR);
    if (tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) {
        tcp_close(pcb);
        return nullptr;
    }
    struct tcp_pcb* listener = tcp_listen_with_backlog(pcb, listen_backlog);
    if (!listener) {
        tcp_close(pcb);
        return nullptr;
    }
    tcp_accept(listener, accepted);
    return listener;
}

}  // namespace

int run_echo(uint16_t port) {
    uint16_t control = static_cast<uint16_t>(port + 1);
    CoreLock lock;
    struct tcp_pcb* service = listen_on(port, echo_accepted);
    struct tcp_pcb* stopper = service ? listen_on(control, control_accepted) : nullptr;
    struct tcp_pcb* discard = stopper ? listen_on(static_cast<uint16_t>(port + 2), discard_accepted) : nullptr;
    struct tcp_pcb* source = discard ? listen_on(static_cast<uint16_t>(port + 3), source_accepted) : nullptr;
    struct tcp_pcb* status = source ? listen_on(static_cast<uint16_t>(port + 4), status_accepted) : nullptr;
    struct udp_pcb* datagrams = udp_new();
    if (datagrams && udp_bind(datagrams, IP_ADDR_ANY, port) != ERR_OK) {
        udp_remove(datagrams);
        datagrams = nullptr;
    }
    if (!status || !datagrams) {
        kprintf("mica: test-net-echo: cannot listen on ports %u to %u\n", port, port + 4);
        struct tcp_pcb* listeners[] = {service, stopper, discard, source, status};
        for (struct tcp_pcb* l : listeners) {
            if (l) tcp_close(l);
        }
        if (datagrams) udp_remove(datagrams);
        return 1;
    }
    udp_recv(datagrams, datagram_received, nullptr);
    kprintf("mica: test-net-echo: serving TCP and UDP echo on port %u (control port %u, discard %u, source %u, "
            "status %u)\n",
            port, control, port + 2, port + 3, port + 4);
    while (!echo.stop) lock.wait(echo.cv);
    struct tcp_pcb* listeners[] = {service, stopper, discard, source, status};
    for (struct tcp_pcb* l : listeners) tcp_close(l);
    udp_remove(datagrams);
    kprintf("mica: test-net-echo: %s", echo.summary);
    // Connections still open are the host's business; report them, but a clean run has none
    // that failed on this side.
    bool ok = echo.aborted == 0 && echo.refused == 0;
    if (echo.open) kprintf("mica: test-net-echo: %zu connections still open\n", echo.open);
    return ok ? 0 : 1;
}

}  // namespace mica::net::test_services
