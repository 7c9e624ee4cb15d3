// Timers that signal (signals.def): setitimer/getitimer/alarm and the POSIX timers
// (timer_create with SIGEV_SIGNAL, SIGEV_THREAD_ID or SIGEV_NONE). Each runs on a kernel
// timer (sched::Timer) whose callback queues the signal from the timer interrupt; a periodic
// one re-arms itself. An expiration whose signal is still queued counts as an overrun of it
// (si_overrun, timer_getoverrun), as on Linux.
//
// Mica does not account CPU time per process: ITIMER_VIRTUAL and ITIMER_PROF, and timers on
// the CPU-time clocks, count elapsed time instead (docs/architecture.md, "Signals").
#include "signal_internal.h"
#include "processes.h"
#include <initializer_list>
#include <mica/clock.h>
#include <mica/clock_data.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <new>
#include <stdlib.h>
#include <string.h>

using namespace mica;
using namespace mica::abi;

namespace {
constexpr int64_t e_again = 11, e_fault = 14, e_inval = 22;
constexpr uint64_t ns_per_s = 1000000000;
constexpr int sigev_signal = 0, sigev_none = 1, sigev_thread = 2, sigev_thread_id = 4;
constexpr int max_timers = 64;
constexpr int itimer_count = 3;  // REAL, VIRTUAL, PROF

struct Timespec {
    int64_t sec, nsec;
};
struct Timeval {
    int64_t sec, usec;
};

struct SignalTimer {
    SignalTimer(int id_, SignalProcess* owner_) : timer(fire, this), id(id_), owner(owner_) {}
    static void fire(sched::Timer* t, void* context);

