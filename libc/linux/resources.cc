// Resource limits, usage, priorities and scheduling queries (process.def): prlimit64 and
// getrlimit/setrlimit, getrusage and times, getpriority/setpriority, the sched_* policy calls,
// getcpu and personality. Each process keeps its own values (processes.h), inherited across
// fork as Linux does.
//
// What is enforced: RLIMIT_NOFILE bounds the descriptor table. The other limits are kept and
// reported (programs read and set them, e.g. a shell's ulimit) but not enforced. Nice values
// and SCHED_BATCH/SCHED_IDLE are kept and reported; Mica's scheduler does not weigh them.
// Real-time policies (SCHED_FIFO, SCHED_RR) are refused with EPERM, Linux's answer to a
// process that may not use them: Mica cannot give their guarantees.
//
// CPU time comes from the scheduler (sched::cpu_cycles): user time is a thread's run time
// outside system calls, system time inside them (dispatch.cc measures it).
#include <mica/clock.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include <mica/linux/syscall.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <string.h>
#include "processes.h"
#include "signal_internal.h"

using namespace mica;
using abi::AppThread;
using abi::Process;
using abi::Usage;

namespace {
constexpr int64_t e_perm = 1, e_srch = 3, e_fault = 14, e_inval = 22, e_acces = 13;
constexpr uint64_t infinity = ~uint64_t{0};  // RLIM_INFINITY
constexpr int rlimit_stack = 3, rlimit_core = 4, rlimit_nproc = 6, rlimit_nofile = 7, rlimit_memlock = 8,
              rlimit_sigpending = 11, rlimit_msgqueue = 12, rlimit_nice = 13, rlimit_rtprio = 14;
constexpr uint64_t nr_open = 1048576;  // fs.nr_open: RLIMIT_NOFILE's ceiling
constexpr uint64_t ns_per_s = 1000000000;
constexpr uint64_t page_kib = 4;
constexpr int min_nice = -20, max_nice = 19;
constexpr int sched_other = 0, sched_fifo = 1, sched_rr = 2, sched_batch = 3, sched_idle = 5, sched_deadline = 6,
              sched_ext = 7;
constexpr int sched_reset_on_fork = 0x40000000;

Process* self() { return abi::current_process(); }

// The live process task id `id` names: a process id or one of its threads' ids, as Linux's
// find_task_by_vpid (nullptr: none). process_lock held.
Process* find_task(int id) {
    if (Process* p = abi::find_process(id)) return p;
    sched::SpinGuard guard(abi::signal_lock);
    for (Process* p = abi::all_processes; p; p = p->next) {
        if (p->zombie || !p->signals) continue;
        for (abi::ThreadSignals* t = p->signals->threads; t; t = t->next) {
            if (t->tid == id) return p;
        }
    }
    return nullptr;
}

// The process a pid argument of the scheduling calls names (0: the caller). process_lock held.
Process* target(int pid) { return pid == 0 ? self() : find_task(pid); }

// The ns of `cycles`, for a thread's user and system split.
void add_thread(Usage& u, const sched::Thread& thread, const AppThread& app) {
    uint64_t total = sched::cpu_cycles(thread), system = app.system_cycles < total ? app.system_cycles : total;
    u.user_ns += sched::cpu_cycles_to_ns(total - system);
    u.system_ns += sched::cpu_cycles_to_ns(system);
}

// struct rusage (both architectures): two timevals and fourteen longs.
struct Rusage {
    int64_t utime_sec, utime_usec, stime_sec, stime_usec;
    int64_t maxrss, ixrss, idrss, isrss, minflt, majflt, nswap, inblock, oublock, msgsnd, msgrcv, nsignals, nvcsw,
        nivcsw;
};
static_assert(sizeof(Rusage) == 144);

// The calling process's memory now into its peak and `u` (its address space is current).
void add_own_memory(Process* p, Usage& u) {
    mm::vm::Stats stats = mm::vm::stats();
    sched::SpinGuard guard(abi::signal_lock);
    if (stats.resident_pages > p->peak_rss_pages) p->peak_rss_pages = stats.resident_pages;
    u.max_rss_kib = p->peak_rss_pages * page_kib;
    u.minor_faults = stats.faults;
}
}  // namespace

