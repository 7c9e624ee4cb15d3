// Several CPUs (run with -smp 2 and 4 by the boot tests; skipped on one CPU).
#include <arch/arch.h>
#include <mica/ktest.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>

using namespace mica;
using namespace mica::sched;

namespace {
uint64_t now_us() { return arch::cycles() * 1000000 / arch::cycles_per_second(); }
}  // namespace

KTEST(smp, all_cpus_run_threads) {
    if (online_cpus() < 2) return ktest_context.skip("needs more than one CPU");
    // Busy threads, four per CPU: with stealing, every CPU must end up running some. They
    // spin until every CPU has been seen (or 2 s pass: a loaded host can starve a vCPU for a
    // while, and the test is about balancing, not latency).
    static uint64_t cpus_seen, all_cpus;
    cpus_seen = 0;
    all_cpus = online_cpus() >= 64 ? ~uint64_t{0} : (uint64_t{1} << online_cpus()) - 1;
    unsigned n = online_cpus() * 4;
    Thread* threads[4 * max_cpus];
    for (unsigned i = 0; i < n; ++i) {
        threads[i] = create("busy", [](void*) {
            uint64_t start = now_us();
            while (now_us() - start < 2000000 && __atomic_load_n(&cpus_seen, __ATOMIC_RELAXED) != all_cpus) {
                __atomic_fetch_or(&cpus_seen, uint64_t{1} << current_cpu(), __ATOMIC_RELAXED);
            }
        }, nullptr);
        KASSERT(threads[i] != nullptr);
        start(threads[i]);
    }
    for (unsigned i = 0; i < n; ++i) join(threads[i]);
    unsigned seen = 0;
    for (uint64_t bits = cpus_seen; bits; bits &= bits - 1) ++seen;  // (libgcc's popcount uses SIMD)
    KEXPECT_EQ(seen, online_cpus());
}

KTEST(smp, ping_pong_between_cpus) {
    if (online_cpus() < 2) return ktest_context.skip("needs more than one CPU");
    // Two threads pinned to different CPUs hand a token back and forth through semaphores:
    // every hand-over is a cross-CPU wake-up (IPI, remote run queue).
    static Semaphore to_b, to_a;
    static volatile unsigned cpu_a, rounds_apart;
    static volatile int hits_b;
    rounds_apart = 0;
    hits_b = 0;
    constexpr int rounds = 200;
    Thread* b = create("pong", [](void*) {
        for (int i = 0; i < rounds; ++i) {
            to_b.wait();
            if (current_cpu() != cpu_a) rounds_apart = rounds_apart + 1;
            hits_b = hits_b + 1;
            to_a.post();
        }
    }, nullptr);
    Thread* a = create("ping", [](void*) {
        for (int i = 0; i < rounds; ++i) {
            cpu_a = current_cpu();
            to_b.post();
            to_a.wait();
        }
    }, nullptr);
    KASSERT(a && b);
    KASSERT(pin(a, online_cpus() - 1) && pin(b, online_cpus() - 2));
    start(b);
    start(a);
    join(a);
    join(b);
    KEXPECT_EQ(hits_b, rounds);
    KEXPECT_EQ(rounds_apart, unsigned{rounds});
}

KTEST(smp, mutex_contention_across_cpus) {
    if (online_cpus() < 2) return ktest_context.skip("needs more than one CPU");
    // Threads on all CPUs hammer one mutex without yielding: true parallel contention.
    static Mutex mutex;
    static volatile long counter;
    counter = 0;
    constexpr int iterations = 2000;
    unsigned n = online_cpus() * 2;
    Thread* threads[2 * max_cpus];
    for (unsigned i = 0; i < n; ++i) {
        threads[i] = create("contender", [](void*) {
            for (int k = 0; k < iterations; ++k) {
                LockGuard<Mutex> lock(mutex);
                counter = counter + 1;
            }
        }, nullptr);
        KASSERT(threads[i] != nullptr);
        start(threads[i]);
    }
    for (unsigned i = 0; i < n; ++i) join(threads[i]);
    KEXPECT_EQ(counter, static_cast<long>(n) * iterations);
}

KTEST(smp, thread_moves_itself_between_cpus) {
    if (mica::sched::online_cpus() < 2) return ktest_context.skip("needs 2 CPUs");
    static volatile int wrong;
    wrong = 0;
    mica::sched::Thread* t = mica::sched::create("mover", [](void*) {
        for (int round = 0; round < 20; ++round) {
            unsigned target = round % mica::sched::online_cpus();
            if (!mica::sched::set_affinity(target, true)) wrong = 1;
            for (int i = 0; i < 3; ++i) {
                if (mica::sched::current_cpu() != target) wrong = 1;
                mica::sched::yield();  // pinned: stays there
            }
        }
    }, nullptr);
    KASSERT(t != nullptr);
    mica::sched::start(t);
    mica::sched::join(t);
    KEXPECT_EQ(wrong, 0);
}

KTEST(smp, thread_woken_on_a_busy_cpu_gets_a_slice) {
    // A thread pinned to a CPU that is busy with another thread of its priority runs within
    // a time slice or so, not when the busy one ends: the busy CPU, which had nothing else
    // to run and so no end of slice armed (tickless), must arm one when the thread arrives.
    // (The syscall fuzzer found a sched_setaffinity waiting out a 2 GiB sendfile.) The busy
    // thread spins until the other has run, or for 30 s at most, which only a starved
    // thread reaches.
    if (online_cpus() < 2 || !CONFIG_PREEMPT) return ktest_context.skip("needs 2 CPUs and CONFIG_PREEMPT");
    static volatile int arrived, busy_started;
    static volatile uint64_t waited_us;
    arrived = 0;
    busy_started = 0;
    waited_us = 0;
    unsigned target = current_cpu() == 0 ? 1 : 0;
    Thread* busy = create("busy", [](void*) {
        busy_started = 1;
        uint64_t start = now_us();
        while (!arrived && now_us() - start < 30000000) {
        }
        waited_us = now_us() - start;
    }, nullptr);
    KASSERT(busy != nullptr);
    KASSERT(pin(busy, target));
    start(busy);
    while (!busy_started) yield();
    Thread* late = create("late", [](void*) { arrived = 1; }, nullptr);
    KASSERT(late != nullptr);
    KASSERT(pin(late, target));
    start(late);
    join(late);
    join(busy);
    KEXPECT(waited_us < 30000000);
}
