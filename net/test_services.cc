// The kernel-level network test services (test_services.h), over lwIP's raw API under the
// core lock: callbacks queue and signal, the boot thread waits on a condition variable.
#include <mica/console.h>
#include <mica/format.h>
#include <mica/net/net.h>
#include <mica/net/options.h>
#include <mica/net/test_services.h>
#include <mica/sched/sync.h>
#include <new>
#include <stdlib.h>
#include <string.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

namespace mica::net {
namespace {

// A step (a reply, a connection, some bytes) that takes longer than this is a failure. TCG
// on a loaded machine is slow, and no test asserts speed: generous.
constexpr uint64_t step_timeout_ns = 30'000'000'000ull;
constexpr uint64_t ping_timeout_ns = 10'000'000'000ull;
constexpr int ping_attempts = 3;
// Payload sizes: small, medium, a full 1500-byte IP packet, and one IP fragments both ways.
constexpr uint16_t ping_sizes[] = {56, 1000, 1472, 4000};
constexpr uint16_t ping_identifier = 0x4d69;  // "Mi"
constexpr size_t icmp_header_length = 8;
constexpr u8_t listen_backlog = 16;
constexpr size_t max_write = 0xffff;  // tcp_write and tcp_recved take 16-bit lengths
constexpr size_t pattern_chunk = 4096;
constexpr size_t summary_size = 256;

enum class Service { none, ping, echo, connect };

// Written by the command-line parser, read by run_test_service() (boot thread).
struct TestOptions {
    Service service = Service::none;
    uint32_t address = 0;  // host byte order
    uint16_t port = 0;
    uint64_t bytes = 0;
    char error[96] = {};
} test;

const char* parse_number(const char* text, uint64_t max, uint64_t& out) {
    if (!*text) return "expected a number";
    uint64_t n = 0;
    for (const char* p = text; *p; ++p) {
        if (*p < '0' || *p > '9') return "expected a number";
        n = n * 10 + static_cast<unsigned>(*p - '0');
        if (n > max) return "number too large";
    }
    out = n;
    return nullptr;
}

const char* set_service(Service s) {
    if (test.service != Service::none) return "only one network test service at a time";
    test.service = s;
    return nullptr;
}

const cmdline::Option option_table[] = {
    {"test-ping", "ADDR", "ping ADDR (ICMP echo of several sizes, one fragmented), then stop", nullptr,
     [](const char* v) -> const char* {
         if (const char* problem = parse_ipv4(v, test.address)) return problem;
         return set_service(Service::ping);
     }},
    {"test-net-echo", "PORT", "serve TCP echo on PORT until a connection to PORT+1, then stop (discard on PORT+2, "
     "a source on PORT+3)", nullptr,
     [](const char* v) -> const char* {
         uint64_t port;
         if (const char* problem = parse_number(v, 0xfffc, port)) return problem;
         if (port == 0) return "port 0";
         test.port = static_cast<uint16_t>(port);
         return set_service(Service::echo);
     }},
    {"test-net-connect", "ADDR:PORT,BYTES", "send BYTES to the echo server at ADDR:PORT and check them, then stop",
     nullptr, [](const char* v) -> const char* {
         char text[64];
         if (strlen(v) >= sizeof text) return "expected ADDR:PORT,BYTES";
         strcpy(text, v);
         char* colon = strchr(text, ':');
         char* comma = colon ? strchr(colon, ',') : nullptr;
         if (!colon || !comma) return "expected ADDR:PORT,BYTES";
         *colon = *comma = '\0';
         if (const char* problem = parse_ipv4(text, test.address)) return problem;
         uint64_t port, bytes;
         if (parse_number(colon + 1, 0xffff, port) || port == 0) return "expected a port 1-65535";
         if (const char* problem = parse_number(comma + 1, uint64_t{1} << 40, bytes)) return problem;
         test.port = static_cast<uint16_t>(port);
         test.bytes = bytes;
         return set_service(Service::connect);
     }},
};

// The test streams' bytes: vary with the position, so a lost, repeated or reordered piece shows.
uint8_t pattern_byte(uint64_t offset) {
    uint32_t x = static_cast<uint32_t>(offset) * 2654435761u;
    return static_cast<uint8_t>(x >> 24 ^ x >> 11 ^ offset / 4093);
}

void fill_pattern(uint8_t* out, uint64_t offset, size_t length) {
    for (size_t i = 0; i < length; ++i) out[i] = pattern_byte(offset + i);
}

ip_addr_t lwip_address(uint32_t host_order) {
    ip_addr_t a;
    ip_addr_set_ip4_u32_val(a, lwip_htonl(host_order));
    return a;
}

// --- Ping ------------------------------------------------------------------------------------

struct Ping {
    sched::CondVar cv;
    uint16_t sequence = 0;
    uint16_t size = 0;
    bool answered = false, intact = false;
};

u8_t ping_received(void* arg, struct raw_pcb*, struct pbuf* p, const ip_addr_t*) {
    auto* ping = static_cast<Ping*>(arg);
    uint8_t first;
    if (pbuf_copy_partial(p, &first, 1, 0) != 1) return 0;
    u16_t ip_length = static_cast<u16_t>((first & 0x0f) * 4);
    struct icmp_echo_hdr header;
    if (pbuf_copy_partial(p, &header, sizeof header, ip_length) != sizeof header) return 0;
    if (header.type != ICMP_ER || lwip_ntohs(header.id) != ping_identifier || lwip_ntohs(header.seqno) != ping->sequence) {
        return 0;  // not ours: lwIP's ICMP goes on with it
    }
    bool intact = p->tot_len == ip_length + icmp_header_length + ping->size;
    uint8_t chunk[256];
    for (size_t at = 0; intact && at < ping->size; at += sizeof chunk) {
        size_t n = ping->size - at < sizeof chunk ? ping->size - at : sizeof chunk;
        pbuf_copy_partial(p, chunk, static_cast<u16_t>(n), static_cast<u16_t>(ip_length + icmp_header_length + at));
        for (size_t i = 0; i < n; ++i) intact &= chunk[i] == pattern_byte(ping->sequence * 7919u + at + i);
    }
    ping->answered = true;
    ping->intact = intact;
    ping->cv.broadcast();
    pbuf_free(p);
    return 1;
}

bool send_echo_request(struct raw_pcb* pcb, const ip_addr_t& to, const Ping& ping) {
    struct pbuf* p = pbuf_alloc(PBUF_IP, static_cast<u16_t>(icmp_header_length + ping.size), PBUF_RAM);
    if (!p) return false;
    auto* header = static_cast<struct icmp_echo_hdr*>(p->payload);
    header->type = ICMP_ECHO;
    header->code = 0;
    header->chksum = 0;
    header->id = lwip_htons(ping_identifier);
    header->seqno = lwip_htons(ping.sequence);
    fill_pattern(static_cast<uint8_t*>(p->payload) + icmp_header_length, ping.sequence * 7919u, ping.size);
    header->chksum = inet_chksum(p->payload, p->len);
    err_t err = raw_sendto(pcb, p, &to);
    pbuf_free(p);
    return err == ERR_OK;
}

int run_ping() {
    char target[16];
    format_ipv4(test.address, target, sizeof target);
    ip_addr_t to = lwip_address(test.address);
    Ping ping;
    CoreLock lock;
    struct raw_pcb* pcb = raw_new(IP_PROTO_ICMP);
    if (!pcb) {
        kprintf("mica: ping: out of memory\n");
        return 1;
    }
    raw_recv(pcb, ping_received, &ping);
    size_t replies = 0, requests = 0;
    for (uint16_t size : ping_sizes) {
        ping.size = size;
        ++ping.sequence;
        ping.answered = ping.intact = false;
        int attempt = 0;
        while (!ping.answered && attempt++ < ping_attempts) {
            ++requests;
            if (!send_echo_request(pcb, to, ping)) continue;
            while (!ping.answered && lock.wait(ping.cv, ping_timeout_ns)) {
            }
        }
        if (!ping.answered) {
            kprintf("mica: ping %s: no reply to %u bytes after %d requests\n", target, size, ping_attempts);
            break;
        }
        if (!ping.intact) {
            kprintf("mica: ping %s: the reply to %u bytes differs from the request\n", target, size);
            break;
        }
        ++replies;
        kprintf("mica: ping %s: %u bytes: reply %u ok\n", target, size, ping.sequence);
    }
    raw_remove(pcb);
    bool ok = replies == sizeof ping_sizes / sizeof ping_sizes[0];
    kprintf("mica: ping %s: %zu of %zu replies (%zu requests): %s\n", target, replies,
            sizeof ping_sizes / sizeof ping_sizes[0], requests, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

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

err_t control_accepted(void*, struct tcp_pcb* pcb, err_t err) {
    if (err != ERR_OK || !pcb) return ERR_VAL;
    fmt::snprintf(echo.summary, sizeof echo.summary,
                  "echo: %llu connections, %llu closed, %llu reset by the peer, %llu aborted, %llu refused, "
                  "%llu bytes received, %llu echoed, %llu datagrams echoed; %llu bytes discarded, %llu sourced\n",
                  (unsigned long long)echo.accepted, (unsigned long long)echo.completed,
                  (unsigned long long)echo.reset, (unsigned long long)echo.aborted, (unsigned long long)echo.refused,
                  (unsigned long long)echo.received, (unsigned long long)echo.echoed,
                  (unsigned long long)echo.datagrams, (unsigned long long)echo.discarded,
                  (unsigned long long)echo.sourced);
    tcp_recv(pcb, control_received);
    tcp_err(pcb, control_error);
    tcp_write(pcb, echo.summary, static_cast<u16_t>(strlen(echo.summary)), TCP_WRITE_FLAG_COPY);
    tcp_output(pcb);
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

int run_echo() {
    uint16_t control = static_cast<uint16_t>(test.port + 1);
    CoreLock lock;
    struct tcp_pcb* service = listen_on(test.port, echo_accepted);
    struct tcp_pcb* stopper = service ? listen_on(control, control_accepted) : nullptr;
    struct tcp_pcb* discard = stopper ? listen_on(static_cast<uint16_t>(test.port + 2), discard_accepted) : nullptr;
    struct tcp_pcb* source = discard ? listen_on(static_cast<uint16_t>(test.port + 3), source_accepted) : nullptr;
    struct udp_pcb* datagrams = udp_new();
    if (datagrams && udp_bind(datagrams, IP_ADDR_ANY, test.port) != ERR_OK) {
        udp_remove(datagrams);
        datagrams = nullptr;
    }
    if (!source || !datagrams) {
        kprintf("mica: test-net-echo: cannot listen on ports %u to %u\n", test.port, test.port + 3);
        struct tcp_pcb* listeners[] = {service, stopper, discard, source};
        for (struct tcp_pcb* l : listeners) {
            if (l) tcp_close(l);
        }
        if (datagrams) udp_remove(datagrams);
        return 1;
    }
    udp_recv(datagrams, datagram_received, nullptr);
    kprintf("mica: test-net-echo: serving TCP and UDP echo on port %u (control port %u, discard %u, source %u)\n",
            test.port, control, test.port + 2, test.port + 3);
    while (!echo.stop) lock.wait(echo.cv);
    struct tcp_pcb* listeners[] = {service, stopper, discard, source};
    for (struct tcp_pcb* l : listeners) tcp_close(l);
    udp_remove(datagrams);
    kprintf("mica: test-net-echo: %s", echo.summary);
    // Connections still open are the host's business; report them, but a clean run has none
    // that failed on this side.
    bool ok = echo.aborted == 0 && echo.refused == 0;
    if (echo.open) kprintf("mica: test-net-echo: %zu connections still open\n", echo.open);
    return ok ? 0 : 1;
}

// --- TCP client against an echo server ---------------------------------------------------------

struct Client {
    sched::CondVar cv;
    struct tcp_pcb* pcb = nullptr;
    bool connected = false, peer_closed = false;
    err_t error = ERR_OK;
    uint64_t received = 0, first_bad = ~uint64_t{0};
} client;  // the boot thread's while it runs; changed under the core lock

err_t client_connected(void*, struct tcp_pcb*, err_t) {
    client.connected = true;
    client.cv.broadcast();
    return ERR_OK;
}

err_t client_received(void*, struct tcp_pcb* pcb, struct pbuf* p, err_t) {
    if (!p) {
        client.peer_closed = true;
    } else {
        for (struct pbuf* q = p; q; q = q->next) {
            auto* bytes = static_cast<const uint8_t*>(q->payload);
            for (u16_t i = 0; i < q->len; ++i) {
                if (bytes[i] != pattern_byte(client.received + i) && client.first_bad == ~uint64_t{0}) {
                    client.first_bad = client.received + i;
                }
            }
            client.received += q->len;
        }
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
    }
    client.cv.broadcast();
    return ERR_OK;
}

err_t client_sent(void*, struct tcp_pcb*, u16_t) {
    client.cv.broadcast();
    return ERR_OK;
}

void client_error(void*, err_t err) {
    client.pcb = nullptr;  // lwIP has freed it
    client.error = err;
    client.cv.broadcast();
}

int run_connect() {
    char target[16];
    format_ipv4(test.address, target, sizeof target);
    ip_addr_t to = lwip_address(test.address);
    static uint8_t chunk[pattern_chunk];
    CoreLock lock;
    client.pcb = tcp_new();
    if (!client.pcb) {
        kprintf("mica: test-net-connect: out of memory\n");
        return 1;
    }
    tcp_recv(client.pcb, client_received);
    tcp_sent(client.pcb, client_sent);
    tcp_err(client.pcb, client_error);
    if (tcp_connect(client.pcb, &to, test.port, client_connected) != ERR_OK) {
        kprintf("mica: test-net-connect: cannot connect to %s:%u\n", target, test.port);
        tcp_abort(client.pcb);
        return 1;
    }
    bool timed_out = false;
    while (!client.connected && client.error == ERR_OK && !timed_out) timed_out = !lock.wait(client.cv, step_timeout_ns);
    if (!client.connected) {
        if (timed_out) kprintf("mica: test-net-connect: no connection to %s:%u (timed out)\n", target, test.port);
        else kprintf("mica: test-net-connect: no connection to %s:%u (lwIP error %d)\n", target, test.port, client.error);
        if (client.pcb) tcp_abort(client.pcb);
        return 1;
    }
    kprintf("mica: test-net-connect: connected to %s:%u, sending %llu bytes\n", target, test.port,
            (unsigned long long)test.bytes);
    uint64_t sent = 0;
    while (client.pcb && client.error == ERR_OK && !timed_out && client.received < test.bytes && !client.peer_closed) {
        bool wrote = false;
        while (sent < test.bytes) {
            size_t room = tcp_sndbuf(client.pcb);
            uint64_t left = test.bytes - sent;
            size_t n = left < room ? static_cast<size_t>(left) : room;
            if (n > sizeof chunk) n = sizeof chunk;
            if (n == 0) break;
            fill_pattern(chunk, sent, n);
            if (tcp_write(client.pcb, chunk, static_cast<u16_t>(n), TCP_WRITE_FLAG_COPY) != ERR_OK) break;
            sent += n;
            wrote = true;
        }
        if (wrote) tcp_output(client.pcb);
        uint64_t before = client.received;
        timed_out = !lock.wait(client.cv, step_timeout_ns) && client.received == before;
    }
    bool complete = client.received == test.bytes && client.first_bad == ~uint64_t{0};
    if (client.pcb) {
        struct tcp_pcb* pcb = client.pcb;
        tcp_arg(pcb, nullptr);
        tcp_recv(pcb, nullptr);
        tcp_sent(pcb, nullptr);
        tcp_err(pcb, nullptr);
        if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
        client.pcb = nullptr;
    }
    if (client.error == ERR_RST) {
        kprintf("mica: test-net-connect: connection reset by the peer after %llu of %llu bytes\n",
                (unsigned long long)client.received, (unsigned long long)test.bytes);
    } else if (client.error != ERR_OK) {
        kprintf("mica: test-net-connect: connection failed after %llu of %llu bytes (lwIP error %d)\n",
                (unsigned long long)client.received, (unsigned long long)test.bytes, client.error);
    } else if (timed_out) {
        kprintf("mica: test-net-connect: no progress for 30 s after %llu of %llu bytes\n",
                (unsigned long long)client.received, (unsigned long long)test.bytes);
    } else if (client.first_bad != ~uint64_t{0}) {
        kprintf("mica: test-net-connect: byte %llu came back wrong\n", (unsigned long long)client.first_bad);
    } else if (!complete) {
        kprintf("mica: test-net-connect: the peer closed after %llu of %llu bytes\n",
                (unsigned long long)client.received, (unsigned long long)test.bytes);
    }
    kprintf("mica: test-net-connect: %llu bytes sent, %llu received and checked: %s\n", (unsigned long long)sent,
            (unsigned long long)client.received, complete ? "ok" : "FAILED");
    return complete ? 0 : 1;
}

}  // namespace

cmdline::OptionTable test_command_line_options() {
    return {option_table, sizeof option_table / sizeof option_table[0]};
}

bool test_service_requested() { return test.service != Service::none; }

int run_test_service(bool verbose) {
    if (wait_for_addresses(verbose) != 0) {
        kprintf("mica: network test: an interface has no address\n");
        return 1;
    }
    switch (test.service) {
    case Service::ping: return run_ping();
    case Service::echo: return run_echo();
    case Service::connect: return run_connect();
    case Service::none: break;
    }
    return 0;
}

}  // namespace mica::net