    sched::Timer timer;
    int id;                  // timer_t; -1 - which for the interval timers
    SignalProcess* owner;    // whose signal it is (outlives the timer: timers_free first)
    int signal = 0;
    int notify = sigev_signal;
    int tid = 0;             // SIGEV_THREAD_ID
    uint64_t value = 0;      // sigev_value
    uint64_t interval = 0;   // ns, 0: one-shot
    uint64_t deadline = 0;   // monotonic ns of the next expiration, 0: disarmed
    bool wall_clock = false; // on CLOCK_REALTIME (or TAI, REALTIME_ALARM): TIMER_ABSTIME times are wall times
    int overrun = 0;         // of the expiration last queued (timer_getoverrun)
};

// A process's timers (Process::timers), under signal_lock: the POSIX timers by id and the
// interval timers.
struct Timers {
    SignalTimer* timers[max_timers];
    SignalTimer* itimers[itimer_count];
};
SignalTimer* const reserved = reinterpret_cast<SignalTimer*>(1);  // an id being created

// The calling process's, created on first use (by its own system calls, not under a lock).
Timers* my_timers() {
    Process* p = current_process();
    if (!p) return nullptr;
    if (!__atomic_load_n(&p->timers, __ATOMIC_ACQUIRE)) {
        void* fresh = calloc(1, sizeof(Timers));
        void* none = nullptr;
        if (fresh && !__atomic_compare_exchange_n(&p->timers, &none, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            free(fresh);  // another thread of the process was first
        }
    }
    return static_cast<Timers*>(p->timers);
}

// Under signal_lock: the queued record of this timer's signal, if any.
SigInfo* queued_record(SignalTimer* t) {
    ThreadSignals* target = nullptr;
    if (t->notify == sigev_thread_id) {
        for (ThreadSignals* s = t->owner->threads; s; s = s->next) {
            if (s->tid == t->tid) target = s;
        }
    }
    for (PendingSignal* p = target ? target->pending.head : t->owner->pending.head; p; p = p->next) {
        if (p->info.signo == t->signal && p->info.code == si_timer && p->info.timer.timer_id == t->id) return &p->info;
    }
    return nullptr;
}

void SignalTimer::fire(sched::Timer*, void* context) {
    auto* t = static_cast<SignalTimer*>(context);
    sched::SpinGuard guard(signal_lock);
    if (!t->deadline) return;
    if (t->notify != sigev_none) {
        if (SigInfo* queued = queued_record(t)) {
            ++queued->timer.overrun;
        } else {
            SigInfo info = {};
            info.signo = t->signal;
            info.code = t->id < 0 ? si_kernel : si_timer;
            info.timer.timer_id = t->id;
            info.timer.value = t->value;
            t->overrun = 0;
            post_locked(*t->owner, t->notify == sigev_thread_id ? t->tid : 0, info);
        }
    }
    if (t->interval) {
        uint64_t now = clock::monotonic_ns();
        t->deadline += t->interval;
        if (t->deadline <= now) {  // missed expirations are overruns
            uint64_t missed = (now - t->deadline) / t->interval + 1;
            t->deadline += missed * t->interval;
            if (SigInfo* queued = queued_record(t)) queued->timer.overrun += static_cast<int>(missed);
        }
        t->timer.arm_at(t->deadline);
    } else {
        t->deadline = 0;
    }
}

uint64_t to_ns(const Timespec& ts) { return static_cast<uint64_t>(ts.sec) * ns_per_s + static_cast<uint64_t>(ts.nsec); }
Timespec to_timespec(uint64_t ns) { return {static_cast<int64_t>(ns / ns_per_s), static_cast<int64_t>(ns % ns_per_s)}; }
bool valid(const Timespec& ts) {
    return ts.sec >= 0 && ts.nsec >= 0 && ts.nsec < static_cast<int64_t>(ns_per_s) && ts.sec < (int64_t{1} << 32);
}

// Arms (deadline != 0) or disarms `t`, and reports what was left of the previous setting.
void set(SignalTimer* t, uint64_t deadline, uint64_t interval, uint64_t* old_left, uint64_t* old_interval) {
    uint64_t now = clock::monotonic_ns();
    {
        sched::SpinGuard guard(signal_lock);
        if (old_left) *old_left = t->deadline > now ? t->deadline - now : (t->deadline ? 1 : 0);
        if (old_interval) *old_interval = t->interval;
        t->deadline = deadline;
        t->interval = interval;
    }
    // A callback in progress sees the new deadline (it re-checks under the lock).
    t->timer.cancel();
    if (deadline) t->timer.arm_at(deadline);
}

void get(SignalTimer* t, uint64_t* left, uint64_t* interval) {
    uint64_t now = clock::monotonic_ns();
    sched::SpinGuard guard(signal_lock);
    *left = t->deadline > now ? t->deadline - now : (t->deadline ? 1 : 0);
    *interval = t->interval;
}

SignalTimer* interval_timer(int which) {
    Timers* all = my_timers();
    if (!all) return nullptr;
    if (!all->itimers[which]) {
        void* p = malloc(sizeof(SignalTimer));
        if (!p) return nullptr;
        auto* t = new (p) SignalTimer(-1 - which, current_signals());
        constexpr int signals[itimer_count] = {sigalrm, sigvtalrm, sigprof};
        t->signal = signals[which];
        bool lost;
        {
            sched::SpinGuard guard(signal_lock);
            lost = all->itimers[which] != nullptr;  // another thread of the process was first
            if (!lost) all->itimers[which] = t;
        }
        if (lost) {
            t->~SignalTimer();
            free(t);
        }
    }
    return all->itimers[which];
}

SignalTimer* find_timer(uint64_t id) {
    Timers* all = my_timers();
    SignalTimer* t = all && id < max_timers ? all->timers[id] : nullptr;
    return t == reserved ? nullptr : t;
}

void delete_timer(SignalTimer* t) {
    {
        sched::SpinGuard guard(signal_lock);
        t->deadline = 0;
    }
    t->timer.cancel();
    t->~SignalTimer();
    free(t);
}
}  // namespace

int64_t sys_setitimer(const uint64_t* args) {
    int which = static_cast<int>(args[0]);
    if (which < 0 || which >= itimer_count) return -e_inval;
    struct {
        Timeval interval, value;
    } fresh = {}, old;
    if (args[1] && mm::vm::copy_from_app(&fresh, reinterpret_cast<const void*>(args[1]), sizeof fresh)) return -e_fault;
    for (const Timeval& tv : {fresh.interval, fresh.value}) {
        if (tv.sec < 0 || tv.usec < 0 || tv.usec >= 1000000) return -e_inval;
    }
    SignalTimer* t = interval_timer(which);
    if (!t) return -e_again;
    uint64_t value = static_cast<uint64_t>(fresh.value.sec) * ns_per_s + static_cast<uint64_t>(fresh.value.usec) * 1000;
    uint64_t interval =
        static_cast<uint64_t>(fresh.interval.sec) * ns_per_s + static_cast<uint64_t>(fresh.interval.usec) * 1000;
    uint64_t old_left, old_interval;
    set(t, value ? clock::monotonic_ns() + value : 0, value ? interval : 0, &old_left, &old_interval);
    // Linux rounds the remaining time up to whole microseconds.
    old.value = {static_cast<int64_t>(old_left / ns_per_s), static_cast<int64_t>((old_left % ns_per_s + 999) / 1000)};
    old.interval = {static_cast<int64_t>(old_interval / ns_per_s), static_cast<int64_t>(old_interval % ns_per_s / 1000)};
    if (old.value.usec == 1000000) old.value = {old.value.sec + 1, 0};
    if (args[2] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &old, sizeof old)) return -e_fault;
    return 0;
}

