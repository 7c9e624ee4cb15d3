// Process and thread system calls (process.def): the application's lifetime, its threads
// (clone for threads only: there is one address space, so no fork), futexes and the
// little of signals a single process needs.
#include <mica/trace/trace.h>
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/clock.h>
#include <mica/console.h>
#include <mica/linux/process.h>
#include "processes.h"
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>
#include <mica/power.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

using namespace mica;
using abi::AppThread;

namespace {
constexpr int64_t e_srch = 3, e_again = 11, e_nomem = 12, e_fault = 14, e_inval = 22,
                  e_nosys = 38, e_timedout = 110;
constexpr uint64_t clone_vm = 0x100, clone_fs = 0x200, clone_files = 0x400, clone_sighand = 0x800,
                   clone_vfork = 0x4000, clone_thread = 0x10000, clone_settls = 0x80000,
                   clone_parent_settid = 0x100000, clone_child_cleartid = 0x200000,
                   clone_child_settid = 0x1000000;


AppThread* self_app() { return static_cast<AppThread*>(sched::current()->app); }

// futex_wait's read of the futex word: the application may unmap it at any moment.
int load_futex_word(const uint32_t* address, uint32_t* value) {
    return mm::vm::copy_from_app(value, address, sizeof *value) ? -e_fault : 0;
}

// seconds and nanoseconds (validated) as nanoseconds, saturating: a timeout too far away to
// count is for ever.
uint64_t saturating_ns(int64_t sec, int64_t nsec) {
    constexpr uint64_t ns_per_s = 1000000000;
    uint64_t ns;
    if (__builtin_mul_overflow(static_cast<uint64_t>(sec), ns_per_s, &ns) ||
        __builtin_add_overflow(ns, static_cast<uint64_t>(nsec), &ns)) {
        return UINT64_MAX;
    }
    return ns;
}
}  // namespace

namespace {

// What a clone() child needs to start: its parent's registers at the call, its stack, TLS.
struct CloneStart {
    uint64_t flags;
    uintptr_t stack, tls;
    uint32_t* child_tid;
    alignas(16) uint8_t frame[];  // arch::syscall_frame_size() bytes
};

void clone_child_main(void* arg) {
    auto* start = static_cast<CloneStart*>(arg);
    sched::Thread* self = sched::current();
    auto* app = static_cast<AppThread*>(self->app);
    if (start->flags & clone_settls) arch::set_tls_register(start->tls);
    if (start->flags & clone_child_settid) {
        uint32_t tid = static_cast<uint32_t>(app->tid);
        mm::vm::copy_to_app(start->child_tid, &tid, sizeof tid);
    }
    arch::resume_clone_child(reinterpret_cast<const arch::SyscallFrame*>(start->frame), self->kernel_stack_top,
                             start->stack);
}
}  // namespace

namespace mica::abi {

sched::Thread* create_clone_thread(uint64_t flags, uintptr_t stack, uintptr_t tls, uint32_t* child_tid,
                                   Process* process, int tid) {
    size_t frame_size = arch::syscall_frame_size();
    auto* start = static_cast<CloneStart*>(aligned_alloc(16, sizeof(CloneStart) + frame_size));
    auto* app = static_cast<AppThread*>(calloc(1, sizeof(AppThread)));
    void* state = aligned_alloc(16, arch::app_state_size());
    sched::Thread* t = start && app && state ? sched::create("app", clone_child_main, start) : nullptr;
    auto* frame = static_cast<const arch::SyscallFrame*>(sched::current()->syscall_frame);
    if (t) {
        app->signals = new_thread_signals(process->signals, t, tid, current_thread_signals());
    }
    if (!t || !app->signals) {
        if (t) sched::detach(t);  // never started (its slot stays taken: out of memory anyway)
        free(start);
        free(app);
        free(state);
        return nullptr;
    }
    *start = CloneStart{flags, stack ? stack : arch::syscall_frame_sp(frame), tls, child_tid};
    memcpy(start->frame, frame, frame_size);
    app->exception_base = t->exception_top;
    arch::app_state_save(state);  // the child starts with its parent's FPU state and TLS
    app->state = state;
    app->start = start;
    app->tid = tid;
    app->process = process;
    if (flags & clone_child_cleartid) app->clear_child_tid = child_tid;
    t->app = app;
    t->app_state = state;
    t->space = process->space;
    sched::detach(t);
    return t;
}

}  // namespace mica::abi

