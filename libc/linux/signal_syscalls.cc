// Signal system calls (signals.def): dispositions, masks, alternate stacks, sending, and
// waiting for signals. The state and delivery are in signal.cc.
#include "signal_internal.h"
#include <stdint.h>
#include <initializer_list>
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/clock.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>

using namespace mica;
using namespace mica::abi;

namespace {
constexpr int64_t e_perm = 1, e_srch = 3, e_again = 11, e_nomem = 12, e_fault = 14, e_inval = 22;
constexpr uint64_t unblockable = bit(sigkill) | bit(sigstop);
constexpr size_t sigset_size = 8;

int64_t read_sigset(uint64_t address, uint64_t* set) {
    return mm::vm::copy_from_app(set, reinterpret_cast<const void*>(address), sizeof *set) ? -e_fault : 0;
}
int64_t write_app(uint64_t address, const void* value, size_t size) {
    return mm::vm::copy_to_app(reinterpret_cast<void*>(address), value, size) ? -e_fault : 0;
}

bool valid_signal(int64_t sig) { return sig >= 1 && sig <= signal_count; }

// Blocks in an interruptible wait until a signal is deliverable (or `timeout_ns` passes,
// when not 0). Returns false on timeout.
bool wait_for_signal(uint64_t timeout_ns) {
    sched::InterruptibleScope scope;
    sched::WaitQueue nobody;  // only interrupt() ends the wait
    sched::WaitQueue::Guard guard(nobody);
    uint64_t deadline = timeout_ns ? clock::monotonic_ns() + timeout_ns : 0;
    while (!sched::interrupted()) {
        uint64_t left = 0;
        if (deadline) {
            uint64_t now = clock::monotonic_ns();
            if (now >= deadline) return false;
            left = deadline - now;
        }
        nobody.wait(guard, left);
    }
    return true;
}
}  // namespace

int64_t sys_rt_sigaction(const uint64_t* args) {
    int sig = static_cast<int>(args[0]);
    if (!valid_signal(sig) || args[3] != sigset_size) return -e_inval;
    KernelSigaction fresh;
    if (args[1]) {
        if (sig == sigkill || sig == sigstop) return -e_inval;
        if (mm::vm::copy_from_app(&fresh, reinterpret_cast<const void*>(args[1]), sizeof fresh)) return -e_fault;
        fresh.mask &= ~unblockable;
    }
    KernelSigaction old;
    SignalProcess& process_signals = *current_signals();
    {
        sched::SpinGuard guard(signal_lock);
        old = process_signals.actions[sig];
        if (args[1]) {
            process_signals.actions[sig] = fresh;
            // POSIX: setting a pending signal to be ignored discards it.
            bool ignored = fresh.handler == sig_ign ||
                           (fresh.handler == sig_dfl && (sig == sigchld || sig == sigcont || sig == sigurg ||
                                                         sig == sigwinch));
            if (ignored) {
                while (dequeue(process_signals.pending, sig, nullptr)) {}
                for (ThreadSignals* t = process_signals.threads; t; t = t->next) {
                    while (dequeue(t->pending, sig, nullptr)) {}
                }
            }
        }
    }
    if (args[2] && write_app(args[2], &old, sizeof old)) return -e_fault;
    return 0;
}

int64_t sys_rt_sigprocmask(const uint64_t* args) {
    constexpr uint64_t sig_block = 0, sig_unblock = 1, sig_setmask = 2;
    if (args[3] != sigset_size) return -e_inval;
    ThreadSignals* self = current_thread_signals();
    uint64_t set = 0;
    if (args[1]) {
        if (args[0] > sig_setmask) return -e_inval;
        if (read_sigset(args[1], &set)) return -e_fault;
    }
    uint64_t old;
    {
        sched::SpinGuard guard(signal_lock);
        old = self->mask;
        if (args[1]) {
            uint64_t mask = args[0] == sig_block ? old | set : args[0] == sig_unblock ? old & ~set : set;
            self->mask = mask & ~unblockable;
            refresh_current();
        }
    }
    if (args[2] && write_app(args[2], &old, sizeof old)) return -e_fault;
    return 0;
}