int64_t sys_getitimer(const uint64_t* args) {
    int which = static_cast<int>(args[0]);
    if (which < 0 || which >= itimer_count) return -e_inval;
    SignalTimer* t = interval_timer(which);
    if (!t) return -e_again;
    uint64_t left, interval;
    get(t, &left, &interval);
    struct {
        Timeval interval, value;
    } now = {{static_cast<int64_t>(interval / ns_per_s), static_cast<int64_t>(interval % ns_per_s / 1000)},
             {static_cast<int64_t>(left / ns_per_s), static_cast<int64_t>(left % ns_per_s / 1000)}};
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &now, sizeof now) ? -e_fault : 0;
}

int64_t sys_alarm(const uint64_t* args) {  // x86_64 only
    SignalTimer* t = interval_timer(0);
    if (!t) return -e_again;
    uint64_t seconds = static_cast<uint32_t>(args[0]);
    uint64_t old_left;
    set(t, seconds ? clock::monotonic_ns() + seconds * ns_per_s : 0, 0, &old_left, nullptr);
    // The seconds left, rounded to the nearest (at least 1 while armed), as Linux.
    uint64_t left = (old_left + ns_per_s / 2) / ns_per_s;
    return old_left && !left ? 1 : static_cast<int64_t>(left);
}

int64_t sys_timer_create(const uint64_t* args) {
    uint64_t clock_id = args[0];
    if (clock_id > 11 || clock_id == 10 || clock_id == 4 || clock_id == 6 || clock_id == 5) return -e_inval;
    struct {
        uint64_t value;
        int32_t signo, notify;
        int32_t tid;
        int32_t pad[11];
    } event = {0, sigalrm, sigev_signal, 0, {}};
    if (args[1] && mm::vm::copy_from_app(&event, reinterpret_cast<const void*>(args[1]), sizeof event)) return -e_fault;
    if (event.notify == sigev_thread) return -e_inval;  // libcs implement it with SIGEV_THREAD_ID
    if (event.notify != sigev_signal && event.notify != sigev_none && event.notify != sigev_thread_id) return -e_inval;
    if (event.notify != sigev_none && (event.signo < 1 || event.signo > signal_count)) return -e_inval;
    SignalProcess* owner = current_signals();
    Timers* all = my_timers();
    if (!all) return -e_again;
    if (event.notify == sigev_thread_id) {
        bool found = false;
        sched::SpinGuard guard(signal_lock);
        for (ThreadSignals* s = owner->threads; s; s = s->next) found |= s->tid == event.tid;
        if (!found) return -e_inval;
    }
    SignalTimer** timers = all->timers;
    int id = -1;
    {
        sched::SpinGuard guard(signal_lock);
        for (int i = 0; i < max_timers && id < 0; ++i) {
            if (!timers[i]) {
                id = i;
                timers[i] = reserved;
            }
        }
    }
    if (id < 0) return -e_again;
    void* p = malloc(sizeof(SignalTimer));
    if (!p) {
        sched::SpinGuard guard(signal_lock);
        timers[id] = nullptr;
        return -e_again;
    }
    auto* t = new (p) SignalTimer(id, owner);
    t->signal = event.signo;
    t->notify = event.notify;
    t->tid = event.tid;
    t->value = args[1] ? event.value : static_cast<uint64_t>(id);
    t->wall_clock = (clock::realtime_clock_mask | 1u << clock::clock_realtime_alarm) >> clock_id & 1;
    int32_t out = id;
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &out, sizeof out)) {
        t->~SignalTimer();
        free(t);
        sched::SpinGuard guard(signal_lock);
        timers[id] = nullptr;
        return -e_fault;
    }
    sched::SpinGuard guard(signal_lock);
    timers[id] = t;
    return 0;
}