namespace mica::abi {

namespace {
bool memory_report = false;  // set once at boot (--memstats)
}

void set_memory_report(bool on) { memory_report = on; }

void report_memory(const char* event, int pid) {
    if (!memory_report) return;
    constexpr size_t page_kib = 4;
    mm::Usage u = mm::usage();
    size_t app = mm::vm::stats().resident_pages, used = u.total_pages - u.free_pages;
    size_t kernel = used > app ? used - app : 0;
    kprintf("mica: memstats: %s pid %d: heap %zu allocations %zu bytes %zu pages, kernel %zu KiB, application %zu KiB, "
            "free %zu KiB\n", event, pid, u.live_allocations, u.live_bytes, u.heap_pages, kernel * page_kib,
            app * page_kib, u.free_pages * page_kib);
}

void kill_application(int signal, const char* what, uintptr_t address, uintptr_t pc) {
    static const char* const names[] = {nullptr,   "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",  "SIGTRAP",
                                        "SIGABRT", "SIGBUS",  "SIGFPE",    "SIGKILL", "SIGUSR1", "SIGSEGV",
                                        "SIGUSR2", "SIGPIPE", "SIGALRM",   "SIGTERM", "SIGSTKFLT", "SIGCHLD",
                                        "SIGCONT", "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU", "SIGURG",
                                        "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
                                        "SIGPWR",  "SIGSYS"};
    const char* name = signal > 0 && signal < 32 ? names[signal] : "a real-time signal";
    // Faults are reported for every process (they are what one debugs); a signal sent to a
    // child is its parent's business (a shell's `kill %1`), so only the first process's end
    // by one is reported, as the machine's exit status needs explaining.
    int pid = current_pid();
    if (address || pc) {
        kprintf("mica: application killed by %s: %s address %#lx at pc %#lx (pid %d)\n", name, what, address, pc,
                pid);
    } else if (pid <= 1) {
        kprintf("mica: application killed by %s: %s\n", name, what);
    }
    end_process_by_signal(signal);
}

void kill_application_out_of_memory(uintptr_t address, uintptr_t pc) {
    constexpr uint64_t page_kib = 4;
    uint64_t resident = mm::vm::stats().resident_pages * page_kib, reserve = mm::vm::kernel_reserve_pages() * page_kib,
             total = mm::pages().total_pages() * page_kib;
    kprintf("mica: application killed by SIGKILL: out of memory: no free page for address %#lx at pc %#lx; it holds "
            "%llu KiB of the machine's %llu KiB (the kernel keeps %llu KiB): give the machine more memory (QEMU -m)\n",
            address, pc, (unsigned long long)resident, (unsigned long long)total, (unsigned long long)reserve);
    end_process_by_signal(sigkill);
}

}  // namespace mica::abi

int64_t sys_exit_group(const uint64_t* args) { abi::exit_application(static_cast<int>(args[0] & 0xff)); }

int64_t sys_exit(const uint64_t* args) { abi::end_current_thread(static_cast<int>(args[0] & 0xff)); }

int64_t sys_set_tid_address(const uint64_t* args) {
    AppThread* app = self_app();
    app->clear_child_tid = reinterpret_cast<uint32_t*>(args[0]);
    return app->tid;
}

