// TCP and UDP over the loopback interface (127.0.0.1) through lwIP's raw API, with server
// and client threads: echo, a large transfer checked byte by byte with a half-close, many
// connections at once, a refused connection, a reset in the middle of a transfer, datagrams.
// Each test ends with net::wait_until_idle(), so the runner's leak check sees only what the
// test itself leaked.
#include <mica/format.h>
#include <mica/ktest.h>
#include <mica/net/net.h>
#include <mica/sched/sched.h>
#include <stdlib.h>
#include <string.h>

#include "net_endpoints.h"

using namespace mica;
using namespace nettest;

namespace {

constexpr size_t large_transfer_bytes = 2 << 20;

ip_addr_t loopback() { return ipv4(127, 0, 0, 1); }

}  // namespace

KTEST(net_loopback, tcp_echo) {
    TcpListener* listener = TcpListener::listen(loopback(), 7001);
    KASSERT(listener);
    EchoServer server{listener, 1};
    Worker w;
    w.start("echo-server", echo_server, &server);
    KASSERT(w.thread);
    err_t err;
    TcpConnection* c = TcpConnection::connect(loopback(), 7001, &err);
    KEXPECT_EQ(err, ERR_OK);
    if (c) {
        static const char message[] = "Hello through lwIP's loopback interface";
        KEXPECT(c->write_all(message, sizeof message));
        char back[sizeof message] = {};
        KEXPECT(c->read_exact(back, sizeof back));
        KEXPECT(memcmp(back, message, sizeof message) == 0);
        KEXPECT(c->shutdown_write());
        char extra;
        KEXPECT_EQ(c->read(&extra, 1), 0);  // the server closed after our FIN
        c->close();
    }
    w.join();
    KEXPECT(server.ok);
    KEXPECT_EQ(server.bytes, sizeof("Hello through lwIP's loopback interface"));
    listener->close();
    KEXPECT_NET_IDLE();
}

KTEST(net_loopback, tcp_large_transfer_with_half_close) {
    TcpListener* listener = TcpListener::listen(loopback(), 7002);
    KASSERT(listener);
    SinkServer server{listener, 0x5eed};
    Worker w;
    w.start("sink-server", sink_server, &server);
    KASSERT(w.thread);
    err_t err;
    TcpConnection* c = TcpConnection::connect(loopback(), 7002, &err);
    KEXPECT_EQ(err, ERR_OK);
    uint64_t count = 0;
    if (c) {
        KEXPECT(send_pattern(c, large_transfer_bytes, 0x5eed, &count));
        c->close();
    }
    w.join();
    KEXPECT(server.ok);
    KEXPECT_EQ(server.received, large_transfer_bytes);
    KEXPECT_EQ(count, large_transfer_bytes);
    KEXPECT_EQ(server.first_bad, ~size_t{0});
    listener->close();
    KEXPECT_NET_IDLE();
}

KTEST(net_loopback, tcp_many_connections) {
    constexpr size_t connections = 40;
    TcpListener* listener = TcpListener::listen(loopback(), 7003);
    KASSERT(listener);
    // All connections are open at once: the client connects every one before it sends on any.
    TcpConnection* clients[connections] = {};
    size_t open = 0;
    for (size_t i = 0; i < connections; ++i) {
        err_t err;
        clients[i] = TcpConnection::connect(loopback(), 7003, &err);
        if (clients[i]) ++open;
        else ktest_context.fail(__FILE__, __LINE__, "connection %zu: error %d", i, err);
    }
    KEXPECT_EQ(open, connections);
    EchoServer server{listener, open};
    Worker w;
    w.start("echo-server", echo_server, &server);
    KASSERT(w.thread);
    // Each connection carries its own message; the echo must come back on the same one.
    for (size_t i = 0; i < connections; ++i) {
        if (!clients[i]) continue;
        char message[32], back[32] = {};
        int length = fmt::snprintf(message, sizeof message, "connection %zu of %zu", i, connections);
        KEXPECT(clients[i]->write_all(message, static_cast<size_t>(length)));
        KEXPECT(clients[i]->shutdown_write());
        KEXPECT(clients[i]->read_exact(back, static_cast<size_t>(length)));
        KEXPECT(memcmp(back, message, static_cast<size_t>(length)) == 0);
        char extra;
        KEXPECT_EQ(clients[i]->read(&extra, 1), 0);
        clients[i]->close();
    }
    w.join();
    KEXPECT(server.ok);
    listener->close();
    KEXPECT_NET_IDLE();
}

KTEST(net_loopback, tcp_connection_refused) {
    err_t err = ERR_OK;
    TcpConnection* c = TcpConnection::connect(loopback(), 7009, &err);
    KEXPECT(c == nullptr);
    KEXPECT_EQ(err, ERR_RST);  // what the socket layer turns into ECONNREFUSED
    if (c) c->close();
    KEXPECT_NET_IDLE();
}

