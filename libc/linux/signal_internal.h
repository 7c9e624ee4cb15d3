// Signal state shared by signal.cc (delivery) and signal_syscalls.cc / itimer.cc (the
// system calls). Everything here is guarded by signal_lock.
#pragma once

#include <mica/linux/process.h>
#include <mica/linux/signal.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <stdint.h>

namespace mica::abi {

inline constexpr uint64_t sig_dfl = 0, sig_ign = 1;
inline constexpr uint64_t sa_siginfo = 4, sa_onstack = 0x08000000, sa_restart = 0x10000000,
                          sa_nodefer = 0x40000000, sa_resethand = 0x80000000, sa_restorer = 0x04000000,
                          sa_nocldstop = 1, sa_nocldwait = 2;
inline constexpr int ss_onstack = 1, ss_disable = 2;
inline constexpr int ss_autodisarm = int(1u << 31);

inline constexpr uint64_t bit(int sig) { return uint64_t{1} << (sig - 1); }

// struct sigaction as the kernel takes it (x86_64 and aarch64 alike).
struct KernelSigaction {
    uint64_t handler, flags, restorer, mask;
};

struct PendingSignal {
    SigInfo info;
    PendingSignal* next;
};

// Signals pending on a thread or the process: a bit per signal number and the queued
// siginfo records in arrival order (one per standard signal, each for real-time ones).
struct PendingSet {
    uint64_t bits = 0;
    PendingSignal* head = nullptr;
    size_t queued = 0;  // real-time records (at most max_queued)
};

struct SignalProcess;

struct ThreadSignals {
    SignalProcess* owner;
    sched::Thread* thread;
    int tid;
    uint64_t mask;
    PendingSet pending;
    uint64_t saved_mask;      // rt_sigsuspend: the mask to restore after the handler
    bool saved_mask_valid;
    uint64_t waiting;         // rt_sigtimedwait: the set being waited for (wakes, not delivered)
    uint64_t alt_sp, alt_size;
    int alt_flags;
    // A fault that will end the process (fault_signal): its report.
    const char* fatal_what;
    uintptr_t fatal_address, fatal_pc;
    ThreadSignals* next;      // the process's threads
};

// A process's signal state: dispositions, the process-directed pending set, its threads.
struct SignalProcess {
    KernelSigaction actions[signal_count + 1];
    PendingSet pending;
    ThreadSignals* threads;
    int pid;
    // Job control: stopped by a stop signal's default action until SIGCONT or SIGKILL
    // (atomic: threads wait on stop_wait without signal_lock); what wait4 has yet to report
    // (WUNTRACED, WCONTINUED) and the parent to hear (SIGCHLD), under signal_lock.
    uint8_t stopped;
    int stop_signal;
    bool stop_report, continue_report, continue_notice;
    sched::WaitQueue stop_wait;
};

extern sched::Spinlock signal_lock;
// The calling thread's process's (nullptr on kernel threads).
SignalProcess* current_signals();

// Removes the first queued `sig` from `set` into *out (a record-less one: from the kernel).
// Returns whether one was pending.
bool dequeue(PendingSet& set, int sig, SigInfo* out);
// The next signal to deliver among `bits`: synchronous faults first, then the lowest.
int pick_signal(uint64_t bits);
// Re-marks or clears the current thread after its mask or pending set changed.
void refresh_current();
// Marks every thread of `p` that now has something deliverable.
void wake_takers(SignalProcess& p);
// Whether `sig` is ignored in `p` (explicitly, or by default).
bool ignored_in(const SignalProcess& p, int sig);
bool on_alternate_stack(const ThreadSignals* t, uintptr_t sp);
// Queues `info` for thread `tid` of `p` (0: the process); under signal_lock.
int64_t post_locked(SignalProcess& p, int tid, const SigInfo& info);
// itimer.cc: a timer's signal was delivered (its overrun is what timer_getoverrun reports);
// the fork emulation's set-aside of the parent's timers.
void timer_signal_delivered(const SigInfo& info);
// A process's timers (Process::timers): freed when it ends; exec deletes the POSIX ones
// and keeps the interval timers, as Linux.
void timers_free(void* timers);
void timers_exec();
// kill/tgkill/tkill: a signal from the calling process (tid 0: process-directed).
int64_t send_user_signal(int pid, int tid, int sig, int code);

}  // namespace mica::abi
