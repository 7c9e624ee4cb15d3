// AF_INET SOCK_DGRAM: UDP on one lwIP udp_pcb (private to net/inet/), with Linux's answers
// (net/ipv4/udp.c, datagram.c) as the reference.
//
// What maps to what:
//   * send: the datagram is copied once from the application into a pbuf (outside the core
//     lock), then udp_sendto/udp_send under it. Up to 65507 bytes (IPv4's limit).
//   * receive: lwIP's recv callback queues each datagram's pbuf with its source; a read
//     takes it off the queue under the lock and copies it out without the lock (a peek takes
//     a reference instead). SO_RCVBUF bounds the queue (payload plus a per-datagram
//     overhead); what does not fit is dropped, as UDP drops.
//   * Linux reports an ICMP "port unreachable" as ECONNREFUSED on a connected socket. lwIP
//     hands ICMP errors to nobody, so for destinations on this machine (where Linux answers
//     at once) the socket looks for a receiver itself and sets ECONNREFUSED when none is
//     bound; glibc's resolver depends on it when no nameserver runs.
//
// State is guarded by the core lock, except ready_ (atomic).
#pragma once

#include "inet_socket.h"

struct udp_pcb;
struct pbuf;

namespace mica::net {

class UdpSocket final : public InetSocket {
public:
    static int create(Socket** out);
    UdpSocket();  // use create()
    ~UdpSocket() override;

    int64_t ioctl(unsigned long request, uint64_t arg) override;

protected:
    int bind_address(const SocketAddress& address) override;
    int start_connect(const SocketAddress& address) override;
    int shutdown_socket(int how) override;
    int64_t try_send(Message& message) override;
    int64_t try_receive(Message& message) override;
    int name(SocketAddress* out, bool peer) override;
    uint32_t socket_poll() override { return __atomic_load_n(&ready_, __ATOMIC_ACQUIRE); }
    int get_family_option(int level, int name, void* value, uint32_t* length) override;
    int set_family_option(int level, int name, const void* value, uint32_t length) override;
    void option_changed(int name) override;
    void apply_ip_options() override;

private:
    friend struct UdpCallbacks;
    struct Datagram {
        struct pbuf* p;
        Ipv4Endpoint from;
    };

    // ---- core lock held ----
    int ensure_pcb();
    void apply_options();  // SO_REUSEADDR, SO_BROADCAST, TTL, TOS to the pcb
    void refresh(uint32_t force = 0);
    uint32_t compute_ready() const;
    bool enqueue(struct pbuf* p, const Ipv4Endpoint& from);  // false: dropped
    Datagram dequeue();
    void check_receiver(const Ipv4Endpoint& to);  // ECONNREFUSED when nothing local listens

    struct udp_pcb* pcb_ = nullptr;
    bool connected_ = false, explicitly_bound_ = false;
    bool shut_read_ = false, shut_write_ = false;
    Ipv4Endpoint remote_;
    uint32_t source_ = 0;  // a connected socket's source address (getsockname)

    // Received datagrams: a ring that grows (doubling) as needed.
    Datagram* queue_ = nullptr;
    size_t capacity_ = 0, head_ = 0, count_ = 0;
    size_t queued_bytes_ = 0;  // payload plus overhead, against SO_RCVBUF

    uint32_t ready_ = 0;
};

}  // namespace mica::net