namespace mica::abi {

void Usage::add(const Usage& other) {
    user_ns += other.user_ns;
    system_ns += other.system_ns;
    minor_faults += other.minor_faults;
    if (other.max_rss_kib > max_rss_kib) max_rss_kib = other.max_rss_kib;
}

void usage_to_rusage(const Usage& u, void* out) {
    Rusage r = {};
    r.utime_sec = static_cast<int64_t>(u.user_ns / ns_per_s);
    r.utime_usec = static_cast<int64_t>(u.user_ns % ns_per_s / 1000);
    r.stime_sec = static_cast<int64_t>(u.system_ns / ns_per_s);
    r.stime_usec = static_cast<int64_t>(u.system_ns % ns_per_s / 1000);
    r.maxrss = static_cast<int64_t>(u.max_rss_kib);
    r.minflt = static_cast<int64_t>(u.minor_faults);
    // Not counted here: major faults (nothing is paged in from a device), block I/O, IPC
    // messages, signals and context switches.
    memcpy(out, &r, sizeof r);
}

void init_process_resources(Process* p) {
    // Linux's defaults for the first process (INIT_RLIMITS), with its memory-derived process
    // and signal counts (max_threads / 2, from the machine's pages as fork_init computes).
    uint64_t tasks = mm::usage().total_pages / 64;
    if (tasks < 10) tasks = 10;
    for (ResourceLimit& l : p->limits) l = {infinity, infinity};
    p->limits[rlimit_stack] = {8 << 20, infinity};
    p->limits[rlimit_core] = {0, infinity};
    p->limits[rlimit_nproc] = {tasks, tasks};
    p->limits[rlimit_nofile] = {1024, 4096};  // INR_OPEN_CUR, INR_OPEN_MAX
    p->limits[rlimit_memlock] = {8 << 20, 8 << 20};
    p->limits[rlimit_sigpending] = {tasks, tasks};
    p->limits[rlimit_msgqueue] = {819200, 819200};
    p->limits[rlimit_nice] = {0, 0};
    p->limits[rlimit_rtprio] = {0, 0};
}

void inherit_process_resources(Process* child, const Process* parent) {
    sched::SpinGuard guard(process_lock);
    memcpy(child->limits, parent->limits, sizeof child->limits);
    child->personality = parent->personality;
    child->policy = parent->policy;
    child->nice = parent->nice;
    if (parent->reset_on_fork && child->nice < 0) child->nice = 0;  // SCHED_RESET_ON_FORK
}

void charge_thread_times(Process* p) {
    sched::Thread* thread = sched::current();
    auto* app = static_cast<AppThread*>(thread->app);
    sched::SpinGuard guard(signal_lock);
    add_thread(p->ended_threads, *thread, *app);
    app->times_charged = true;
}

Usage process_usage(Process* p, bool children) {
    sched::SpinGuard guard(signal_lock);
    if (children) return p->children_usage;
    Usage u = p->ended_threads;
    if (p->signals) {
        for (ThreadSignals* t = p->signals->threads; t; t = t->next) {
            auto* app = static_cast<AppThread*>(t->thread->app);
            if (app && !app->times_charged) add_thread(u, *t->thread, *app);
        }
    }
    return u;
}

void record_process_memory(Process* p) {
    Usage own;
    add_own_memory(p, own);
    sched::SpinGuard guard(signal_lock);
    p->ended_threads.max_rss_kib = own.max_rss_kib;
    p->ended_threads.minor_faults = own.minor_faults;
}

}  // namespace mica::abi

// ---- limits -------------------------------------------------------------------------------

