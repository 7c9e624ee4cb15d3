// The network boot options (--ip, --defaultgw, --nameserver) and the resolver files they
// lead to: net/options.cc and net/resolver_files.cc on the host.
#include <gtest/gtest.h>
#include <mica/cmdline.h>
#include <mica/net/options.h>
#include <mica/net/resolver_files.h>

#include <string>

using namespace mica::net;

namespace {

uint32_t ip(const char* text) {
    uint32_t value = 0;
    const char* problem = parse_ipv4(text, value);
    EXPECT_EQ(problem, nullptr) << text << ": " << problem;
    return value;
}

std::string problem_of(const char* text) {
    uint32_t value = 0;
    const char* problem = parse_ipv4(text, value);
    return problem ? problem : "";
}

TEST(NetOptions, ParsesDottedQuads) {
    EXPECT_EQ(ip("0.0.0.0"), 0u);
    EXPECT_EQ(ip("192.0.2.15"), 0xc000020fu);
    EXPECT_EQ(ip("255.255.255.255"), 0xffffffffu);
    EXPECT_EQ(ip("10.0.0.1"), 0x0a000001u);
}

TEST(NetOptions, RefusesMalformedAddresses) {
    for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.1000", "a.b.c.d", "1..2.3",
                            "1.2.3.", ".1.2.3", "-1.2.3.4", "+1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4x",
                            "0x1.2.3.4", "1,2,3,4"}) {
        EXPECT_NE(problem_of(bad), "") << "'" << bad << "' was accepted";
    }
    // inet_aton would read a leading zero as octal; refused rather than guessed.
    EXPECT_EQ(problem_of("010.0.0.1"), "a number with a leading zero (octal?)");
    EXPECT_EQ(problem_of("1.2.3.256"), "each number must be 0-255");
}

TEST(NetOptions, Netmasks) {
    EXPECT_TRUE(netmask_is_contiguous(ip("255.255.255.0")));
    EXPECT_TRUE(netmask_is_contiguous(ip("255.255.255.255")));
    EXPECT_TRUE(netmask_is_contiguous(ip("255.255.254.0")));
    EXPECT_TRUE(netmask_is_contiguous(ip("0.0.0.0")));
    EXPECT_FALSE(netmask_is_contiguous(ip("255.255.0.255")));
    EXPECT_FALSE(netmask_is_contiguous(ip("0.255.255.255")));
    EXPECT_FALSE(netmask_is_contiguous(ip("255.255.255.254") ^ 0x3));
    EXPECT_EQ(netmask_prefix_length(ip("255.255.255.0")), 24u);
    EXPECT_EQ(netmask_prefix_length(ip("255.255.240.0")), 20u);
    EXPECT_EQ(netmask_prefix_length(ip("255.255.255.255")), 32u);
    EXPECT_EQ(netmask_prefix_length(0), 0u);
}

TEST(NetOptions, StaticAddress) {
    Options o;
    ASSERT_EQ(add_ip_option(o, "eth0,192.0.2.15,255.255.255.0"), nullptr) << o.error;
    ASSERT_EQ(add_ip_option(o, "eth1,10.1.2.3,255.0.0.0"), nullptr) << o.error;
    ASSERT_EQ(o.address_count, 2u);
    const StaticAddress* a = o.address_for("eth0");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->address, ip("192.0.2.15"));
    EXPECT_EQ(a->netmask, ip("255.255.255.0"));
    EXPECT_EQ(o.address_for("eth2"), nullptr);
    // Point-to-point prefixes have no network or broadcast address.
    EXPECT_EQ(add_ip_option(o, "eth2,192.0.2.0,255.255.255.254"), nullptr) << o.error;
    EXPECT_EQ(add_ip_option(o, "eth3,192.0.2.255,255.255.255.255"), nullptr) << o.error;
}

std::string ip_error(const char* value) {
    Options o;
    const char* problem = add_ip_option(o, value);
    EXPECT_EQ(o.address_count, problem ? 0u : 1u);
    return problem ? problem : "";
}

