#include <gtest/gtest.h>
#include <mica/cmdline.h>
#include <mica/virtio/mmio_spec.h>

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

namespace {

// Records what the options applied, in order.
std::vector<std::string> applied;

const char* const colours[] = {"red", "green", nullptr};

const mica::cmdline::Option options[] = {
    {"help", nullptr, "show help", nullptr, [](const char*) -> const char* { applied.push_back("help"); return nullptr; }},
    {"ip", "ADDR", "address", nullptr, [](const char* v) -> const char* { applied.push_back(std::string("ip=") + v); return nullptr; }},
    {"colour", "NAME", "a colour", colours, [](const char* v) -> const char* { applied.push_back(std::string("colour=") + v); return nullptr; }},
    {"level", "N", "a number", nullptr, [](const char* v) -> const char* {
         return std::string(v) == "11" ? "too loud" : (applied.push_back(std::string("level=") + v), nullptr);
     }},
    // What main.cc does with the words QEMU microvm and Firecracker append.
    {"virtio_mmio.device", "SIZE@ADDR:IRQ[:ID]", "a virtio-mmio device", nullptr,
     [](const char* v) -> const char* {
         mica::virtio::MmioDeviceSpec spec;
         if (const char* problem = mica::virtio::parse_mmio_device(v, spec)) return problem;
         applied.push_back(std::string("mmio=") + std::to_string(spec.base) + "," + std::to_string(spec.irq));
         return nullptr;
     },
     true},
};

struct Parsed {
    mica::cmdline::Result result;
    std::vector<std::string> args() const {
        std::vector<std::string> v;
        for (size_t i = 0; i < result.arg_count; ++i) v.emplace_back(result.args[i]);
        return v;
    }
};

Parsed parse(std::string text) {
    applied.clear();
    static std::string storage;  // the parser keeps pointers into the text
    storage = std::move(text);
    Parsed p;
    mica::cmdline::parse(storage.data(), options, std::size(options), p.result);
    return p;
}

TEST(Cmdline, EmptyIsOk) {
    auto p = parse("");
    EXPECT_TRUE(p.result.ok);
    EXPECT_EQ(p.result.arg_count, 0u);
    EXPECT_EQ(p.result.args[0], nullptr);
}

TEST(Cmdline, OptionsThenApplicationArguments) {
    auto p = parse("  --help --ip=10.0.0.2   /bin/app --not-an-option x ");
    ASSERT_TRUE(p.result.ok) << p.result.error;
    EXPECT_EQ(applied, (std::vector<std::string>{"help", "ip=10.0.0.2"}));
    EXPECT_EQ(p.args(), (std::vector<std::string>{"/bin/app", "--not-an-option", "x"}));
    EXPECT_EQ(p.result.args[3], nullptr);
}

TEST(Cmdline, DoubleDashEndsOptions) {
    auto p = parse("--help -- --ip=1 y");
    ASSERT_TRUE(p.result.ok);
    EXPECT_EQ(applied, (std::vector<std::string>{"help"}));
    EXPECT_EQ(p.args(), (std::vector<std::string>{"--ip=1", "y"}));
}

TEST(Cmdline, QuotesAndEscapes) {
    auto p = parse(R"(app "two words" 'single \ quoted' back\ slash "esc\"aped" '')");
    ASSERT_TRUE(p.result.ok) << p.result.error;
    EXPECT_EQ(p.args(), (std::vector<std::string>{"app", "two words", "single \\ quoted", "back slash", "esc\"aped", ""}));
}

TEST(Cmdline, UnknownOptionListsValidOnes) {
    auto p = parse("--help --bogus=1");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "unknown option '--bogus'; valid options: --help, --ip=ADDR, --colour=NAME, --level=N");
}

TEST(Cmdline, MissingAndUnexpectedValues) {
    auto p = parse("--ip");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "option '--ip' needs a value: --ip=ADDR");
    p = parse("--help=yes");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "option '--help' takes no value (got 'yes')");
}

TEST(Cmdline, ChoicesAreChecked) {
    auto p = parse("--colour=green");
    EXPECT_TRUE(p.result.ok);
    p = parse("--colour=blue");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "invalid value 'blue' for '--colour'; expected one of: red green");
    EXPECT_TRUE(applied.empty());
}

TEST(Cmdline, ApplyErrorsStopParsing) {
    auto p = parse("--level=3 --level=11 --help");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "option '--level': too loud");
    EXPECT_EQ(applied, (std::vector<std::string>{"level=3"}));
}

TEST(Cmdline, UnterminatedQuote) {
    auto p = parse("app 'oops");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "unterminated quote in the command line");
}