int64_t sys_timer_settime(const uint64_t* args) {
    constexpr uint64_t timer_abstime = 1;
    SignalTimer* t = find_timer(args[0]);
    if (!t) return -e_inval;
    if (args[1] & ~timer_abstime) return -e_inval;
    struct {
        Timespec interval, value;
    } fresh, old;
    if (mm::vm::copy_from_app(&fresh, reinterpret_cast<const void*>(args[2]), sizeof fresh)) return -e_fault;
    if (!valid(fresh.interval) || !valid(fresh.value)) return -e_inval;
    uint64_t value = to_ns(fresh.value), now = clock::monotonic_ns();
    uint64_t deadline = 0;
    if (value) {
        // Absolute times are on the timer's clock: the wall clock's are moved to the monotonic
        // one with the offset between the two. A time already past is due now.
        deadline = now + value;
        if (args[1] & timer_abstime) {
            uint64_t offset = t->wall_clock ? clock::realtime_offset_ns() : 0;
            deadline = value > offset && value - offset > now ? value - offset : now;
        }
        if (!deadline) deadline = 1;
    }
    uint64_t old_left, old_interval;
    set(t, deadline, value ? to_ns(fresh.interval) : 0, &old_left, &old_interval);
    old = {to_timespec(old_interval), to_timespec(old_left)};
    if (args[3] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), &old, sizeof old)) return -e_fault;
    return 0;
}

int64_t sys_timer_gettime(const uint64_t* args) {
    SignalTimer* t = find_timer(args[0]);
    if (!t) return -e_inval;
    uint64_t left, interval;
    get(t, &left, &interval);
    struct {
        Timespec interval, value;
    } now = {to_timespec(interval), to_timespec(left)};
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &now, sizeof now) ? -e_fault : 0;
}

int64_t sys_timer_getoverrun(const uint64_t* args) {
    SignalTimer* t = find_timer(args[0]);
    if (!t) return -e_inval;
    sched::SpinGuard guard(signal_lock);
    return t->overrun;
}

int64_t sys_timer_delete(const uint64_t* args) {
    Timers* all = my_timers();
    if (!all || args[0] >= max_timers) return -e_inval;
    SignalTimer* t;
    {
        sched::SpinGuard guard(signal_lock);
        t = all->timers[args[0]];
        if (!t || t == reserved) return -e_inval;
        all->timers[args[0]] = nullptr;
    }
    delete_timer(t);
    return 0;
}

namespace mica::abi {
// Called by signal.cc (under signal_lock) when a signal of a timer is delivered: its overrun
// count becomes what timer_getoverrun reports.
void timer_signal_delivered(const SigInfo& info) {
    if (info.code != si_timer) return;
    Process* p = current_process();
    auto* all = p ? static_cast<Timers*>(p->timers) : nullptr;
    int id = info.timer.timer_id;
    if (all && id >= 0 && id < max_timers && all->timers[id] && all->timers[id] != reserved) {
        all->timers[id]->overrun = info.timer.overrun;
    }
}

void timers_free(void* p) {
    auto* all = static_cast<Timers*>(p);
    if (!all) return;
    for (SignalTimer* t : all->timers) {
        if (t && t != reserved) delete_timer(t);
    }
    for (SignalTimer* t : all->itimers) {
        if (t) delete_timer(t);
    }
    free(all);
}

void timers_exec() {
    Process* p = current_process();
    auto* all = p ? static_cast<Timers*>(p->timers) : nullptr;
    if (!all) return;
    for (SignalTimer*& t : all->timers) {
        SignalTimer* gone;
        {
            sched::SpinGuard guard(signal_lock);
            gone = t != reserved ? t : nullptr;
            if (gone) t = nullptr;
        }
        if (gone) delete_timer(gone);
    }
}
}  // namespace mica::abi
