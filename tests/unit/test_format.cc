// mica::fmt against the host C library's snprintf, conversion by conversion.
#include <gtest/gtest.h>
#include <mica/format.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdarg>
#include <string>

namespace {

template <typename... Args>
void expect_same(const char* format, Args... args) {
    char ours[256], host[256];
    int n_ours = mica::fmt::snprintf(ours, sizeof(ours), format, args...);
    int n_host = std::snprintf(host, sizeof(host), format, args...);
    EXPECT_STREQ(ours, host) << "format: " << format;
    EXPECT_EQ(n_ours, n_host) << "format: " << format;
}

TEST(Format, Integers) {
    expect_same("%d %i %u", 42, -17, 4000000000u);
    expect_same("%d %d", INT_MIN, INT_MAX);
    expect_same("%ld %lu", LONG_MIN, ULONG_MAX);
    expect_same("%lld %llu", LLONG_MIN, ULLONG_MAX);
    expect_same("%hd %hhd %hu %hhu", 70000, 300, 70000, 300);
    expect_same("%zu %zd %td %jd", size_t{123}, ptrdiff_t{-5}, ptrdiff_t{-9}, intmax_t{77});
    expect_same("%d", 0);
}

TEST(Format, WidthPrecisionFlags) {
    expect_same("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, 42, 42, 42);
    expect_same("[%.3d] [%8.3d] [%-8.3d] [%08.3d]", 7, 7, 7, 7);
    expect_same("[%.0d] [%.0x] [%5.0d]", 0, 0, 0);
    expect_same("[%*d] [%-*d] [%.*d]", 6, 1, 6, 1, 4, 1);
    expect_same("[%*d]", -6, 1);
    expect_same("[%+05d] [% 05d] [%-+6d]", -3, 3, 3);
}

TEST(Format, HexOctalPointer) {
    expect_same("%x %X %#x %#X %#o %o", 0xbeefu, 0xbeefu, 0xbeefu, 0xbeefu, 8u, 8u);
    expect_same("%#x %#o", 0u, 0u);
    expect_same("%016lx %#018lx", 0x1234ul, 0x1234ul);
    expect_same("%p %p", reinterpret_cast<void*>(0x1000), static_cast<void*>(nullptr));
    expect_same("%#.3o", 8u);
}

TEST(Format, StringsAndChars) {
    expect_same("[%s] [%10s] [%-10s] [%.2s] [%5.1s]", "abc", "abc", "abc", "abc", "abc");
    expect_same("[%c] [%3c] [%-3c]", 'x', 'y', 'z');
    expect_same("100%% sure");
    expect_same("%s", static_cast<const char*>(nullptr));
}

TEST(Format, TruncationReportsFullLength) {
    char buf[8];
    int n = mica::fmt::snprintf(buf, sizeof(buf), "%s", "hello, world");
    EXPECT_EQ(n, 12);
    EXPECT_STREQ(buf, "hello, ");
    EXPECT_EQ(mica::fmt::snprintf(nullptr, 0, "%d", 12345), 5);
}

TEST(Format, UnknownConversionIsVisibleNotSkipped) {
    char buf[32];
    mica::fmt::snprintf(buf, sizeof(buf), "a%qb%d", 5);
    EXPECT_STREQ(buf, "a%qb5");
}

TEST(Format, SinkGetsEverything) {
    std::string collected;
    auto sink = [](void* ctx, const char* text, size_t n) { static_cast<std::string*>(ctx)->append(text, n); };
    std::string long_arg(1000, 'q');
    auto call = [&](const char* f, ...) {
        va_list args;
        va_start(args, f);
        int n = mica::fmt::vformat(sink, &collected, f, args);
        va_end(args);
        return n;
    };
    int n = call("<%s>", long_arg.c_str());
    EXPECT_EQ(n, 1002);
    EXPECT_EQ(collected, "<" + long_arg + ">");
}

}  // namespace
