// Signal state and delivery (signal.h). The system calls are in signal_syscalls.cc, the
// frames in each architecture's signal_frame.cc.
//
// Locking: `signal_lock` (a spinlock; interrupts off while held) covers the dispositions,
// every pending set and mask, and the list of threads. Timer callbacks send signals from
// interrupt context, so nothing under it sleeps or touches application memory.
#include "signal_internal.h"
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/linux/process.h>
#include "processes.h"
#include <mica/mm/file_pager.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <initializer_list>
#include <stdlib.h>
#include <string.h>

namespace mica::abi {

sched::Spinlock signal_lock;

namespace {
constexpr size_t max_queued = 1024;  // real-time signals queued per set (RLIMIT_SIGPENDING)

bool default_ignored(int sig) { return sig == sigchld || sig == sigcont || sig == sigurg || sig == sigwinch; }
bool stop_signal(int sig) { return sig == sigstop || sig == sigtstp || sig == sigttin || sig == sigttou; }

// Whether a signal sent now would be thrown away: ignored, explicitly or by default, and not
// blocked by the thread it is for (a blocked one stays pending: its disposition may change
// before it is unblocked, as on Linux).
bool discarded(const SignalProcess& p, int sig, const ThreadSignals* target) {
    if (!ignored_in(p, sig)) return false;
    if (target) return !(target->mask & bit(sig)) && !(target->waiting & bit(sig));
    for (ThreadSignals* t = p.threads; t; t = t->next) {
        if ((t->mask & bit(sig)) || (t->waiting & bit(sig))) return false;
    }
    return true;
}

uint64_t deliverable(const ThreadSignals* t) {
    return (t->pending.bits | t->owner->pending.bits) & (~t->mask | t->waiting);
}

// Marks `t` if it has something to deliver. Under signal_lock.
void notify(ThreadSignals* t) {
    if (deliverable(t)) sched::interrupt(t->thread);
}

bool enqueue(PendingSet& set, const SigInfo& info) {
    int sig = info.signo;
    if (sig < 32 && (set.bits & bit(sig))) return true;  // a standard signal is pending once
    if (sig >= 32 && set.queued >= max_queued) return false;
    auto* p = static_cast<PendingSignal*>(malloc(sizeof(PendingSignal)));
    if (!p) return false;
    p->info = info;
    p->next = nullptr;
    PendingSignal** tail = &set.head;
    while (*tail) tail = &(*tail)->next;
    *tail = p;
    set.bits |= bit(sig);
    if (sig >= 32) ++set.queued;
    return true;
}

// The thread of this process that takes a process-directed `sig`: the current one when it
// can, else the first that does not block it or waits for it (sigwait).
bool takes(const ThreadSignals* t, int sig) { return !(t->mask & bit(sig)) || (t->waiting & bit(sig)); }
ThreadSignals* taker(SignalProcess& p, int sig) {
    auto* self = current_thread_signals();
    if (self && self->owner == &p && takes(self, sig)) return self;
    for (ThreadSignals* t = p.threads; t; t = t->next) {
        if (takes(t, sig)) return t;
    }
    return nullptr;
}

void discard_everywhere(SignalProcess& p, int sig) {
    while (dequeue(p.pending, sig, nullptr)) {}
    for (ThreadSignals* t = p.threads; t; t = t->next) {
        while (dequeue(t->pending, sig, nullptr)) {}
    }
}

// Ends a stop (SIGCONT, SIGKILL): the stopped threads go on (signal_lock held).
void resume(SignalProcess& p, bool report) {
    if (!__atomic_load_n(&p.stopped, __ATOMIC_ACQUIRE)) return;
    __atomic_store_n(&p.stopped, uint8_t{0}, __ATOMIC_RELEASE);
    p.stop_report = false;
    if (report) p.continue_report = p.continue_notice = true;
    sched::WaitQueue::Guard guard(p.stop_wait);
    p.stop_wait.wake_all();
}

// As Linux: a stop signal discards a pending SIGCONT and the other way round; SIGCONT
// continues a stopped process even when it is blocked, ignored or handled.
int64_t post(SignalProcess& p, ThreadSignals* target, const SigInfo& info) {
    int sig = info.signo;
    if (sig == 0) return 0;
    if (sig < 1 || sig > signal_count) return -22;
    if (stop_signal(sig)) discard_everywhere(p, sigcont);
    if (sig == sigcont) {
        for (int stop : {sigstop, sigtstp, sigttin, sigttou}) discard_everywhere(p, stop);
        resume(p, true);
    }
    if (sig == sigkill) resume(p, false);
    if (discarded(p, sig, target) && sig != sigkill) return 0;
    PendingSet& set = target ? target->pending : p.pending;
    if (!enqueue(set, info)) return -11;
    ThreadSignals* t = target ? target : taker(p, sig);
    if (sig == sigkill) {
        // SIGKILL cannot be blocked: every thread hears it (the process ends).
        for (ThreadSignals* each = p.threads; each; each = each->next) sched::interrupt(each->thread);
        return 0;
    }
    if (t) notify(t);
    return 0;
}

// Fills the siginfo of a signal sent by the calling process.
SigInfo user_info(int sig, int code) {
    SigInfo info = {};
    info.signo = sig;
    info.code = code;
    info.kill.pid = current_pid();
    info.kill.uid = 0;
    return info;
}
}  // namespace

bool ignored_in(const SignalProcess& p, int sig) {
    uint64_t h = p.actions[sig].handler;
    return h == sig_ign || (h == sig_dfl && default_ignored(sig));
}

SignalProcess* current_signals() {
    ThreadSignals* self = current_thread_signals();
    return self ? self->owner : nullptr;
}

ThreadSignals* current_thread_signals() {
    auto* app = static_cast<AppThread*>(sched::current()->app);
    return app ? static_cast<ThreadSignals*>(app->signals) : nullptr;
}

bool dequeue(PendingSet& set, int sig, SigInfo* out) {
    PendingSignal** link = &set.head;
    bool found = false;
    bool more = false;
    while (*link) {
        PendingSignal* p = *link;
        if (p->info.signo == sig) {
            if (!found) {
                found = true;
                if (out) *out = p->info;
                *link = p->next;
                if (sig >= 32) --set.queued;
                free(p);
                continue;
            }
            more = true;
        }
        link = &p->next;
    }
    if (!more) set.bits &= ~bit(sig);
    if (!found && out) *out = user_info(sig, si_kernel);
    return found || (set.bits & bit(sig));
}

int pick_signal(uint64_t bits) {
    if (!bits) return 0;
    for (int sig : {sigsegv, sigbus, sigill, sigtrap, sigfpe, 31}) {
        if (bits & bit(sig)) return sig;
    }
    return __builtin_ctzll(bits) + 1;
}

void refresh_current() {
    ThreadSignals* self = current_thread_signals();
    if (!self) return;
    if (deliverable(self)) sched::interrupt(self->thread);
    else sched::clear_interrupt();
}

void wake_takers(SignalProcess& p) {
    for (ThreadSignals* t = p.threads; t; t = t->next) notify(t);
}

int64_t post_locked(SignalProcess& p, int tid, const SigInfo& info) {
    if (!tid) return post(p, nullptr, info);
    for (ThreadSignals* t = p.threads; t; t = t->next) {
        if (t->tid == tid) return post(p, t, info);
    }
    return -3;
}

int64_t send_to_process(int pid, const SigInfo& info) {
    sched::SpinGuard processes(process_lock);  // keeps the process from going away
    Process* target = find_process(pid);
    if (!target || !target->signals || target->exiting) return target ? 0 : -3;
    sched::SpinGuard guard(signal_lock);
    return post(*target->signals, nullptr, info);
}

// A thread of the calling process (tgid 0) or of process `tgid`, or any thread (tgid -1).
int64_t send_to_thread(int tgid, int tid, const SigInfo& info) {
    sched::SpinGuard processes(process_lock);
    for (Process* p = all_processes; p; p = p->next) {
        if (p->zombie || !p->signals || (tgid > 0 && p->pid != tgid)) continue;
        sched::SpinGuard guard(signal_lock);
        for (ThreadSignals* t = p->signals->threads; t; t = t->next) {
            if (t->tid == tid) return p->exiting ? 0 : post(*p->signals, t, info);
        }
    }
    return -3;
}

int64_t send_to_thread(int tid, const SigInfo& info) { return send_to_thread(current_pid(), tid, info); }

int64_t send_user_signal(int pid, int tid, int sig, int code) {
    if (sig < 0 || sig > signal_count) return -22;
    SigInfo info = user_info(sig, code);
    return tid ? send_to_thread(pid, tid, info) : send_to_process(pid, info);
}

int64_t signal_group(int pgid, const SigInfo& info, bool skip_first) {
    sched::SpinGuard processes(process_lock);
    int64_t result = -3;
    for (Process* p = all_processes; p; p = p->next) {
        if (p->zombie || p->exiting || !p->signals || (pgid > 0 && p->pgid != pgid)) continue;
        if (skip_first && p->pid == 1) continue;
        sched::SpinGuard guard(signal_lock);
        int64_t r = post(*p->signals, nullptr, info);
        if (result != 0) result = r;
    }
    return result;
}

void signal_process_group(int pgid, int signal) {
    SigInfo info = {};
    info.signo = signal;
    info.code = si_kernel;
    signal_group(pgid, info, false);
}

void send_sigpipe() {
    ThreadSignals* self = current_thread_signals();
    if (!self) return;
    SigInfo info = user_info(sigpipe, si_user);
    sched::SpinGuard guard(signal_lock);
    post(*self->owner, self, info);
}

bool signal_pending() { return sched::interrupted(); }

bool children_reaped_automatically(const SignalProcess* p) {
    if (!p) return false;
    sched::SpinGuard guard(signal_lock);
    const KernelSigaction& a = p->actions[sigchld];
    return a.handler == sig_ign || (a.flags & sa_nocldwait);
}

void fault_signal(int signal, int code, uintptr_t fault_address, const char* what, uintptr_t address, uintptr_t pc) {
    ThreadSignals* self = current_thread_signals();
    SigInfo info = {};
    info.signo = signal;
    info.code = code;
    info.fault.address = fault_address;
    int sig = signal;
    // Linux's si_code: an access the area's protection forbids is SEGV_ACCERR, an address in
    // no area SEGV_MAPERR (a PROT_NONE page is not present, so the CPU cannot tell).
    int prot;
    if (sig == sigsegv && mm::vm::area_protection(info.fault.address & ~uintptr_t{4095}, 1, &prot) == 0) {
        info.code = segv_accerr;
    }
    // Queued at the head: it is delivered before anything else, on the way back to the
    // application - also when it ends the process, so that the exit (which may sleep) runs on
    // the thread's own stack rather than on a fault's.
    auto* p = self ? static_cast<PendingSignal*>(malloc(sizeof(PendingSignal))) : nullptr;
    if (!p) kill_application(sig, what, address, pc);  // no thread state or no memory: at once
    sched::SpinGuard guard(signal_lock);
    KernelSigaction& action = self->owner->actions[sig];
    if (action.handler == sig_dfl || action.handler == sig_ign || (self->mask & bit(sig))) {
        // As Linux's force_sig: blocked or ignored, it is unblocked and takes its default action.
        self->mask &= ~bit(sig);
        action.handler = sig_dfl;
        self->fatal_what = what;
        self->fatal_address = address;
        self->fatal_pc = pc;
    }
    p->info = info;
    p->next = self->pending.head;
    self->pending.head = p;
    self->pending.bits |= bit(sig);
    if (sig >= 32) ++self->pending.queued;
    sched::interrupt(self->thread);
}

namespace {
void notify_parent(int code, int status) {
    Process* self = current_process();
    Process* parent = hold_parent();
    if (!parent) return;
    bool quiet;
    {
        sched::SpinGuard guard(process_lock);
        sched::SpinGuard signals(signal_lock);
        quiet = !parent->signals || (parent->signals->actions[sigchld].flags & sa_nocldstop);
    }
    if (!quiet) {
        SigInfo chld = {};
        chld.signo = sigchld;
        chld.code = code;
        chld.child.pid = self->pid;
        chld.child.status = status;
        send_to_process(parent->pid, chld);
    }
    {
        sched::WaitQueue::Guard guard(parent->children);  // wait4's WUNTRACED / WCONTINUED
        parent->children.wake_all();
    }
    put_process(parent);
}

void notify_parent_of_stop(SignalProcess&, int sig) {
    constexpr int cld_stopped = 5;
    notify_parent(cld_stopped, sig);
}

// A stopped process's threads wait here (at a delivery point, nothing held) for SIGCONT or
// SIGKILL; the first to go on tells the parent it continued.
void wait_while_stopped(SignalProcess& p) {
    {
        sched::WaitQueue::Guard guard(p.stop_wait);
        while (__atomic_load_n(&p.stopped, __ATOMIC_ACQUIRE)) p.stop_wait.wait(guard);
    }
    bool notice;
    {
        sched::SpinGuard guard(signal_lock);
        notice = p.continue_notice;
        p.continue_notice = false;
    }
    constexpr int cld_continued = 6;
    if (notice) notify_parent(cld_continued, sigcont);
}

// The default action of `sig`, which ends the process (ignored ones never get here).
[[noreturn]] void default_action(ThreadSignals* self, int sig, const SigInfo& info) {
    // A fault's report names what was accessed where.
    if (self->fatal_what && (sig == sigsegv || sig == sigbus || sig == sigill || sig == sigtrap || sig == sigfpe)) {
        kill_application(sig, self->fatal_what, self->fatal_address, self->fatal_pc);
    }
    if (info.code == si_kernel || info.code == si_user || info.code == si_tkill || info.code == si_queue) {
        const char* how = info.code == si_kernel ? "sent by the kernel" : "sent by the application";
        kill_application(sig, how, 0, 0);
    }
    kill_application(sig, "its default action", 0, 0);
}
}  // namespace

void deliver_signals(arch::UserRegs* regs, const SyscallReturn* syscall) {
    // A file page the application faulted on, read in here where the thread may sleep
    // (mm/file_pager.h); the faulting instruction runs again on return. A file that cannot
    // be read gives SIGBUS, as on Linux.
    uintptr_t fault_at = 0;
    if (int r = mm::vm::complete_file_fault(&fault_at); r < 0) {
        if (r == -mm::errno_nomem) kill_application_out_of_memory(fault_at, arch::user_pc(regs));
        fault_signal(sigbus, bus_adrerr, fault_at, "read of a file page from", fault_at, arch::user_pc(regs));
    }
    ThreadSignals* self = current_thread_signals();
    if (!self) return;
    SignalProcess& process = *self->owner;
    bool restart_pending = syscall && arch::syscall_result(regs) == -e_restart;
    for (;;) {
        // The process is ending (exit_group, a fatal signal in another thread): so does this thread.
        if (thread_must_end()) end_current_thread(0);
        if (__atomic_load_n(&process.stopped, __ATOMIC_ACQUIRE)) wait_while_stopped(process);
        SigInfo info;
        KernelSigaction action;
        uint64_t saved_mask = 0;
        {
            sched::SpinGuard guard(signal_lock);
            uint64_t bits = (self->pending.bits | process.pending.bits) & ~self->mask;
            int sig = pick_signal(bits);
            if (!sig) {
                sched::clear_interrupt();
                if (self->saved_mask_valid) {  // sigsuspend ended without a handler
                    self->mask = self->saved_mask;
                    self->saved_mask_valid = false;
                }
                refresh_current();
                break;
            }
            if (self->pending.bits & bit(sig)) dequeue(self->pending, sig, &info);
            else dequeue(process.pending, sig, &info);
            timer_signal_delivered(info);
            action = process.actions[sig];
            if (action.handler == sig_ign) continue;
            if (action.handler == sig_dfl) {
                if (default_ignored(sig)) continue;
                if (stop_signal(sig)) {
                    // The default action stops the process (below, without the lock).
                    process.stop_signal = sig;
                    process.stop_report = true;
                    process.continue_report = false;
                    __atomic_store_n(&process.stopped, uint8_t{1}, __ATOMIC_RELEASE);
                    for (ThreadSignals* t = process.threads; t; t = t->next) {
                        if (t != self) sched::interrupt(t->thread);
                    }
                }
            } else {
                saved_mask = self->saved_mask_valid ? self->saved_mask : self->mask;
                self->saved_mask_valid = false;
                self->mask |= action.mask | ((action.flags & sa_nodefer) ? 0 : bit(sig));
                self->mask &= ~(bit(sigkill) | bit(sigstop));
                if (action.flags & sa_resethand) {
                    process.actions[sig].handler = sig_dfl;
                    process.actions[sig].flags &= ~sa_siginfo;
                }
            }
        }
        if (action.handler == sig_dfl && stop_signal(info.signo)) {
            notify_parent_of_stop(process, info.signo);
            continue;  // the loop's start waits while stopped
        }
        if (action.handler == sig_dfl) default_action(self, info.signo, info);
        if (restart_pending) {
            if (action.flags & sa_restart) arch::restart_syscall(regs, syscall->number, syscall->first_argument);
            else arch::set_syscall_result(regs, -e_intr);
            restart_pending = false;
        }
        arch::SignalFrameRequest request = {};
        request.signal = info.signo;
        request.info = &info;
        request.handler = action.handler;
        request.restorer = (action.flags & sa_restorer) ? action.restorer : 0;
        request.saved_mask = saved_mask;
        request.altstack_sp = self->alt_sp;
        request.altstack_size = self->alt_size;
        request.altstack_flags = self->alt_flags;
        uintptr_t sp = arch::user_sp(regs);
        bool on_alt = on_alternate_stack(self, sp);
        if ((action.flags & sa_onstack) && !(self->alt_flags & ss_disable) && !on_alt) {
            request.stack_top = self->alt_sp + self->alt_size;
            if (self->alt_flags & ss_autodisarm) {
                self->alt_sp = 0;
                self->alt_size = 0;
                self->alt_flags = ss_disable;
            }
        }
        if (on_alt) request.altstack_flags |= ss_onstack;
        if (!arch::push_signal_frame(regs, request)) {
            // As Linux: a frame that cannot be written is a SIGSEGV the thread cannot catch.
            kill_application(sigsegv, "cannot write a signal frame at", request.stack_top ? request.stack_top : sp,
                             arch::user_pc(regs));
        }
    }
    if (restart_pending) arch::restart_syscall(regs, syscall->number, syscall->first_argument);
}

bool on_alternate_stack(const ThreadSignals* t, uintptr_t sp) {
    return !(t->alt_flags & ss_disable) && t->alt_size && sp > t->alt_sp && sp <= t->alt_sp + t->alt_size;
}

void signal_return(arch::UserRegs* regs) {
    ThreadSignals* self = current_thread_signals();
    uint64_t mask = 0;
    if (!self || !arch::pop_signal_frame(regs, &mask)) {
        kill_application(sigsegv, "rt_sigreturn with a bad signal frame at", arch::user_sp(regs), arch::user_pc(regs));
    }
    sched::SpinGuard guard(signal_lock);
    self->mask = mask & ~(bit(sigkill) | bit(sigstop));
    refresh_current();
}

ThreadSignals* new_thread_signals(SignalProcess* owner, sched::Thread* thread, int tid, const ThreadSignals* parent) {
    auto* s = static_cast<ThreadSignals*>(calloc(1, sizeof(ThreadSignals)));
    if (!s) return nullptr;
    s->owner = owner;
    s->thread = thread;
    s->tid = tid;
    s->alt_flags = ss_disable;
    if (parent) s->mask = parent->mask;  // a new thread inherits the mask, not the pending set
    if (parent && parent->owner != owner) {
        // fork: the child's thread also inherits the alternate stack.
        s->alt_sp = parent->alt_sp;
        s->alt_size = parent->alt_size;
        s->alt_flags = parent->alt_flags;
    }
    sched::SpinGuard guard(signal_lock);
    s->next = owner->threads;
    owner->threads = s;
    return s;
}

namespace {
void clear(PendingSet& set) {
    while (PendingSignal* p = set.head) {
        set.head = p->next;
        free(p);
    }
    set = {};
}
}  // namespace

void free_thread_signals(ThreadSignals* s) {
    if (!s) return;
    sched::SpinGuard guard(signal_lock);
    for (ThreadSignals** link = &s->owner->threads; *link; link = &(*link)->next) {
        if (*link == s) {
            *link = s->next;
            break;
        }
    }
    clear(s->pending);
    // Process-directed signals it would have taken go to another thread.
    wake_takers(*s->owner);
    free(s);
}

SignalProcess* new_process_signals(const SignalProcess* parent, int pid) {
    auto* p = new SignalProcess{};
    if (!p) return nullptr;
    p->pid = pid;
    if (parent) {
        sched::SpinGuard guard(signal_lock);
        memcpy(p->actions, parent->actions, sizeof p->actions);  // fork: dispositions, nothing pending
    }
    return p;
}

void free_process_signals(SignalProcess* p) {
    if (!p) return;
    {
        sched::SpinGuard guard(signal_lock);
        clear(p->pending);
    }
    delete p;
}

void signals_exec() {
    SignalProcess* p = current_signals();
    sched::SpinGuard guard(signal_lock);
    for (auto& a : p->actions) {
        if (a.handler != sig_ign) a = KernelSigaction{};
        else a.flags = 0;
    }
    if (ThreadSignals* self = current_thread_signals()) {
        self->alt_sp = 0;
        self->alt_size = 0;
        self->alt_flags = ss_disable;
    }
}

}  // namespace mica::abi
