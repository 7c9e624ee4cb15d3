// TCP behaviour that needs a wire that can lose packets (the back-to-back test devices).
#include <mica/ktest.h>
#include <mica/net/net.h>
#include <mica/net/test_pair.h>

#include "lwip/netif.h"
#include "net_endpoints.h"

using namespace mica;
using namespace nettest;

// SO_KEEPALIVE: with the peer silent (every frame corrupted on the wire, so dropped), the
// probes go unanswered and the connection is aborted after the last one.
KTEST(net_tcp, keepalive_aborts_a_silent_connection) {
    net::testing::DevicePair* pair = net::testing::DevicePair::create({});
    KASSERT(pair);
    ip_addr_t first = ipv4(10, 0, 1, 1), second = ipv4(10, 0, 1, 2);
    {
        net::CoreLock lock;
        ip4_addr_t mask, gateway;
        IP4_ADDR(&mask, 255, 255, 255, 0);
        ip4_addr_set_zero(&gateway);
        netif_set_addr(net::find_netif(pair->first().name()), ip_2_ip4(&first), &mask, &gateway);
        netif_set_addr(net::find_netif(pair->second().name()), ip_2_ip4(&second), &mask, &gateway);
    }
    TcpListener* listener = TcpListener::listen(second, 7300);
    KASSERT(listener);
    err_t err;
    TcpConnection* client = TcpConnection::connect(second, 7300, &err, &first);
    KASSERT(client);
    TcpConnection* server = listener->accept();
    KASSERT(server);
    KEXPECT(client->set_keepalive(500, 250, 2));
    pair->corrupt_next(~size_t{0}, 0);
    char byte;
    KEXPECT_EQ(client->read(&byte, 1), -1);
    KEXPECT_EQ(client->error(), ERR_ABRT);
    pair->corrupt_next(0, 0);
    client->close();
    server->abort();
    listener->close();
    KEXPECT(pair->destroy());
    KEXPECT_NET_IDLE();
}
