// The two files a static program's resolver reads (glibc's and musl's getaddrinfo), written
// into the root filesystem before the application starts unless the image brings its own
// (net/stack_files.cc). The text is built here, host-tested (tests/unit/test_net_options.cc).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::net {

inline constexpr const char* host_name = "mica";  // uname's nodename (libc/linux/time.cc)

// /etc/resolv.conf: one "nameserver a.b.c.d" line per server (host byte order), after a
// comment saying where they came from. The length written, or -1 if `size` is too small.
int format_resolv_conf(const uint32_t* servers, size_t count, const char* source, char* out, size_t size);
// /etc/hosts: localhost and the host name, both on 127.0.0.1 (not Debian's 127.0.1.1: lwIP's
// loopback interface accepts only its own address, not all of 127.0.0.0/8), so the name
// resolves whether or not an interface has an address. Only IPv4: the stack has no IPv6, so
// "::1 localhost" would send programs to a family the kernel refuses.
int format_hosts(const char* name, char* out, size_t size);

}  // namespace mica::net