// prlimit64(pid, resource, new, old), as Linux's do_prlimit: the new limit is read first,
// then the process found, then the resource and the limit checked; the old one is written
// last (after the new one took effect, so a bad pointer there still changes the limit).
int64_t sys_prlimit64(const uint64_t* args) {
    int pid = static_cast<int>(args[0]);
    auto resource = static_cast<uint32_t>(args[1]);
    abi::ResourceLimit wanted, old;
    bool set = args[2] != 0;
    if (set && mm::vm::copy_from_app(&wanted, reinterpret_cast<const void*>(args[2]), sizeof wanted)) return -e_fault;
    bool raise_ok = abi::capable(abi::cap_sys_resource);
    {
        sched::SpinGuard guard(abi::process_lock);
        Process* me = self();
        Process* p = pid == 0 ? me : find_task(pid);
        if (!p) return -e_srch;
        if (p != me && me && !raise_ok) {
            // Another process: only one with the caller's very ids, as Linux's
            // check_prlimit_permission (without CAP_SYS_RESOURCE).
            const abi::Credentials &c = me->credentials, &t = p->credentials;
            bool same = t.ruid == c.ruid && t.euid == c.ruid && t.suid == c.ruid && t.rgid == c.rgid &&
                        t.egid == c.rgid && t.sgid == c.rgid;
            if (!same) return -e_perm;
        }
        if (resource >= static_cast<uint32_t>(abi::rlimit_count)) return -e_inval;
        if (set) {
            if (wanted.soft > wanted.hard) return -e_inval;
            if (resource == rlimit_nofile && wanted.hard > nr_open) return -e_perm;
            if (wanted.hard > p->limits[resource].hard && !raise_ok) return -e_perm;
        }
        old = p->limits[resource];
        if (set) {
            p->limits[resource] = wanted;
            if (resource == rlimit_nofile && p->files) {
                abi::files_set_descriptor_limit(p->files, static_cast<int>(wanted.soft < nr_open ? wanted.soft : nr_open));
            }
        }
    }
    if (args[3] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), &old, sizeof old)) return -e_fault;
    return 0;
}

int64_t sys_getrlimit(const uint64_t* args) {
    const uint64_t a[4] = {0, args[0], 0, args[1]};
    return sys_prlimit64(a);
}

int64_t sys_setrlimit(const uint64_t* args) {
    const uint64_t a[4] = {0, args[0], args[1], 0};
    return sys_prlimit64(a);
}

// ---- usage --------------------------------------------------------------------------------

int64_t sys_getrusage(const uint64_t* args) {
    constexpr int rusage_self = 0, rusage_children = -1, rusage_thread = 1;
    int who = static_cast<int>(args[0]);
    if (who != rusage_self && who != rusage_children && who != rusage_thread) return -e_inval;
    Process* p = self();
    Usage u;
    if (p && who == rusage_thread) {
        add_thread(u, *sched::current(), *static_cast<AppThread*>(sched::current()->app));
        Usage memory;
        add_own_memory(p, memory);
        u.max_rss_kib = memory.max_rss_kib;  // the address space's, as Linux reports; faults are not kept per thread
    } else if (p) {
        u = abi::process_usage(p, who == rusage_children);
        if (who == rusage_self) add_own_memory(p, u);
    }
    uint8_t out[sizeof(Rusage)];
    abi::usage_to_rusage(u, out);
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), out, sizeof out) ? -e_fault : 0;
}

// times(buf): CPU times in clock ticks of USER_HZ (100 per second); returns the ticks since
// an arbitrary point (boot, here), as Linux's does.
int64_t sys_times(const uint64_t* args) {
    constexpr uint64_t ns_per_tick = ns_per_s / 100;
    if (args[0]) {
        Process* p = self();
        Usage own, children;
        if (p) {
            own = abi::process_usage(p, false);
            children = abi::process_usage(p, true);
        }
        int64_t tms[4] = {static_cast<int64_t>(own.user_ns / ns_per_tick), static_cast<int64_t>(own.system_ns / ns_per_tick),
                          static_cast<int64_t>(children.user_ns / ns_per_tick),
                          static_cast<int64_t>(children.system_ns / ns_per_tick)};
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[0]), tms, sizeof tms)) return -e_fault;
    }
    return static_cast<int64_t>(clock::monotonic_ns() / ns_per_tick);
}

