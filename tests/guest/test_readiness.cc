// Kernel timers (sched::Timer) and the readiness core (fs::PollHead, fs::PollSleeper) in the
// guest: callbacks in interrupt context, never early, in deadline order, cancelled before
// they run, re-armed from their own callback, notifying a PollHead that wakes a sleeping
// thread. Waits are bounded (a lost wake-up fails the test instead of hanging it), and no
// assertion bounds how late anything may be.
#include <arch/arch.h>
#include <mica/clock.h>
#include <mica/fs/poll.h>
#include <mica/fs/poll_wait.h>
#include <mica/ktest.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>

using namespace mica;
using namespace mica::sched;

namespace {

constexpr uint64_t ms = 1000000;
// How long a test waits for what must happen: only turns a hang into a failure naming the
// test, so well past any stall of a loaded host (the boot test's budget is 120 s).
constexpr uint64_t patience = 60000 * ms;

struct Firing {
    Semaphore done;
    uint64_t deadline = 0;
    uint64_t fired_at = 0;
    int count = 0;
    bool interrupts_were_on = true;
};

void record(Timer*, void* context) {
    auto* f = static_cast<Firing*>(context);
    f->fired_at = clock::monotonic_ns();
    f->interrupts_were_on = arch::interrupts_enabled();
    ++f->count;
    f->done.post();
}

}  // namespace

KTEST(timer, fires_not_early_in_interrupt_context) {
    Firing f;
    Timer timer(record, &f);
    {
        // Interrupts off: the timer is this CPU's, so it cannot fire before the check however
        // long the host holds this vCPU back (3 ms is nothing under load).
        IrqGuard irqs_off;
        f.deadline = clock::monotonic_ns() + 3 * ms;
        timer.arm_at(f.deadline);
        KEXPECT(timer.pending());
    }
    KASSERT(f.done.wait(patience));
    KEXPECT_EQ(f.count, 1);
    KEXPECT(f.fired_at >= f.deadline);
    KEXPECT(!f.interrupts_were_on);
    KEXPECT(!timer.pending());
    KEXPECT(!timer.cancel());  // already fired: nothing to cancel
}

KTEST(timer, a_deadline_in_the_past_fires_at_once) {
    Firing f;
    Timer timer(record, &f);
    timer.arm_at(0);
    KASSERT(f.done.wait(patience));
    KEXPECT_EQ(f.count, 1);
}

KTEST(timer, cancelled_before_it_fires) {
    Firing f;
    Timer timer(record, &f);
    {
        IrqGuard irqs_off;  // it cannot fire before the cancel, whatever the host's delays
        timer.arm_after(200 * ms);
        KEXPECT(timer.cancel());
        KEXPECT(!timer.pending());
    }
    sleep_ns(300 * ms);
    KEXPECT_EQ(f.count, 0);
    // Re-arming after a cancel works, and re-arming a pending timer moves it.
    timer.arm_after(500 * ms);
    timer.arm_after(1 * ms);
    KASSERT(f.done.wait(patience));
    KEXPECT_EQ(f.count, 1);
}

namespace {
struct Order {
    Semaphore done;
    int seen[5] = {};
    int next = 0;
};
struct Numbered {
    Order* order;
    int number;
};
void in_order(Timer*, void* context) {
    auto* n = static_cast<Numbered*>(context);
    n->order->seen[n->order->next++] = n->number;
    n->order->done.post();
}
}  // namespace

KTEST(timer, fire_in_deadline_order) {
    Order order;
    Numbered numbers[5];
    Timer* timers[5];
    for (int i = 0; i < 5; ++i) {
        numbers[i] = Numbered{&order, i};
        timers[i] = new Timer(in_order, &numbers[i]);
    }
    {
        // Armed latest first, with interrupts off: none fires before all are armed, however
        // long the host holds this vCPU back; then they fire by deadline only.
        IrqGuard irqs_off;
        uint64_t base = clock::monotonic_ns() + 20 * ms;
        for (int i = 4; i >= 0; --i) timers[i]->arm_at(base + static_cast<uint64_t>(i) * 4 * ms);
    }
    for (int i = 0; i < 5; ++i) KASSERT(order.done.wait(patience));
    for (int i = 0; i < 5; ++i) KEXPECT_EQ(order.seen[i], i);
    for (Timer* t : timers) delete t;
}

namespace {
struct Periodic {
    Semaphore done;
    int count = 0;
    int limit = 0;
    uint64_t period = 0;
};
void rearm(Timer* timer, void* context) {
    auto* p = static_cast<Periodic*>(context);
    if (++p->count < p->limit) {
        timer->arm_after(p->period);  // from its own callback
    } else {
        p->done.post();
    }
}
}  // namespace

KTEST(timer, rearms_from_its_callback) {
    Periodic p;
    p.limit = 10;
    p.period = 1 * ms;
    Timer timer(rearm, &p);
    timer.arm_after(p.period);
    KASSERT(p.done.wait(patience));
    KEXPECT_EQ(p.count, 10);
    KEXPECT(!timer.pending());
    // A periodic timer cancelled while it runs: afterwards it neither runs nor is pending.
    Periodic endless;
    endless.limit = 1 << 30;
    endless.period = 1 * ms;
    Timer forever(rearm, &endless);
    forever.arm_after(endless.period);
    sleep_ns(20 * ms);
    forever.cancel();
    int count = __atomic_load_n(&endless.count, __ATOMIC_ACQUIRE);
    KEXPECT(count > 0);
    KEXPECT(!forever.pending());
    sleep_ns(20 * ms);
    KEXPECT_EQ(__atomic_load_n(&endless.count, __ATOMIC_ACQUIRE), count);
}