int64_t sys_rt_sigpending(const uint64_t* args) {
    if (args[1] > sigset_size) return -e_inval;
    ThreadSignals* self = current_thread_signals();
    uint64_t pending;
    {
        sched::SpinGuard guard(signal_lock);
        pending = (self->pending.bits | self->owner->pending.bits) & self->mask;
    }
    return write_app(args[0], &pending, args[1]);
}

int64_t sys_sigaltstack(const uint64_t* args) {
    struct StackT {
        uint64_t sp;
        int32_t flags, pad;
        uint64_t size;
    };
    constexpr uint64_t min_size = arch::traits::min_signal_stack;
    ThreadSignals* self = current_thread_signals();
    StackT fresh = {};
    if (args[0] && mm::vm::copy_from_app(&fresh, reinterpret_cast<const void*>(args[0]), sizeof fresh)) return -e_fault;
    StackT old = {};
    bool on_stack = on_alternate_stack(self, arch::syscall_frame_sp(static_cast<const arch::SyscallFrame*>(sched::current()->syscall_frame)));
    {
        sched::SpinGuard guard(signal_lock);
        old = StackT{self->alt_sp, (self->alt_flags & ss_disable) ? ss_disable : (self->alt_flags & ss_autodisarm), 0,
                     self->alt_size};
        if (on_stack) old.flags = ss_onstack;
        if (self->alt_flags & ss_disable) old = StackT{0, ss_disable, 0, 0};
    }
    if (args[0]) {
        if (on_stack) return -e_perm;
        int mode = fresh.flags & ~ss_autodisarm;
        if (mode != 0 && mode != ss_disable && mode != ss_onstack) return -e_inval;
        sched::SpinGuard guard(signal_lock);
        if (mode == ss_disable) {
            self->alt_sp = 0;
            self->alt_size = 0;
            self->alt_flags = ss_disable;
        } else {
            if (fresh.size < min_size) return -e_nomem;
            self->alt_sp = fresh.sp;
            self->alt_size = fresh.size;
            self->alt_flags = fresh.flags & ss_autodisarm;
        }
    }
    if (args[1] && write_app(args[1], &old, sizeof old)) return -e_fault;
    return 0;
}

int64_t sys_kill(const uint64_t* args) {
    int pid = static_cast<int>(args[0]);
    int64_t sig = static_cast<int64_t>(args[1]);
    if (sig < 0 || sig > signal_count) return -e_inval;
    SigInfo info = {};
    info.signo = static_cast<int32_t>(sig);
    info.code = si_user;
    info.kill.pid = current_pid();
    if (pid > 0) return send_to_process(pid, info);
    // Its own group (0), group -pid, or every process but the first (-1), as Linux.
    if (pid == -1) return signal_group(-1, info, true);
    if (pid == INT32_MIN) return -e_srch;
    return signal_group(pid == 0 ? current_process_group() : -pid, info, false);
}

int64_t sys_tkill(const uint64_t* args) {
    int64_t tid = static_cast<int64_t>(args[0]), sig = static_cast<int64_t>(args[1]);
    if (tid <= 0 || sig < 0 || sig > signal_count) return -e_inval;
    return send_user_signal(-1, static_cast<int>(tid), static_cast<int>(sig), si_tkill);
}

int64_t sys_tgkill(const uint64_t* args) {
    int64_t tgid = static_cast<int64_t>(args[0]), tid = static_cast<int64_t>(args[1]), sig = static_cast<int64_t>(args[2]);
    if (tgid <= 0 || tid <= 0 || sig < 0 || sig > signal_count) return -e_inval;
    return send_user_signal(static_cast<int>(tgid), static_cast<int>(tid), static_cast<int>(sig), si_tkill);
}

