// In-guest tests (CONFIG_GUEST_TESTS): compiled into a test kernel and run at boot with
// --test=PATTERN; each result is printed on the console, gtest-style, and the exit status
// says whether all passed. Write a test as
//   KTEST(suite, name) { KEXPECT(x == 1); KEXPECT_EQ(a, b); KASSERT(p != nullptr); }
// Tests live in tests/guest/*.cc; tests/boot registers one ctest entry per suite.
#pragma once

#include <stdint.h>

namespace mica::ktest {

class Context {
public:
    explicit Context(const char* name) : name_(name) {}
    void fail(const char* file, int line, const char* format, ...) __attribute__((format(printf, 4, 5)));
    void skip(const char* reason) { skipped_ = reason; }
    int failures() const { return failures_; }
    const char* skipped() const { return skipped_; }

private:
    const char* name_;
    int failures_ = 0;
    const char* skipped_ = nullptr;
};

struct Test {
    const char* suite;
    const char* name;
    void (*run)(Context&);
};

// Runs the tests whose "suite.name" matches `pattern` ('*' matches any run of characters);
// returns the number of failed tests, or -1 when no test matched.
int run(const char* pattern);
bool matches(const char* pattern, const char* text);

}  // namespace mica::ktest

#define KTEST(suite, name)                                                                    \
    static void ktest_fn_##suite##_##name(::mica::ktest::Context& ktest_context);             \
    [[gnu::used, gnu::section(".mica_ktests"), gnu::aligned(8)]] static const ::mica::ktest::Test \
        ktest_entry_##suite##_##name = {#suite, #name, ktest_fn_##suite##_##name};           \
    static void ktest_fn_##suite##_##name([[maybe_unused]] ::mica::ktest::Context& ktest_context)

#define KEXPECT(cond) \
    ((cond) ? (void)0 : ktest_context.fail(__FILE__, __LINE__, "expected %s", #cond))

#define KEXPECT_EQ(a, b)                                                                          \
    do {                                                                                          \
        auto ktest_a_ = (a);                                                                      \
        auto ktest_b_ = (b);                                                                      \
        if (!(ktest_a_ == ktest_b_)) {                                                            \
            ktest_context.fail(__FILE__, __LINE__, "expected %s == %s (%lld vs %lld)", #a, #b,    \
                               (long long)ktest_a_, (long long)ktest_b_);                         \
        }                                                                                         \
    } while (0)

#define KASSERT(cond)                                                         \
    do {                                                                      \
        if (!(cond)) {                                                        \
            ktest_context.fail(__FILE__, __LINE__, "required %s", #cond);     \
            return;                                                           \
        }                                                                     \
    } while (0)
