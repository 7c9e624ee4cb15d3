// Scheduler micro-benchmarks (not tests: they print figures and always pass). Run with
// --test='bench.*' on a test kernel; tools/bench/sched runs them next to the same
// measurements in a Linux guest. Output lines: "bench: <name> <nanoseconds> ns".
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/ktest.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>

using namespace mica;
using namespace mica::sched;

namespace {
uint64_t now_ns() {
    uint64_t c = arch::cycles(), hz = arch::cycles_per_second();
    return c / hz * 1000000000 + c % hz * 1000000000 / hz;
}
void report(const char* name, uint64_t total_ns, uint64_t operations) {
    kprintf("bench: %s %llu ns\n", name, (unsigned long long)(total_ns / operations));
}
constexpr int switch_rounds = 20000;
}  // namespace

KTEST(bench, yield_switch_same_cpu) {
    // Two threads on one CPU yielding to each other: each yield is one context switch.
    auto body = [](void*) {
        for (int i = 0; i < switch_rounds; ++i) yield();
    };
    Thread* a = create("yield-a", body, nullptr);
    Thread* b = create("yield-b", body, nullptr);
    KASSERT(a && b && pin(a, 0) && pin(b, 0));
    uint64_t start = now_ns();
    sched::start(a);
    sched::start(b);
    join(a);
    join(b);
    report("context_switch_yield_same_cpu", now_ns() - start, 2 * switch_rounds);
}

namespace {
Semaphore ping_sem, pong_sem;
void pinger(void*) {
    for (int i = 0; i < switch_rounds / 4; ++i) {
        ping_sem.post();
        pong_sem.wait();
    }
}
void ponger(void*) {
    for (int i = 0; i < switch_rounds / 4; ++i) {
        ping_sem.wait();
        pong_sem.post();
    }
}
// One wake-and-block hand-over = half a round trip.
void ping_pong(ktest::Context& ktest_context, const char* name, unsigned cpu_a, unsigned cpu_b) {
    Thread* a = create("ping", pinger, nullptr);
    Thread* b = create("pong", ponger, nullptr);
    KASSERT(a && b && pin(a, cpu_a) && pin(b, cpu_b));
    uint64_t start = now_ns();
    sched::start(b);
    sched::start(a);
    join(a);
    join(b);
    report(name, now_ns() - start, 2 * (switch_rounds / 4));
}
}  // namespace

KTEST(bench, semaphore_handover_same_cpu) { ping_pong(ktest_context, "semaphore_handover_same_cpu", 0, 0); }

KTEST(bench, semaphore_handover_cross_cpu) {
    if (online_cpus() < 2) return ktest_context.skip("needs two CPUs");
    ping_pong(ktest_context, "semaphore_handover_cross_cpu", 0, 1);
}

KTEST(bench, thread_create_join) {
    constexpr int n = 2000;
    uint64_t start = now_ns();
    for (int i = 0; i < n; ++i) {
        Thread* t = create("empty", [](void*) {}, nullptr);
        KASSERT(t != nullptr);
        sched::start(t);
        join(t);
    }
    report("thread_create_join", now_ns() - start, n);
}
