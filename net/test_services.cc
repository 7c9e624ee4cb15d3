// The kernel-level network test services (test_services.h): the options, the ping and the
// TCP client (the echo service is test_echo.cc), over lwIP's raw API under the core lock:
// callbacks queue and signal, the boot thread waits on a condition variable.
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
#include "test_services_internal.h"

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
     "a source on PORT+3, the summary so far on PORT+4)", nullptr,
     [](const char* v) -> const char* {
         uint64_t port;
         if (const char* problem = parse_number(v, 0xfffb, port)) return problem;
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

}  // namespace

namespace test_services {

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

namespace {


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

}  // namespace

int run_ping(uint32_t address) {
    char target[16];
    format_ipv4(address, target, sizeof target);
    ip_addr_t to = lwip_address(address);
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

// --- TCP client against an echo server ---------------------------------------------------------

namespace {


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

}  // namespace

int run_connect(uint32_t address, uint16_t port, uint64_t bytes) {
    char target[16];
    format_ipv4(address, target, sizeof target);
    ip_addr_t to = lwip_address(address);
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
    if (tcp_connect(client.pcb, &to, port, client_connected) != ERR_OK) {
        kprintf("mica: test-net-connect: cannot connect to %s:%u\n", target, port);
        tcp_abort(client.pcb);
        return 1;
    }
    bool timed_out = false;
    while (!client.connected && client.error == ERR_OK && !timed_out) timed_out = !lock.wait(client.cv, step_timeout_ns);
    if (!client.connected) {
        if (timed_out) kprintf("mica: test-net-connect: no connection to %s:%u (timed out)\n", target, port);
        else kprintf("mica: test-net-connect: no connection to %s:%u (lwIP error %d)\n", target, port, client.error);
        if (client.pcb) tcp_abort(client.pcb);
        return 1;
    }
    kprintf("mica: test-net-connect: connected to %s:%u, sending %llu bytes\n", target, port,
            (unsigned long long)bytes);
    uint64_t sent = 0;
    while (client.pcb && client.error == ERR_OK && !timed_out && client.received < bytes && !client.peer_closed) {
        bool wrote = false;
        while (sent < bytes) {
            size_t room = tcp_sndbuf(client.pcb);
            uint64_t left = bytes - sent;
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
    bool complete = client.received == bytes && client.first_bad == ~uint64_t{0};
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
                (unsigned long long)client.received, (unsigned long long)bytes);
    } else if (client.error != ERR_OK) {
        kprintf("mica: test-net-connect: connection failed after %llu of %llu bytes (lwIP error %d)\n",
                (unsigned long long)client.received, (unsigned long long)bytes, client.error);
    } else if (timed_out) {
        kprintf("mica: test-net-connect: no progress for 30 s after %llu of %llu bytes\n",
                (unsigned long long)client.received, (unsigned long long)bytes);
    } else if (client.first_bad != ~uint64_t{0}) {
        kprintf("mica: test-net-connect: byte %llu came back wrong\n", (unsigned long long)client.first_bad);
    } else if (!complete) {
        kprintf("mica: test-net-connect: the peer closed after %llu of %llu bytes\n",
                (unsigned long long)client.received, (unsigned long long)bytes);
    }
    kprintf("mica: test-net-connect: %llu bytes sent, %llu received and checked: %s\n", (unsigned long long)sent,
            (unsigned long long)client.received, complete ? "ok" : "FAILED");
    return complete ? 0 : 1;
}

}  // namespace test_services

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
    case Service::ping: return test_services::run_ping(test.address);
    case Service::echo: return test_services::run_echo(test.port);
    case Service::connect: return test_services::run_connect(test.address, test.port, test.bytes);
    case Service::none: break;
    }
    return 0;
}

}  // namespace mica::net
