// The network boot options (net/options.cc: --ip=IFACE,ADDR,NETMASK, --defaultgw=ADDR,
// --nameserver=ADDR) on arbitrary values, several in a row as a command line gives them,
// then the checks between them: each either applies or names its problem, the counts never
// pass their limits, what was stored is valid (a contiguous netmask, an interface name that
// fits) and an address prints back to what parses to it.
#include <mica/net/options.h>

#include "fuzz.h"

using namespace mica::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    static Options options;
    options = Options{};
    for (int word = 0; word < 12 && !in.done(); ++word) {
        unsigned kind = in.byte() % 3;
        char value[64];
        size_t n = in.bytes(value, sizeof value - 1);
        value[n] = '\0';
        size_t addresses = options.address_count, servers = options.nameserver_count;
        const char* problem = kind == 0   ? add_ip_option(options, value)
                              : kind == 1 ? add_gateway_option(options, value)
                                          : add_nameserver_option(options, value);
        FUZZ_CHECK(strnlen(options.error, sizeof options.error) < sizeof options.error);
        if (problem) {
            FUZZ_CHECK(problem[0] != '\0');
            FUZZ_CHECK(options.address_count == addresses && options.nameserver_count == servers);
            continue;
        }
        FUZZ_CHECK(options.address_count <= max_static_addresses);
        FUZZ_CHECK(options.nameserver_count <= max_nameservers);
        if (kind == 0) {
            FUZZ_CHECK(options.address_count == addresses + 1);
            const StaticAddress& a = options.addresses[options.address_count - 1];
            FUZZ_CHECK(strnlen(a.interface, sizeof a.interface) < sizeof a.interface && a.interface[0]);
            FUZZ_CHECK(netmask_is_contiguous(a.netmask));
            FUZZ_CHECK(options.address_for(a.interface) != nullptr);
        }
    }
    for (size_t i = 0; i < options.nameserver_count; ++i) {
        char text[16];
        uint32_t back = 0;
        format_ipv4(options.nameservers[i], text, sizeof text);
        FUZZ_CHECK(parse_ipv4(text, back) == nullptr && back == options.nameservers[i]);
    }
    const char* names[] = {"eth0", "eth1"};
    const char* problem = check_options(options, names, in.byte() % 3);
    FUZZ_CHECK(!problem || (problem[0] && strnlen(options.error, sizeof options.error) < sizeof options.error));
    return 0;
}