TEST(NetOptions, StaticAddressErrorsSayWhatIsWrong) {
    const std::string usage = "expected IFACE,ADDR,NETMASK (e.g. eth0,192.0.2.15,255.255.255.0)";
    EXPECT_EQ(ip_error("eth0"), usage);
    EXPECT_EQ(ip_error("eth0,192.0.2.15"), usage);
    EXPECT_EQ(ip_error("eth0,192.0.2.15,255.255.255.0,x"), usage);
    EXPECT_EQ(ip_error(",192.0.2.15,255.255.255.0"), "the interface name is empty; " + usage);
    EXPECT_EQ(ip_error("a-very-long-interface-name,192.0.2.15,255.255.255.0"),
              "the interface name is longer than 15 characters");
    EXPECT_EQ(ip_error("et h0,192.0.2.15,255.255.255.0"),
              "'et h0' is not an interface name (letters, digits, '_', '-', '.')");
    EXPECT_EQ(ip_error("lo,127.0.0.2,255.0.0.0"), "lo is the loopback interface: it always has 127.0.0.1/8");
    EXPECT_EQ(ip_error("eth0,192.0.2.256,255.255.255.0"),
              "address '192.0.2.256' is not an IPv4 address: each number must be 0-255");
    EXPECT_EQ(ip_error("eth0,192.0.2.15,255.255.255"),
              "netmask '255.255.255' is not an IPv4 address: expected four numbers a.b.c.d");
    EXPECT_EQ(ip_error("eth0,192.0.2.15,255.255.0.255"),
              "netmask 255.255.0.255 is not contiguous (ones, then zeros: 255.255.255.0 is /24)");
    EXPECT_EQ(ip_error("eth0,192.0.2.15,0.0.0.0"), "netmask 0.0.0.0 would put every address on this link");
    EXPECT_EQ(ip_error("eth0,0.0.0.0,255.255.255.0"), "address 0.0.0.0: 0.0.0.0 is not a host address");
    EXPECT_EQ(ip_error("eth0,127.0.0.5,255.0.0.0"),
              "address 127.0.0.5: 127.0.0.0/8 belongs to the loopback interface");
    EXPECT_EQ(ip_error("eth0,224.0.0.1,255.255.255.0"),
              "address 224.0.0.1: multicast and reserved addresses (224.0.0.0/3) cannot be used");
    EXPECT_EQ(ip_error("eth0,192.0.2.0,255.255.255.0"),
              "192.0.2.0 is the network address of its subnet, not a host address");
    EXPECT_EQ(ip_error("eth0,192.0.2.255,255.255.255.0"),
              "192.0.2.255 is the broadcast address of its subnet, not a host address");
}

TEST(NetOptions, OneAddressPerInterfaceAndALimit) {
    Options o;
    ASSERT_EQ(add_ip_option(o, "eth0,192.0.2.15,255.255.255.0"), nullptr);
    EXPECT_STREQ(add_ip_option(o, "eth0,192.0.2.16,255.255.255.0"), "eth0 is given an address twice");
    for (size_t i = 1; i < max_static_addresses; ++i) {
        std::string value = "eth" + std::to_string(i) + ",10.0." + std::to_string(i) + ".1,255.255.255.0";
        ASSERT_EQ(add_ip_option(o, value.c_str()), nullptr) << o.error;
    }
    EXPECT_STREQ(add_ip_option(o, "eth9,10.9.0.1,255.255.255.0"), "too many --ip options (at most 8)");
}

TEST(NetOptions, Gateway) {
    Options o;
    EXPECT_STREQ(add_gateway_option(o, "192.0.2"), "gateway '192.0.2' is not an IPv4 address: expected four numbers a.b.c.d");
    EXPECT_STREQ(add_gateway_option(o, "255.255.255.255"), "gateway 255.255.255.255: 255.255.255.255 is the broadcast address");
    EXPECT_FALSE(o.have_gateway);
    ASSERT_EQ(add_gateway_option(o, "192.0.2.2"), nullptr);
    EXPECT_TRUE(o.have_gateway);
    EXPECT_EQ(o.gateway, ip("192.0.2.2"));
    EXPECT_STREQ(add_gateway_option(o, "192.0.2.3"), "given more than once");
}

TEST(NetOptions, Nameservers) {
    Options o;
    EXPECT_STREQ(add_nameserver_option(o, "0.0.0.0"), "nameserver 0.0.0.0: 0.0.0.0 is not a host address");
    EXPECT_STREQ(add_nameserver_option(o, "dns.example"),
                 "nameserver 'dns.example' is not an IPv4 address: expected four decimal numbers a.b.c.d");
    ASSERT_EQ(add_nameserver_option(o, "192.0.2.3"), nullptr);
    ASSERT_EQ(add_nameserver_option(o, "127.0.0.1"), nullptr);  // a local resolver is fine
    ASSERT_EQ(add_nameserver_option(o, "198.51.100.1"), nullptr);
    EXPECT_STREQ(add_nameserver_option(o, "198.51.100.2"), "at most 3 nameservers (lwIP's DNS_MAX_SERVERS)");
    ASSERT_EQ(o.nameserver_count, 3u);
    EXPECT_EQ(o.nameservers[0], ip("192.0.2.3"));
    EXPECT_EQ(o.nameservers[2], ip("198.51.100.1"));
}

TEST(NetOptions, InterfacesAreCheckedOnceKnown) {
    Options o;
    ASSERT_EQ(add_ip_option(o, "eth1,192.0.2.15,255.255.255.0"), nullptr);
    EXPECT_STREQ(check_options(o, nullptr, 0),
                 "option '--ip': no interface eth1: this machine has no Ethernet interface");
    const char* one[] = {"eth0"};
    EXPECT_STREQ(check_options(o, one, 1), "option '--ip': no interface eth1 (this machine has eth0)");
    const char* two[] = {"eth0", "eth1"};
    EXPECT_EQ(check_options(o, two, 2), nullptr);
    Options none;
    EXPECT_EQ(check_options(none, nullptr, 0), nullptr);  // DHCP wherever there is an interface
}