TEST(Cmdline, TooManyArguments) {
    std::string text = "app";
    for (size_t i = 0; i < mica::cmdline::Result::max_args; ++i) text += " a";
    auto p = parse(text);
    EXPECT_FALSE(p.result.ok);
    EXPECT_NE(std::string(p.result.error).find("too many application arguments"), std::string::npos);
}

TEST(CmdlineHypervisorWords, AcceptedAnywhereAndNeverPassedOn) {
    // QEMU microvm appends after the application's arguments (and after a "--").
    auto p = parse("--help /bin/app -x virtio_mmio.device=512@0xfeb00e00:12 y virtio_mmio.device=4K@0xd0000000:5:3");
    ASSERT_TRUE(p.result.ok) << p.result.error;
    EXPECT_EQ(p.args(), (std::vector<std::string>{"/bin/app", "-x", "y"}));
    EXPECT_EQ(applied, (std::vector<std::string>{"help", "mmio=4272950784,12", "mmio=3489660928,5"}));
    p = parse("-- /bin/app virtio_mmio.device=512@0x1000:7");
    ASSERT_TRUE(p.result.ok) << p.result.error;
    EXPECT_EQ(p.args(), (std::vector<std::string>{"/bin/app"}));
    p = parse("virtio_mmio.device=512@0x1000:7 --level=3 /bin/app");  // before options too
    ASSERT_TRUE(p.result.ok) << p.result.error;
    EXPECT_EQ(applied, (std::vector<std::string>{"mmio=4096,7", "level=3"}));
    EXPECT_EQ(p.args(), (std::vector<std::string>{"/bin/app"}));
}

TEST(CmdlineHypervisorWords, MalformedValueNamesTheWord) {
    auto p = parse("/bin/app virtio_mmio.device=512@0xfeb00e00");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "'virtio_mmio.device=512@0xfeb00e00' (added by the hypervisor): expected ':' and an "
                                 "interrupt number after the address");
}

TEST(CmdlineHypervisorWords, NotOptionsAndNotOtherWords) {
    // With dashes it is an unknown option, and the valid-option list leaves it out.
    auto p = parse("--virtio_mmio.device=512@0x1000:5");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "unknown option '--virtio_mmio.device'; valid options: --help, --ip=ADDR, --colour=NAME, --level=N");
    // A word that only starts like one is an ordinary argument.
    p = parse("app virtio_mmio.devicex=1 virtio_mmio.device");
    ASSERT_TRUE(p.result.ok);
    EXPECT_EQ(p.args(), (std::vector<std::string>{"app", "virtio_mmio.devicex=1", "virtio_mmio.device"}));
    // Unknown options stay errors even when hypervisor words follow.
    p = parse("--bogus virtio_mmio.device=512@0x1000:5");
    EXPECT_FALSE(p.result.ok);
    EXPECT_NE(std::string(p.result.error).find("unknown option '--bogus'"), std::string::npos);
}

struct SpecCase {
    const char* text;
    uint64_t base, size;
    uint32_t irq;
    int32_t id;
};

TEST(VirtioMmioSpec, ValidValues) {
    const SpecCase cases[] = {
        {"512@0xfeb00e00:12", 0xfeb00e00, 512, 12, -1},     // QEMU microvm
        {"4K@0xd0000000:5", 0xd0000000, 4096, 5, -1},       // Firecracker
        {"4k@0xd0001000:6:1", 0xd0001000, 4096, 6, 1},
        {"1M@4096:24", 4096, 1 << 20, 24, -1},
        {"2m@0x100000000:47:0", 0x100000000, 2 << 20, 47, 0},
        {"1G@0x40000000:3", 0x40000000, 1ull << 30, 3, -1},
        {"0x200@010:9", 8, 512, 9, -1},                      // hex size, octal address
    };
    for (const auto& c : cases) {
        mica::virtio::MmioDeviceSpec s;
        const char* problem = mica::virtio::parse_mmio_device(c.text, s);
        ASSERT_EQ(problem, nullptr) << c.text << ": " << problem;
        EXPECT_EQ(s.base, c.base) << c.text;
        EXPECT_EQ(s.size, c.size) << c.text;
        EXPECT_EQ(s.irq, c.irq) << c.text;
        EXPECT_EQ(s.id, c.id) << c.text;
    }
}