namespace {

struct ResetServer {
    TcpListener* listener;
    size_t read_before_reset;
    size_t received = 0;
    bool ok = true;
};

// Reads a part of the stream, then resets the connection (RST) instead of closing it.
void reset_server(void* arg) {
    auto* s = static_cast<ResetServer*>(arg);
    TcpConnection* c = s->listener->accept();
    if (!c) {
        s->ok = false;
        return;
    }
    char buffer[4096];
    while (s->received < s->read_before_reset) {
        long n = c->read(buffer, sizeof buffer);
        if (n <= 0) {
            s->ok = false;
            break;
        }
        s->received += static_cast<size_t>(n);
    }
    c->abort();
}

}  // namespace

KTEST(net_loopback, tcp_reset_mid_transfer) {
    TcpListener* listener = TcpListener::listen(loopback(), 7004);
    KASSERT(listener);
    ResetServer server{listener, 64 * 1024};
    Worker w;
    w.start("reset-server", reset_server, &server);
    KASSERT(w.thread);
    err_t err;
    TcpConnection* c = TcpConnection::connect(loopback(), 7004, &err);
    KEXPECT_EQ(err, ERR_OK);
    if (c) {
        // Far more than the server reads: the writer must see the reset, not hang.
        char buffer[4096];
        memset(buffer, 'x', sizeof buffer);
        bool failed = false;
        for (size_t sent = 0; sent < (64 << 20) && !failed; sent += sizeof buffer) {
            failed = !c->write_all(buffer, sizeof buffer);
        }
        KEXPECT(failed);
        KEXPECT_EQ(c->error(), ERR_RST);
        KEXPECT_EQ(c->read(buffer, sizeof buffer), -1);
        c->close();
    }
    w.join();
    KEXPECT(server.ok);
    KEXPECT(server.received >= 64 * 1024);
    listener->close();
    KEXPECT_NET_IDLE();
}

KTEST(net_loopback, udp_datagrams) {
    constexpr size_t datagrams = 200;
    constexpr size_t max_size = 8000;
    UdpEndpoint* a = UdpEndpoint::bind(loopback(), 7101);
    UdpEndpoint* b = UdpEndpoint::bind(loopback(), 7102);
    KASSERT(a && b);
    auto* out = static_cast<uint8_t*>(malloc(max_size));
    auto* in = static_cast<uint8_t*>(malloc(max_size));
    // Sizes from 1 byte to beyond a 1500-byte frame; sent in bursts of ten before reading.
    size_t received = 0;
    for (size_t i = 0; i < datagrams; i += 10) {
        for (size_t j = i; j < i + 10; ++j) {
            size_t size = 1 + j * 37 % max_size;
            for (size_t k = 0; k < size; ++k) out[k] = pattern_byte(k, static_cast<uint32_t>(j));
            KEXPECT(a->send_to(out, size, loopback(), 7102));
        }
        for (size_t j = i; j < i + 10; ++j) {
            size_t size = 1 + j * 37 % max_size;
            ip_addr_t from;
            uint16_t port = 0;
            long n = b->receive(in, max_size, &from, &port);
            KEXPECT_EQ(n, static_cast<long>(size));
            if (n != static_cast<long>(size)) continue;
            bool same = true;
            for (size_t k = 0; k < size; ++k) same &= in[k] == pattern_byte(k, static_cast<uint32_t>(j));
            KEXPECT(same);
            KEXPECT_EQ(port, 7101);
            KEXPECT(ip4_addr_get_u32(ip_2_ip4(&from)) == PP_HTONL(LWIP_MAKEU32(127, 0, 0, 1)));
            ++received;
        }
    }
    KEXPECT_EQ(received, datagrams);
    free(out);
    free(in);
    a->close();
    b->close();
    KEXPECT_NET_IDLE();
}

// SO_REUSEADDR: a server that closed first leaves its side of the connection in TIME_WAIT on
// the port; binding the port again needs the option, as on Linux.
KTEST(net_loopback, tcp_reuse_address) {
    TcpListener* listener = TcpListener::listen(loopback(), 7005);
    KASSERT(listener);
    err_t err;
    TcpConnection* client = TcpConnection::connect(loopback(), 7005, &err);
    KASSERT(client);
    TcpConnection* server = listener->accept();
    KASSERT(server);
    listener->close();
    server->close();  // the active close: the server's end goes to TIME_WAIT
    char byte;
    KEXPECT_EQ(client->read(&byte, 1), 0);
    client->close();
    err = ERR_OK;
    TcpListener* again = TcpListener::listen(loopback(), 7005, 1, false, &err);
    KEXPECT(again == nullptr);
    KEXPECT_EQ(err, ERR_USE);
    if (again) again->close();
    again = TcpListener::listen(loopback(), 7005, 1, true);
    KEXPECT(again != nullptr);
    if (again) again->close();
    KEXPECT_NET_IDLE();
}
