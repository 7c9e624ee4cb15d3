// What the network test services' files share (net/test_services.cc: options, ping, the TCP
// client; net/test_echo.cc: the echo service). Not for other subsystems.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"

namespace mica::net::test_services {

inline constexpr size_t pattern_chunk = 4096;  // bytes of the pattern written at a time

// The test streams' bytes: vary with the position, so a lost, repeated or reordered piece shows.
uint8_t pattern_byte(uint64_t offset);
void fill_pattern(uint8_t* out, uint64_t offset, size_t length);
ip_addr_t lwip_address(uint32_t host_order);

// The services (boot thread, after the leases): exit statuses.
int run_ping(uint32_t address);
int run_echo(uint16_t port);
int run_connect(uint32_t address, uint16_t port, uint64_t bytes);

}  // namespace mica::net::test_services
