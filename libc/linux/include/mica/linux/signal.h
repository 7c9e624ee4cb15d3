// Linux signals (signal.cc): dispositions per process, masks and pending sets per thread
// and per process, delivery to handlers through Linux's signal frames (arch.h "Signal
// frames"), default actions, and the interruption of blocking system calls.
//
// Delivery points: the return from every system call, from every interrupt that came from
// application code, and from faults in application code. A signal that becomes deliverable
// to a thread marks it with sched::interrupt(), which cuts short an interruptible wait
// (sched::InterruptibleScope) and sends an IPI to a CPU running it, so it is delivered at
// once wherever the thread is.
#pragma once

#include <mica/fs/abi.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::arch {
struct UserRegs;
}
namespace mica::sched {
struct Thread;
}
namespace mica::fs {
class Vnode;
}

namespace mica::abi {

inline constexpr int signal_count = 64;  // 1..64; 32 and up are real-time signals
inline constexpr int sighup = 1, sigint = 2, sigquit = 3, sigpipe = 13, sigalrm = 14, sigterm = 15,
                     sigchld = 17, sigcont = 18, sigstop = 19, sigtstp = 20, sigttin = 21, sigttou = 22,
                     sigurg = 23, sigvtalrm = 26, sigprof = 27, sigwinch = 28;

// A blocking system call interrupted by a signal returns this: the call is restarted when
// the signal's handler has SA_RESTART (or when no handler runs), else it fails with EINTR.
// (Linux's ERESTARTSYS; applications never see it.)
inline constexpr int64_t e_restart = fs::errno_restart;  // one value, fs/abi.h's
inline constexpr int64_t e_intr = 4;

// si_code values.
inline constexpr int si_user = 0, si_kernel = 0x80, si_queue = -1, si_timer = -2, si_tkill = -6;
inline constexpr int cld_exited = 1, cld_killed = 2, cld_dumped = 3;
inline constexpr int segv_maperr = 1, segv_accerr = 2, bus_adraln = 1, bus_adrerr = 2, ill_illopc = 1, fpe_intdiv = 1,
                     trap_brkpt = 1;

// Linux's siginfo_t (128 bytes on both architectures), with the union members Mica fills.
struct SigInfo {
    int32_t signo, error, code;
    int32_t pad0;
    union {
        struct {
            int32_t pid;
            uint32_t uid;
            uint64_t value;   // sigqueue / timers: sigval
        } kill;
        struct {
            int32_t timer_id, overrun;
            uint64_t value;
        } timer;
        struct {
            int32_t pid;
            uint32_t uid;
            int32_t status;
            int32_t pad;
            int64_t utime, stime;
        } child;
        struct {
            uint64_t address;
        } fault;
        uint8_t bytes[112];
    };
};
static_assert(sizeof(SigInfo) == 128);

// Sends a signal to the process `pid` (a process-directed signal: any thread that does not
// block it takes it). Returns 0, or -ESRCH / -EINVAL / -EAGAIN (real-time queue full).
int64_t send_to_process(int pid, const SigInfo& info);
// Sends a signal to thread `tid` of the calling process (timers' SIGEV_THREAD_ID), or of
// process `tgid` (tgkill; -1: of any process, tkill).
int64_t send_to_thread(int tid, const SigInfo& info);
int64_t send_to_thread(int tgid, int tid, const SigInfo& info);
// Sends `info` to every process of group `pgid` (-1: every process but the first, as
// kill(-1) from it; `skip_first`). -ESRCH when there is none.
int64_t signal_group(int pgid, const SigInfo& info, bool skip_first);
// Sends `signal` (from the kernel: si_code SI_KERNEL) to every process of process group
// `pgid` (the console's ^C and ^\); ignored when no process is in it.
void signal_process_group(int pgid, int signal);
// The process group of the calling process and of the foreground job on the console.
int current_process_group();
// Whether a process's children leave no zombie (SIGCHLD ignored or SA_NOCLDWAIT).
struct SignalProcess;
bool children_reaped_automatically(const SignalProcess* p);
// SIGPIPE to the calling thread, as a write to a broken pipe or socket sends it; and the
// same for a write's result when it is -EPIPE (then returned unchanged).
void send_sigpipe();
// Whether a write to `node` that fails with EPIPE raises SIGPIPE (pipes and stream sockets;
// socket_syscalls.cc).
bool write_raises_sigpipe(fs::Vnode* node);
inline int64_t sigpipe_on_epipe(int64_t result) {
    constexpr int64_t e_pipe = 32;
    if (result == -e_pipe) send_sigpipe();
    return result;
}

// A fault in application code (arch traps): delivers `info` to the faulting thread's
// handler on return from the fault, or, when the signal is blocked, ignored or has its
// default action, ends the process as Linux does (with the report kill_application prints).
// `signal` with si_code `code` and si_addr `fault_address`; `what`, `address` and `pc` name the
// fault in the report.
void fault_signal(int signal, int code, uintptr_t fault_address, const char* what, uintptr_t address, uintptr_t pc);

// Delivery point (arch code): called with the registers the application thread resumes
// with, interrupts off. `syscall` says whether it returns from a system call, whose result
// is in the registers and may be e_restart. Changes the registers to run a handler, or ends
// the process for a default action. Returns quickly when nothing is deliverable.
struct SyscallReturn {
    uint64_t number, first_argument;  // to restart it
};
void deliver_signals(arch::UserRegs* regs, const SyscallReturn* syscall);
// Whether the current thread has a deliverable signal (cheap: its interrupt mark).
bool signal_pending();
// rt_sigreturn: restores the registers and mask a handler's frame saved. On a bad frame
// the process ends with SIGSEGV, as on Linux.
void signal_return(arch::UserRegs* regs);

// Processes and threads (processes.cc, process.cc, exec.cc). A process's signal state: a
// copy of `parent`'s dispositions (fork) or the defaults, nothing pending.
SignalProcess* new_process_signals(const SignalProcess* parent, int pid);
void free_process_signals(SignalProcess* p);
// Per thread: mask, pending set, alternate stack (AppThread::signals). A new thread starts
// with `parent`'s mask (none: the first thread) and nothing pending; a forked child's
// thread also keeps the alternate stack.
struct ThreadSignals;
ThreadSignals* new_thread_signals(SignalProcess* owner, sched::Thread* thread, int tid, const ThreadSignals* parent);
void free_thread_signals(ThreadSignals* s);
ThreadSignals* current_thread_signals();
// exec: handled signals go back to their default action (ignored ones stay ignored), the
// alternate stack is dropped; masks and pending signals stay.
void signals_exec();

}  // namespace mica::abi
