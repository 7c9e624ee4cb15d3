#include <arch/arch.h>
#include <mica/console.h>
#include <mica/format.h>
#include <mica/ktest.h>
#include <mica/mm/memory.h>
#include <mica/sched/sched.h>

extern "C" const mica::ktest::Test __ktests_start[], __ktests_end[];

namespace mica::ktest {

void Context::fail(const char* file, int line, const char* format, ...) {
    ++failures_;
    kprintf("%s:%d: failure in %s: ", file, line, name_);
    va_list args;
    va_start(args, format);
    fmt::vformat([](void*, const char* t, size_t n) { console::write(t, n); }, nullptr, format, args);
    va_end(args);
    kprintf("\n");
}

bool matches(const char* pattern, const char* text) {
    if (*pattern == '\0') return *text == '\0';
    if (*pattern == '*') return matches(pattern + 1, text) || (*text && matches(pattern, text + 1));
    return *pattern == *text && matches(pattern + 1, text + 1);
}

int run(const char* pattern) {
    int passed = 0, failed = 0, skipped = 0;
    for (const Test* t = __ktests_start; t < __ktests_end; ++t) {
        char full[128];
        fmt::snprintf(full, sizeof(full), "%s.%s", t->suite, t->name);
        if (!matches(pattern, full)) continue;
        kprintf("[ RUN      ] %s\n", full);
        // Every test must leave no thread and no heap allocation behind.
        size_t threads_before = sched::live_threads();
        size_t allocations_before = mm::live_allocations();
        uint64_t start = arch::cycles();
        Context context(full);
        t->run(context);
        uint64_t us = (arch::cycles() - start) * 1000000 / arch::cycles_per_second();
        if (sched::live_threads() != threads_before) {
            context.fail(__FILE__, __LINE__, "%zu threads leaked", sched::live_threads() - threads_before);
        }
        if (size_t after = mm::live_allocations(); after != allocations_before) {
            context.fail(__FILE__, __LINE__, "heap allocations went from %zu to %zu", allocations_before, after);
        }
        if (context.failures()) {
            ++failed;
            kprintf("[  FAILED  ] %s (%llu ms)\n", full, (unsigned long long)(us / 1000));
        } else if (context.skipped()) {
            ++skipped;
            kprintf("[  SKIPPED ] %s: %s\n", full, context.skipped());
        } else {
            ++passed;
            kprintf("[       OK ] %s (%llu ms)\n", full, (unsigned long long)(us / 1000));
        }
    }
    if (passed + failed + skipped == 0) {
        kprintf("ktest: no test matches '%s'\n", pattern);
        return -1;
    }
    kprintf("ktest: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed;
}

}  // namespace mica::ktest