int64_t sys_set_robust_list(const uint64_t* args) {
    constexpr uint64_t robust_list_head_size = 24;  // struct robust_list_head
    if (args[1] != robust_list_head_size) return -e_inval;
    self_app()->robust_list = args[0];
    return 0;
}

int64_t sys_gettid(const uint64_t*) { return self_app()->tid; }
int64_t sys_getpid(const uint64_t*) { return abi::current_pid(); }
int64_t sys_getppid(const uint64_t*) { return abi::parent_pid(); }

int64_t sys_sched_yield(const uint64_t*) {
    sched::yield();
    return 0;
}

// sched_setaffinity for the calling thread (or its tid): moves it to the first CPU of the
// mask it is not already on, and pins it there when the mask names one CPU.
int64_t sys_sched_setaffinity(const uint64_t* args) {
    if (args[0] != 0 && static_cast<int64_t>(args[0]) != self_app()->tid) return -e_srch;
    size_t size = args[1] < sizeof(uint64_t) ? args[1] : sizeof(uint64_t);
    uint64_t mask = 0;
    if (size == 0) return -e_inval;
    if (mm::vm::copy_from_app(&mask, reinterpret_cast<void*>(args[2]), size)) return -e_fault;
    uint64_t online = 0;
    for (unsigned i = 0; i < 64; ++i) {
        if (sched::cpu_online(i)) online |= uint64_t{1} << i;
    }
    mask &= online;
    if (!mask) return -e_inval;
    unsigned here = sched::current_cpu();
    unsigned target = (mask >> here) & 1 ? here : static_cast<unsigned>(__builtin_ctzll(mask));
    bool single = (mask & (mask - 1)) == 0;
    return sched::set_affinity(target, single) ? 0 : -e_inval;
}

int64_t sys_sched_getaffinity(const uint64_t* args) {
    size_t size = args[1];
    if (size < sizeof(uint64_t) || (size & 7)) return -e_inval;
    uint64_t mask = 0;
    for (unsigned i = 0; i < 64; ++i) {
        if (sched::cpu_online(i)) mask |= uint64_t{1} << i;
    }
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &mask, sizeof mask)) return -e_fault;
    return sizeof mask;
}

// x86_64 only (numbered -1 on aarch64, so never called there).
int64_t sys_arch_prctl(const uint64_t* args) {
    constexpr uint64_t arch_set_fs = 0x1002, arch_get_fs = 0x1003;
    if (args[0] == arch_set_fs) {
        arch::set_tls_register(args[1]);
        return 0;
    }
    if (args[0] == arch_get_fs) {
        uint64_t v = arch::tls_register();
        return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &v, sizeof v) ? -e_fault : 0;
    }
    return -e_inval;
}

int64_t sys_clone(const uint64_t* args) {
    uint64_t flags = args[0];
    uintptr_t stack = args[1];
    auto* parent_tid = reinterpret_cast<uint32_t*>(args[2]);
    auto* child_tid = reinterpret_cast<uint32_t*>(args[arch::traits::clone_child_tid_arg]);
    uintptr_t tls = args[arch::traits::clone_tls_arg];
    constexpr uint64_t thread_flags = clone_vm | clone_thread | clone_sighand;
    if ((flags & thread_flags) != thread_flags) {
        // A new process (processes.cc): fork, or vfork (with CLONE_VM: the child gets a
        // copy-on-write copy, which only a child that writes memory before exec can tell).
        if ((flags & (clone_thread | clone_sighand)) || ((flags & clone_vm) && !(flags & clone_vfork))) return -e_inval;
        int64_t pid = abi::fork_process(flags, stack, child_tid);
        if (pid > 0 && (flags & clone_parent_settid)) {
            uint32_t id = static_cast<uint32_t>(pid);
            mm::vm::copy_to_app(parent_tid, &id, sizeof id);
        }
        return pid;
    }
    if (!stack || (flags & clone_vfork)) return -e_inval;
    (void)clone_fs;
    (void)clone_files;
    abi::Process* process = abi::current_process();
    int tid = abi::allocate_id();
    sched::Thread* t = abi::create_clone_thread(flags, stack, tls, child_tid, process, tid);
    if (!t) return -e_nomem;
    {
        sched::SpinGuard guard(abi::process_lock);
        ++process->threads;
    }
    uint32_t id = static_cast<uint32_t>(tid);
    if ((flags & clone_parent_settid) && mm::vm::copy_to_app(parent_tid, &id, sizeof id)) {
        // Linux writes it before the child runs; a bad pointer there is the caller's problem.
    }
    sched::start(t);
    return tid;
}

