#include <gtest/gtest.h>
#include <mica/cmdline.h>

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
