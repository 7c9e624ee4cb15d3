// Kernel-level network test services (CONFIG_TEST_OPTIONS, net/test_services.cc): what the
// boot tests drive over a real NIC (tests/boot/net_test.py) before the application socket
// layer exists, and what the network measurements time (tools/bench/net-echo).
//
//   --test-ping=ADDR        ICMP echo requests to ADDR: several sizes, one fragmented both ways
//   --test-net-echo=PORT    TCP echo on PORT for any number of connections at once, and UDP
//                           echo on the same port; a connection to PORT+1 (the control
//                           port) receives a one-line summary, and when the host closes it
//                           the kernel stops; PORT+2 discards what it receives, PORT+3
//                           sends until the host closes (one-way measurements), PORT+4
//                           gives the summary so far and closes (the service goes on)
//   --test-net-connect=ADDR:PORT,BYTES
//                           connects to ADDR:PORT (an echo server), sends BYTES bytes of a
//                           pattern and checks that the same bytes come back
//
// Each waits for the Ethernet interfaces' addresses first (DHCP) and prints what it did; the
// exit status is 0 when all went as it should, 1 otherwise.
#pragma once

#include <mica/cmdline.h>

namespace mica::net {

cmdline::OptionTable test_command_line_options();
// Whether the command line asked for a service.
bool test_service_requested();
// Runs it (after init() and the banner) and returns the exit status.
int run_test_service(bool verbose);

}  // namespace mica::net