// clone3(args, size): struct clone_args checked as Linux's copy_clone_args_from_user and
// clone3_args_valid, then the same as clone. What Mica cannot do - a pidfd, a cgroup, chosen
// thread ids, new namespaces - is refused with -EINVAL rather than ignored.
int64_t sys_clone3(const uint64_t* args) {
    constexpr size_t size_ver0 = 64, page_size = 4096;
    constexpr uint64_t csignal = 0xff, clone_pidfd = 0x1000, clone_detached = 0x400000, clone_parent = 0x8000,
                       clone_clear_sighand = 0x100000000, clone_into_cgroup = 0x200000000,
                       namespaces = 0x7e020080;  // CLONE_NEWNS ... CLONE_NEWNET, CLONE_NEWTIME (0x80)
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
            cgroup;
    } ca = {};
    size_t size = args[1];
    if (size < size_ver0) return -e_inval;
    if (size > page_size) return -7;  // E2BIG
    size_t known = size < sizeof ca ? size : sizeof ca;
    if (mm::vm::copy_from_app(&ca, reinterpret_cast<const void*>(args[0]), known)) return -e_fault;
    // A newer caller's extra fields must be zero (copy_struct_from_user).
    for (size_t at = known; at < size; ++at) {
        uint8_t byte;
        if (mm::vm::copy_from_app(&byte, reinterpret_cast<const uint8_t*>(args[0]) + at, 1)) return -e_fault;
        if (byte) return -7;
    }
    constexpr uint64_t last_signal = 64;
    if ((ca.exit_signal & ~csignal) || ca.exit_signal > last_signal) return -e_inval;
    if (ca.set_tid_size || ca.set_tid) return -e_inval;
    if (ca.flags & ~(0xffffffff | clone_clear_sighand | clone_into_cgroup)) return -e_inval;
    if (ca.flags & (clone_detached | (csignal & ~0x80))) return -e_inval;
    if ((ca.flags & (clone_sighand | clone_clear_sighand)) == (clone_sighand | clone_clear_sighand)) return -e_inval;
    if ((ca.flags & (clone_thread | clone_parent)) && ca.exit_signal) return -e_inval;
    if (ca.stack ? ca.stack_size == 0 || !mm::vm::access_ok(ca.stack, ca.stack_size) : ca.stack_size != 0) return -e_inval;
    if (ca.flags & (clone_pidfd | clone_into_cgroup | clone_clear_sighand | namespaces)) return -e_inval;  // not here
    uint64_t a[6] = {};
    a[0] = (ca.flags & 0xffffffff) | ca.exit_signal;
    a[1] = ca.stack ? ca.stack + ca.stack_size : 0;  // the stack grows down from its end
    a[2] = ca.parent_tid;
    a[arch::traits::clone_child_tid_arg] = ca.child_tid;
    a[arch::traits::clone_tls_arg] = ca.tls;
    return sys_clone(a);
}