// ---- priorities ---------------------------------------------------------------------------
namespace {
constexpr int prio_process = 0, prio_pgrp = 1, prio_user = 2;

// Calls f(p) for each live process getpriority/setpriority's (which, who) names; process_lock
// held. False for an unknown `which`.
template <typename F>
bool for_each_named(int which, int who, F f) {
    Process* me = self();
    switch (which) {
    case prio_process:
        if (Process* p = who == 0 ? me : find_task(who)) f(p);
        return true;
    case prio_pgrp: {
        int group = who == 0 ? (me ? me->pgid : 1) : who;
        abi::for_each_process([&](Process* p) {
            if (p->pgid == group) f(p);
        });
        return true;
    }
    case prio_user: {
        uint32_t user = who == 0 ? (me ? me->credentials.ruid : 0) : static_cast<uint32_t>(who);
        abi::for_each_process([&](Process* p) {
            if (p->credentials.ruid == user) f(p);
        });
        return true;
    }
    default:
        return false;
    }
}
}  // namespace

// The highest of the processes' priorities as 20 - nice (1..40), as the system call returns
// it (libc turns it back into a nice value).
int64_t sys_getpriority(const uint64_t* args) {
    int64_t best = -e_srch;
    sched::SpinGuard guard(abi::process_lock);
    if (!for_each_named(static_cast<int>(args[0]), static_cast<int>(args[1]), [&](Process* p) {
            if (20 - p->nice > best) best = 20 - p->nice;
        })) {
        return -e_inval;
    }
    return best;
}

int64_t sys_setpriority(const uint64_t* args) {
    int nice = static_cast<int>(args[2]);
    nice = nice < min_nice ? min_nice : nice > max_nice ? max_nice : nice;
    bool privileged = abi::capable(abi::cap_sys_nice);
    int64_t result = -e_srch;
    sched::SpinGuard guard(abi::process_lock);
    Process* me = self();
    uint32_t euid = me ? me->credentials.euid : 0;
    if (!for_each_named(static_cast<int>(args[0]), static_cast<int>(args[1]), [&](Process* p) {
            // As Linux's set_one_prio: each process it may change is changed; the result is
            // the last refusal, else 0.
            const abi::Credentials& c = p->credentials;
            if (c.ruid != euid && c.euid != euid && !privileged) {
                result = -e_perm;
            } else if (nice < p->nice && 20 - nice > static_cast<int64_t>(p->limits[rlimit_nice].soft) && !privileged) {
                result = -e_acces;  // more priority needs CAP_SYS_NICE or RLIMIT_NICE
            } else {
                p->nice = nice;
                if (result == -e_srch) result = 0;
            }
        })) {
        return -e_inval;
    }
    return result;
}