TEST(VirtioMmioSpec, BadValuesAreRejectedWithAReason) {
    const std::pair<const char*, const char*> cases[] = {
        {"", "expected SIZE@ADDR:IRQ[:ID], starting with a size such as 512 or 4K"},
        {"@0x1000:5", "expected SIZE@ADDR:IRQ[:ID], starting with a size such as 512 or 4K"},
        {"4Q@0x1000:5", "expected '@' after the size (SIZE@ADDR:IRQ[:ID]; size suffixes: K, M, G)"},
        {"0@0x1000:5", "the size is 0"},
        {"0K@0x1000:5", "the size is 0"},
        {"512@:5", "expected an address after '@'"},
        {"512@0xzz:5", "expected an address after '@'"},
        {"512@0x1000", "expected ':' and an interrupt number after the address"},
        {"512@0x1000:", "expected a decimal interrupt number after ':'"},
        {"512@0x1000:0x5", "unexpected characters after the interrupt number"},
        {"512@0x1000:5:", "expected a decimal device id after the interrupt"},
        {"512@0x1000:5:1:2", "unexpected characters after the interrupt number"},
        {"512@0x1000:5 ", "unexpected characters after the interrupt number"},
        {"512@0xffffffffffffff00:5", "the address range wraps around"},
        {"99999999999999999999@0x1000:5", "expected SIZE@ADDR:IRQ[:ID], starting with a size such as 512 or 4K"},
        {"17179869184G@0:5", "the size is too large"},
        {"512@0x1000:4294967296", "expected a decimal interrupt number after ':'"},
    };
    for (const auto& [text, message] : cases) {
        mica::virtio::MmioDeviceSpec s;
        const char* problem = mica::virtio::parse_mmio_device(text, s);
        ASSERT_NE(problem, nullptr) << "accepted: " << text;
        EXPECT_STREQ(problem, message) << text;
    }
}

std::string help_out;
int collect(const char* f, ...) {
    char buf[256];
    va_list a;
    va_start(a, f);
    int n = vsnprintf(buf, sizeof(buf), f, a);
    va_end(a);
    help_out += buf;
    return n;
}

TEST(Cmdline, HelpListsEveryOption) {
    help_out.clear();
    mica::cmdline::print_help(options, std::size(options), collect);
    const std::string& out = help_out;
    EXPECT_NE(out.find("--ip=ADDR"), std::string::npos);
    EXPECT_NE(out.find("values: red green"), std::string::npos);
    EXPECT_NE(out.find("show help"), std::string::npos);
    // Hypervisor words are listed apart, without dashes.
    EXPECT_NE(out.find("Words hypervisors append"), std::string::npos);
    EXPECT_NE(out.find("  virtio_mmio.device=SIZE@ADDR:IRQ[:ID]"), std::string::npos);
    EXPECT_EQ(out.find("--virtio_mmio"), std::string::npos);
}

// Subsystems contribute their own tables; the parser searches them all, in order.
const mica::cmdline::Option net_options[] = {
    {"nameserver", "ADDR", "a DNS server", nullptr, [](const char* v) -> const char* {
         applied.push_back(std::string("nameserver=") + v);
         return std::string(v) == "bad" ? "not an address" : nullptr;
     }},
};
const mica::cmdline::OptionTable tables[] = {{options, std::size(options)}, {net_options, std::size(net_options)}};

Parsed parse_tables(std::string text) {
    applied.clear();
    static std::string storage;
    storage = std::move(text);
    Parsed p;
    mica::cmdline::parse(storage.data(), tables, std::size(tables), p.result);
    return p;
}

TEST(Cmdline, SeveralTables) {
    auto p = parse_tables("--nameserver=192.0.2.53 --help --nameserver=192.0.2.54 app");
    ASSERT_TRUE(p.result.ok) << p.result.error;
    EXPECT_EQ(applied, (std::vector<std::string>{"nameserver=192.0.2.53", "help", "nameserver=192.0.2.54"}));
    EXPECT_EQ(p.args(), (std::vector<std::string>{"app"}));
}

TEST(Cmdline, SeveralTablesErrorsNameTheOption) {
    auto p = parse_tables("--nameserver=bad");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error, "option '--nameserver': not an address");
    p = parse_tables("--bogus");
    EXPECT_FALSE(p.result.ok);
    EXPECT_STREQ(p.result.error,
                 "unknown option '--bogus'; valid options: --help, --ip=ADDR, --colour=NAME, --level=N, --nameserver=ADDR");
}

TEST(Cmdline, HelpListsEveryTable) {
    help_out.clear();
    mica::cmdline::print_help(tables, std::size(tables), collect);
    EXPECT_NE(help_out.find("--colour=NAME"), std::string::npos);
    EXPECT_NE(help_out.find("--nameserver=ADDR"), std::string::npos);
    EXPECT_LT(help_out.find("--colour=NAME"), help_out.find("--nameserver=ADDR"));
}

}  // namespace