int64_t sys_futex(const uint64_t* args) {
    constexpr int op_wait = 0, op_wake = 1, op_requeue = 3, op_cmp_requeue = 4, op_wait_bitset = 9,
                  op_wake_bitset = 10;
    constexpr int private_flag = 128, clock_realtime_flag = 256;
    auto* address = reinterpret_cast<uint32_t*>(args[0]);
    int op = static_cast<int>(args[1]) & ~(private_flag | clock_realtime_flag);
    uint32_t value = static_cast<uint32_t>(args[2]);
    if (reinterpret_cast<uintptr_t>(address) & 3) return -e_inval;
    uint32_t current;
    // Touch it through the checked path first: futex_wait reads it directly.
    if (mm::vm::copy_from_app(&current, address, sizeof current)) return -e_fault;
    switch (op) {
    case op_wait:
    case op_wait_bitset: {
        uint64_t timeout_ns = 0;
        if (args[3]) {
            struct {
                int64_t sec, nsec;
            } ts;
            if (mm::vm::copy_from_app(&ts, reinterpret_cast<void*>(args[3]), sizeof ts)) return -e_fault;
            if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000) return -e_inval;
            uint64_t t = saturating_ns(ts.sec, ts.nsec);
            if (op == op_wait_bitset) {  // absolute, on the clock the flag names
                uint64_t now = args[1] & clock_realtime_flag ? clock::realtime_ns() : clock::monotonic_ns();
                if (t <= now) return -e_timedout;
                t -= now;
            }
            timeout_ns = t ? t : 1;
        }
        sched::InterruptibleScope scope;
        int r = sched::futex_wait(address, value, timeout_ns, load_futex_word);
        // As Linux: a wait without a timeout is restarted after a handler with SA_RESTART.
        if (r == -abi::e_intr && !timeout_ns) return -abi::e_restart;
        return r;
    }
    case op_wake:
    case op_wake_bitset:
        return sched::futex_wake(address, static_cast<int>(value));
    case op_requeue:
    case op_cmp_requeue:
        // Waking everyone instead of moving waiters to the second futex is allowed (they
        // see a spurious wake-up and re-check), and simpler.
        if (op == op_cmp_requeue && current != static_cast<uint32_t>(args[5])) return -e_again;
        return sched::futex_wake(address, static_cast<int>(value) + static_cast<int>(args[3]));
    default:
        return -e_nosys;
    }
}

int64_t sys_rseq(const uint64_t*) { return -e_nosys; }  // glibc runs without it

// reboot(2) as Linux checks it: the magic numbers, then power off, halt and restart all
// stop the machine (restart cannot be told apart by the host: status 0 either way).
int64_t sys_reboot(const uint64_t* args) {
    constexpr uint32_t magic1 = 0xfee1dead, magic2[] = {672274793, 85072278, 369367448, 537993216};
    constexpr uint32_t power_off = 0x4321fedc, halt = 0xcdef0123, restart = 0x01234567, cad_on = 0x89abcdef,
                       cad_off = 0;
    if (static_cast<uint32_t>(args[0]) != magic1) return -e_inval;
    bool magic_ok = false;
    for (uint32_t m : magic2) magic_ok |= static_cast<uint32_t>(args[1]) == m;
    if (!magic_ok) return -e_inval;
    switch (static_cast<uint32_t>(args[2])) {
    case power_off:
    case halt:
    case restart:
        power::shutdown(0);
    case cad_on:
    case cad_off:
        return 0;
    default:
        return -e_inval;
    }
}

// prctl: thread names (kept per thread; reported back) and nothing else.
int64_t sys_prctl(const uint64_t* args) {
    constexpr int pr_set_name = 15, pr_get_name = 16;
    AppThread* app = self_app();
    switch (static_cast<int>(args[0])) {
    case pr_set_name: {
        char name[16] = {};
        int64_t n = mm::vm::copy_string_from_app(name, reinterpret_cast<const char*>(args[1]), sizeof name);
        if (n == -e_fault) return -e_fault;
        memcpy(app->name, name, sizeof name);
        app->name[15] = 0;
        trace::thread_named(sched::current());
        return 0;
    }
    case pr_get_name:
        return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), app->name, sizeof app->name) ? -e_fault : 0;
    default:
        return -e_inval;
    }
}