namespace {
int64_t queue_info(int pid, int tid, int64_t sig, uint64_t info_address) {
    if (!valid_signal(sig)) return -e_inval;
    SigInfo info;
    if (mm::vm::copy_from_app(&info, reinterpret_cast<const void*>(info_address), sizeof info)) return -e_fault;
    // Linux refuses codes that would pretend to come from the kernel (or from kill).
    if (info.code >= 0 || info.code == si_tkill) return -e_perm;
    info.signo = static_cast<int32_t>(sig);
    return tid ? send_to_thread(pid, tid, info) : send_to_process(pid, info);
}
}  // namespace

int64_t sys_rt_sigqueueinfo(const uint64_t* args) {
    return queue_info(static_cast<int>(args[0]), 0, static_cast<int64_t>(args[1]), args[2]);
}

int64_t sys_rt_tgsigqueueinfo(const uint64_t* args) {
    if (static_cast<int>(args[0]) <= 0) return -e_inval;
    return queue_info(static_cast<int>(args[0]), static_cast<int>(args[1]), static_cast<int64_t>(args[2]), args[3]);
}

// pause and rt_sigsuspend end only when a handler runs: -EINTR (never restarted).
int64_t sys_pause(const uint64_t*) {
    wait_for_signal(0);
    return -e_intr;
}

int64_t sys_rt_sigsuspend(const uint64_t* args) {
    if (args[1] != sigset_size) return -e_inval;
    uint64_t mask;
    if (read_sigset(args[0], &mask)) return -e_fault;
    ThreadSignals* self = current_thread_signals();
    {
        sched::SpinGuard guard(signal_lock);
        self->saved_mask = self->mask;
        self->saved_mask_valid = true;  // the handler's frame restores it (signal.cc)
        self->mask = mask & ~unblockable;
        refresh_current();
    }
    wait_for_signal(0);
    return -e_intr;
}

int64_t sys_rt_sigtimedwait(const uint64_t* args) {
    if (args[3] != sigset_size) return -e_inval;
    uint64_t set;
    if (read_sigset(args[0], &set)) return -e_fault;
    set &= ~unblockable;
    uint64_t timeout_ns = 0;
    bool poll_only = false;
    if (args[2]) {
        struct {
            int64_t sec, nsec;
        } ts;
        if (mm::vm::copy_from_app(&ts, reinterpret_cast<const void*>(args[2]), sizeof ts)) return -e_fault;
        if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000) return -e_inval;
        timeout_ns = static_cast<uint64_t>(ts.sec) * 1000000000 + static_cast<uint64_t>(ts.nsec);
        poll_only = timeout_ns == 0;
    }
    ThreadSignals* self = current_thread_signals();
    uint64_t deadline = timeout_ns ? clock::monotonic_ns() + timeout_ns : 0;
    for (;;) {
        SigInfo info;
        int sig = 0;
        {
            sched::SpinGuard guard(signal_lock);
            uint64_t waiting = (self->pending.bits | self->owner->pending.bits) & set;
            sig = pick_signal(waiting);
            if (sig) {
                if (self->pending.bits & bit(sig)) dequeue(self->pending, sig, &info);
                else dequeue(self->owner->pending, sig, &info);
                self->waiting = 0;
                refresh_current();
            } else {
                self->waiting = set;  // these wake the thread though blocked (signal.cc)
                refresh_current();
            }
        }
        if (sig) {
            if (args[1] && write_app(args[1], &info, sizeof info)) return -e_fault;
            return sig;
        }
        bool other = false;
        {
            sched::SpinGuard guard(signal_lock);
            other = ((self->pending.bits | self->owner->pending.bits) & ~self->mask & ~set) != 0;
            if (other || poll_only) self->waiting = 0;
        }
        if (other) return -e_intr;  // a handler runs first
        if (poll_only) return -e_again;
        uint64_t left = 0;
        if (deadline) {
            uint64_t now = clock::monotonic_ns();
            if (now >= deadline) {
                sched::SpinGuard guard(signal_lock);
                self->waiting = 0;
                refresh_current();
                return -e_again;
            }
            left = deadline - now;
        }
        wait_for_signal(left);
    }
}

int64_t sys_restart_syscall(const uint64_t*) { return -e_intr; }