KTEST(timer, many_threads_arm_and_cancel) {
    // Threads on every CPU arm and cancel timers while others fire: nothing runs after its
    // cancel returned, nothing is lost.
    static int fired_after_cancel;
    static int fired;
    fired_after_cancel = fired = 0;
    struct State {
        bool cancelled = false;
    };
    constexpr int threads = 4, rounds = 200;
    auto worker = [](void*) {
        for (int i = 0; i < rounds; ++i) {
            State s;
            Timer t(
                [](Timer*, void* context) {
                    auto* st = static_cast<State*>(context);
                    if (__atomic_load_n(&st->cancelled, __ATOMIC_ACQUIRE)) __atomic_fetch_add(&fired_after_cancel, 1, __ATOMIC_RELAXED);
                    __atomic_fetch_add(&fired, 1, __ATOMIC_RELAXED);
                },
                &s);
            t.arm_after(static_cast<uint64_t>(i % 3) * 100000);
            if (i % 2) yield();
            t.cancel();
            __atomic_store_n(&s.cancelled, true, __ATOMIC_RELEASE);
        }
    };
    Thread* t[threads];
    for (auto& th : t) {
        th = create("timers", worker, nullptr);
        KASSERT(th != nullptr);
        start(th);
    }
    for (auto* th : t) join(th);
    KEXPECT_EQ(fired_after_cancel, 0);
}

// ---- PollHead ------------------------------------------------------------------------------

KTEST(poll_head, wakes_a_sleeping_thread) {
    static fs::PollHead head;
    static fs::PollSleeper sleeper;
    static bool woken;
    woken = false;
    fs::SleeperWaiter waiter(&sleeper, fs::poll_in);
    head.add(&waiter);
    Thread* t = create("notifier", [](void*) {
        sleep_ns(5 * ms);
        head.notify(fs::poll_out);  // not what the waiter watches: ignored
        head.notify(fs::poll_in);
    }, nullptr);
    KASSERT(t != nullptr);
    start(t);
    woken = sleeper.sleep_until(clock::monotonic_ns() + patience);
    join(t);
    KEXPECT(woken);
    head.remove(&waiter);
    KEXPECT(!head.has_waiters());
}

KTEST(poll_head, sleeper_times_out_and_filters_interest) {
    fs::PollHead head;
    fs::PollSleeper sleeper;
    fs::SleeperWaiter waiter(&sleeper, fs::poll_in);
    head.add(&waiter);
    head.notify(fs::poll_out);
    uint64_t start = clock::monotonic_ns();
    KEXPECT(!sleeper.sleep_until(start + 10 * ms));
    KEXPECT(clock::monotonic_ns() >= start + 10 * ms);
    head.notify(fs::poll_in);
    KEXPECT(sleeper.sleep_until(clock::monotonic_ns() + patience));  // already woken: at once
    KEXPECT(!sleeper.sleep_until(0));                                 // consumed
    head.notify(0);                                                   // "something changed"
    KEXPECT(sleeper.sleep_until(0));
}

namespace {
struct TimerToHead {
    fs::PollHead head;
    fs::PollSleeper sleeper;
};
void notify_head(Timer*, void* context) { static_cast<TimerToHead*>(context)->head.notify(fs::poll_in); }
}  // namespace

KTEST(poll_head, notified_from_a_timer_callback) {
    TimerToHead t;
    fs::SleeperWaiter waiter(&t.sleeper, fs::poll_in);
    t.head.add(&waiter);
    Timer timer(notify_head, &t);
    timer.arm_after(5 * ms);
    KEXPECT(t.sleeper.sleep_until(clock::monotonic_ns() + patience));
    timer.cancel();
    waiter.detach();
}

KTEST(poll_head, waiters_from_many_threads) {
    // Eight threads each sleep on the same head; one notify wakes them all.
    static fs::PollHead head;
    static int awake;
    awake = 0;
    constexpr int threads = 8;
    auto sleeper_thread = [](void*) {
        fs::PollSleeper sleeper;
        fs::SleeperWaiter waiter(&sleeper, fs::poll_in);
        head.add(&waiter);
        if (sleeper.sleep_until(clock::monotonic_ns() + patience)) __atomic_fetch_add(&awake, 1, __ATOMIC_RELAXED);
        waiter.detach();
    };
    Thread* t[threads];
    for (auto& th : t) {
        th = create("sleeper", sleeper_thread, nullptr);
        KASSERT(th != nullptr);
        start(th);
    }
    // Notify once everyone is listening (bounded: a thread that never listens fails below).
    uint64_t give_up = clock::monotonic_ns() + patience;
    while (head.waiter_count() < threads && clock::monotonic_ns() < give_up) sleep_ns(1 * ms);
    head.notify(fs::poll_in | fs::poll_rdnorm);
    for (auto* th : t) join(th);
    KEXPECT_EQ(awake, threads);
    KEXPECT(!head.has_waiters());
}