// ---- scheduling policies ------------------------------------------------------------------
namespace {
bool rt_policy(int policy) { return policy == sched_fifo || policy == sched_rr; }
bool valid_policy(int policy) {
    return policy == sched_other || policy == sched_batch || policy == sched_idle || rt_policy(policy) ||
           policy == sched_deadline;
}

// sched_setscheduler/sched_setparam (`policy` -1: keep it), as Linux's __sched_setscheduler.
int64_t set_scheduler(int pid, int policy, uint64_t param_address) {
    if (!param_address || pid < 0) return -e_inval;
    int32_t priority;
    if (mm::vm::copy_from_app(&priority, reinterpret_cast<const void*>(param_address), sizeof priority)) return -e_fault;
    bool privileged = abi::capable(abi::cap_sys_nice);
    sched::SpinGuard guard(abi::process_lock);
    Process* p = target(pid);
    if (!p) return -e_srch;
    bool reset = p->reset_on_fork;
    if (policy < 0) {
        policy = p->policy;
    } else {
        reset = (policy & sched_reset_on_fork) != 0;
        policy &= ~sched_reset_on_fork;
        if (!valid_policy(policy)) return -e_inval;
    }
    // FIFO and RR take 1..99, the others 0; DEADLINE needs sched_setattr's parameters.
    if (static_cast<uint32_t>(priority) > 99 || rt_policy(policy) != (priority != 0) || policy == sched_deadline) {
        return -e_inval;
    }
    if (rt_policy(policy)) return -e_perm;  // not available here (see the top of this file)
    Process* me = self();
    if (p != me && me && !privileged && p->credentials.ruid != me->credentials.euid &&
        p->credentials.euid != me->credentials.euid) {
        return -e_perm;
    }
    p->policy = policy;
    p->reset_on_fork = reset;
    return 0;
}
}  // namespace

int64_t sys_sched_getscheduler(const uint64_t* args) {
    int pid = static_cast<int>(args[0]);
    if (pid < 0) return -e_inval;
    sched::SpinGuard guard(abi::process_lock);
    Process* p = target(pid);
    if (!p) return pid == 0 ? sched_other : -e_srch;
    return p->policy | (p->reset_on_fork ? sched_reset_on_fork : 0);
}

int64_t sys_sched_setscheduler(const uint64_t* args) {
    return set_scheduler(static_cast<int>(args[0]), static_cast<int>(args[1]), args[2]);
}

int64_t sys_sched_setparam(const uint64_t* args) { return set_scheduler(static_cast<int>(args[0]), -1, args[1]); }

int64_t sys_sched_getparam(const uint64_t* args) {
    int pid = static_cast<int>(args[0]);
    if (!args[1] || pid < 0) return -e_inval;
    {
        sched::SpinGuard guard(abi::process_lock);
        if (pid != 0 && !target(pid)) return -e_srch;
    }
    int32_t priority = 0;  // every policy Mica runs has static priority 0
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &priority, sizeof priority) ? -e_fault : 0;
}

int64_t sys_sched_get_priority_max(const uint64_t* args) {
    int policy = static_cast<int>(args[0]);
    if (rt_policy(policy)) return 99;
    return valid_policy(policy) || policy == sched_ext ? 0 : -e_inval;
}

int64_t sys_sched_get_priority_min(const uint64_t* args) {
    int policy = static_cast<int>(args[0]);
    if (rt_policy(policy)) return 1;
    return valid_policy(policy) || policy == sched_ext ? 0 : -e_inval;
}

// The round-robin interval: the scheduler's time slice, for every policy.
int64_t sys_sched_rr_get_interval(const uint64_t* args) {
    int pid = static_cast<int>(args[0]);
    if (pid < 0) return -e_inval;
    {
        sched::SpinGuard guard(abi::process_lock);
        if (pid != 0 && !target(pid)) return -e_srch;
    }
    int64_t ts[2] = {0, static_cast<int64_t>(sched::time_slice_ns)};
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), ts, sizeof ts) ? -e_fault : 0;
}

// personality(persona): 0xffffffff asks; anything else is recorded (Linux accepts any value),
// inherited by children and kept across execve. Mica's behaviour does not change with it
// (no address randomisation to turn off, a 64-bit ABI only).
int64_t sys_personality(const uint64_t* args) {
    constexpr uint32_t query = 0xffffffff;
    auto persona = static_cast<uint32_t>(args[0]);
    sched::SpinGuard guard(abi::process_lock);
    Process* p = self();
    if (!p) return 0;
    uint32_t old = p->personality;
    if (persona != query) p->personality = persona;
    return static_cast<int32_t>(old);
}