// A gateway must be on an --ip subnet, unless an interface is left to DHCP (the lease's
// subnet decides, when it arrives).
TEST(NetOptions, GatewayMustBeOnAStaticSubnetOrLeftToDhcp) {
    const char* names[] = {"eth0"};
    const char* two[] = {"eth0", "eth1"};
    Options o;
    ASSERT_EQ(add_gateway_option(o, "192.0.2.1"), nullptr);
    EXPECT_STREQ(check_options(o, nullptr, 0),
                 "option '--defaultgw': 192.0.2.1 is not on the subnet of any --ip address (and no interface uses "
                 "DHCP)");
    EXPECT_EQ(check_options(o, names, 1), nullptr);  // eth0 runs DHCP
    ASSERT_EQ(add_ip_option(o, "eth0,192.0.3.15,255.255.255.0"), nullptr);
    EXPECT_STREQ(check_options(o, names, 1),
                 "option '--defaultgw': 192.0.2.1 is not on the subnet of any --ip address (and no interface uses "
                 "DHCP)");
    EXPECT_EQ(check_options(o, two, 2), nullptr);  // eth1 runs DHCP
    Options good;
    ASSERT_EQ(add_ip_option(good, "eth0,192.0.2.15,255.255.255.0"), nullptr);
    ASSERT_EQ(add_gateway_option(good, "192.0.2.1"), nullptr);
    EXPECT_EQ(check_options(good, names, 1), nullptr);
}

// The kernel's table (net/stack.cc) applies the same functions; parsed through the command
// line, a problem names its option.
Options parsed;
const mica::cmdline::Option net_table[] = {
    {"ip", "IFACE,ADDR,NETMASK", "", nullptr, [](const char* v) { return add_ip_option(parsed, v); }},
    {"defaultgw", "ADDR", "", nullptr, [](const char* v) { return add_gateway_option(parsed, v); }},
    {"nameserver", "ADDR", "", nullptr, [](const char* v) { return add_nameserver_option(parsed, v); }},
};

std::string parse_line(std::string text) {
    parsed = Options{};
    static std::string storage;
    storage = std::move(text);
    mica::cmdline::Result result;
    mica::cmdline::parse(storage.data(), net_table, std::size(net_table), result);
    return result.ok ? "" : result.error;
}

TEST(NetOptions, ThroughTheCommandLine) {
    EXPECT_EQ(parse_line("--ip=eth0,192.0.2.15,255.255.255.0 --defaultgw=192.0.2.2 --nameserver=192.0.2.3 app"), "");
    EXPECT_EQ(parsed.address_count, 1u);
    EXPECT_TRUE(parsed.have_gateway);
    EXPECT_EQ(parsed.nameserver_count, 1u);
    EXPECT_EQ(parse_line("--ip=eth0,192.0.2.15,255.255.0.255"),
              "option '--ip': netmask 255.255.0.255 is not contiguous (ones, then zeros: 255.255.255.0 is /24)");
    EXPECT_EQ(parse_line("--ip"), "option '--ip' needs a value: --ip=IFACE,ADDR,NETMASK");
    EXPECT_EQ(parse_line("--nameserver=1.1.1.1 --nameserver=1.0.0.1 --nameserver=8.8.8.8 --nameserver=8.8.4.4"),
              "option '--nameserver': at most 3 nameservers (lwIP's DNS_MAX_SERVERS)");
}

TEST(NetResolverFiles, ResolvConf) {
    char text[256];
    const uint32_t servers[] = {ip("192.0.2.3"), ip("198.51.100.53")};
    int n = format_resolv_conf(servers, 2, "from --nameserver", text, sizeof text);
    EXPECT_STREQ(text, "# Written by the Mica kernel (from --nameserver)\nnameserver 192.0.2.3\nnameserver 198.51.100.53\n");
    EXPECT_EQ(n, static_cast<int>(strlen(text)));
    n = format_resolv_conf(nullptr, 0, "no nameserver known: give --nameserver", text, sizeof text);
    EXPECT_STREQ(text, "# Written by the Mica kernel (no nameserver known: give --nameserver)\n");
    // Too small: -1, never a truncated file.
    EXPECT_EQ(format_resolv_conf(servers, 2, "from DHCP", text, 60), -1);
    EXPECT_EQ(format_resolv_conf(servers, 2, "from DHCP", text, 0), -1);
}

TEST(NetResolverFiles, Hosts) {
    char text[128];
    int n = format_hosts("mica", text, sizeof text);
    EXPECT_STREQ(text, "127.0.0.1\tlocalhost mica\n");
    EXPECT_EQ(n, static_cast<int>(strlen(text)));
    EXPECT_EQ(format_hosts("mica", text, 10), -1);
}

}  // namespace
