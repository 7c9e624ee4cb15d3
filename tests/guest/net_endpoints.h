// Blocking TCP and UDP endpoints over lwIP's raw API for the in-guest network tests: a small
// version of what the AF_INET socket layer does, written against net.h (CoreLock and its
// wait). State is guarded by the core lock; lwIP's callbacks (which hold it) queue data and
// wake the waiters. Every wait gives up after wait_timeout_ns without progress.
#pragma once

#include <mica/ktest.h>
#include <mica/net/net.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

namespace nettest {

// Generous: TCG on a loaded machine can be very slow, and a test never asserts speed.
inline constexpr uint64_t wait_timeout_ns = 30'000'000'000ull;
// Enough to drain the whole receive window (TCP_WND / TCP_MSS chains) with room to spare.
inline constexpr size_t receive_queue_slots = 512;

ip_addr_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

class TcpConnection {
public:
    // Connects to remote:port (from `local` when given) and waits for the handshake; nullptr
    // with the error in *result (ERR_RST: refused) when it fails.
    static TcpConnection* connect(const ip_addr_t& remote, uint16_t port, err_t* result,
                                  const ip_addr_t* local = nullptr);
    // Sends everything, waiting for room in the send buffer; false on an error or a timeout.
    bool write_all(const void* data, size_t length);
    // Up to `max` bytes, waiting for some: the count, 0 at the end of the stream, -1 on an
    // error or a timeout.
    long read(void* buffer, size_t max);
    bool read_exact(void* buffer, size_t length);
    // Sends FIN (half-close): the peer reads the end of the stream, this side still reads.
    bool shutdown_write();
    // The error lwIP reported (ERR_OK while none): ERR_RST for a reset by the peer.
    err_t error();
    // SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT (milliseconds, probes).
    bool set_keepalive(uint32_t idle_ms, uint32_t interval_ms, uint32_t probes);
    // Both end the connection and delete the object: close() with FIN, abort() with RST.
    void close();
    void abort();

private:
    friend class TcpListener;
    void attach(struct tcp_pcb* pcb);
    void detach_and_drop();
    static err_t on_recv(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err);
    static err_t on_sent(void* arg, struct tcp_pcb* pcb, u16_t length);
    static void on_err(void* arg, err_t err);
    static err_t on_connected(void* arg, struct tcp_pcb* pcb, err_t err);

    struct tcp_pcb* pcb_ = nullptr;
    struct pbuf* queue_[receive_queue_slots] = {};  // received chains, oldest at head_
    size_t head_ = 0, queued_ = 0, head_offset_ = 0;
    bool eof_ = false, connected_ = false;
    err_t error_ = ERR_OK;
    mica::sched::CondVar cv_;
};

class TcpListener {
public:
    // With `reuse_address` (SO_REUSEADDR), the port may be taken while connections that used
    // it linger in TIME_WAIT. nullptr on failure, with lwIP's error in *error when given.
    static TcpListener* listen(const ip_addr_t& local, uint16_t port, u8_t backlog = 64, bool reuse_address = true,
                               err_t* error = nullptr);
    // The next connection; nullptr after a timeout.
    TcpConnection* accept();
    // Stops listening, aborts connections not accepted, deletes the object.
    void close();

private:
    static err_t on_accept(void* arg, struct tcp_pcb* pcb, err_t err);
    static constexpr size_t max_pending = 128;
    struct tcp_pcb* pcb_ = nullptr;
    TcpConnection* pending_[max_pending] = {};
    size_t count_ = 0;
    mica::sched::CondVar cv_;
};

class UdpEndpoint {
public:
    static UdpEndpoint* bind(const ip_addr_t& local, uint16_t port);
    bool send_to(const void* data, size_t length, const ip_addr_t& to, uint16_t port);
    // The next datagram (truncated to `max`): its length, or -1 when none came within
    // `timeout_ns`.
    long receive(void* buffer, size_t max, ip_addr_t* from = nullptr, uint16_t* from_port = nullptr,
                 uint64_t timeout_ns = wait_timeout_ns);
    void close();

private:
    static void on_recv(void* arg, struct udp_pcb* pcb, struct pbuf* p, const ip_addr_t* address, u16_t port);
    struct Datagram {
        struct pbuf* p;
        ip_addr_t from;
        uint16_t port;
    };
    static constexpr size_t slots = 256;
    struct udp_pcb* pcb_ = nullptr;
    Datagram queue_[slots] = {};
    size_t head_ = 0, queued_ = 0;
    mica::sched::CondVar cv_;
};

// Runs fn(arg) on a new thread; join() waits for it.
struct Worker {
    mica::sched::Thread* thread = nullptr;
    void start(const char* name, void (*fn)(void*), void* arg) {
        thread = mica::sched::create(name, fn, arg);
        if (thread) mica::sched::start(thread);
    }
    void join() {
        if (thread) mica::sched::join(thread);
        thread = nullptr;
    }
};

inline constexpr uint64_t idle_timeout_ns = 10'000'000'000ull;

// At the end of a test: lwIP has let go of everything the test's traffic made it hold, so
// the runner's leak check compares like with like.
#define KEXPECT_NET_IDLE()                                                                     \
    do {                                                                                       \
        char why_[96] = "";                                                                    \
        if (!::mica::net::wait_until_idle(::nettest::idle_timeout_ns, why_, sizeof why_)) {    \
            ktest_context.fail(__FILE__, __LINE__, "lwIP is not idle: %s", why_);              \
        }                                                                                      \
    } while (0)

// A server thread (Worker) that accepts `connections` connections one after the other and
// echoes each until its end.
struct EchoServer {
    TcpListener* listener;
    size_t connections;
    size_t bytes = 0;
    bool ok = true;
};
void echo_server(void* echo_server_arg);

// A server thread that reads one connection to its end checking every byte against
// pattern_byte(offset, seed), then answers with the count (the client has only half-closed)
// and closes.
struct SinkServer {
    TcpListener* listener;
    uint32_t seed;
    size_t received = 0;
    size_t first_bad = ~size_t{0};
    bool ok = true;
};
void sink_server(void* sink_server_arg);
// The client's half: sends `bytes` of the pattern, half-closes, reads the server's count and
// its end of stream.
bool send_pattern(TcpConnection* c, size_t bytes, uint32_t seed, uint64_t* count);

// The byte at `offset` of the test streams: varies with the position so that a lost,
// repeated or reordered piece shows.
inline uint8_t pattern_byte(size_t offset, uint32_t seed) {
    uint32_t x = static_cast<uint32_t>(offset) * 2654435761u + seed;
    return static_cast<uint8_t>(x >> 24 ^ x >> 11 ^ offset / 4093);
}

}  // namespace nettest
