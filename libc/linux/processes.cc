// Processes side by side (processes.h): the process table, fork with a copy-on-write address
// space, the end of threads and processes, zombies and the parent's wake-up. The system calls
// are in fork.cc (fork, wait, groups, execve) and process.cc (threads).
#include <mica/trace/trace.h>
#include "processes.h"
#include "signal_internal.h"
#include "files_internal.h"
#include <arch/arch.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include <mica/linux/signal.h>
#include <mica/power.h>
#include <mica/sched/sync.h>
#include <new>
#include <stdlib.h>
#include <string.h>

namespace mica::abi {

sched::Spinlock process_lock;
Process* all_processes = nullptr;

namespace {
constexpr int first_pid = first_process_id;
int next_id = first_pid;  // atomic

char* copy_string(const char* text) {
    size_t n = strlen(text) + 1;
    auto* copy = static_cast<char*>(malloc(n));
    if (copy) memcpy(copy, text, n);
    return copy;
}

AppThread* self_app() {
    sched::Thread* t = sched::current();
    return t ? static_cast<AppThread*>(t->app) : nullptr;
}

// A vfork parent waits here (on its own stack) until its child has exec'd or ended.
struct VforkWait {
    bool done = false;
    sched::WaitQueue queue;
};

void release_vfork(Process* p) {
    auto* wait = static_cast<VforkWait*>(__atomic_exchange_n(&p->vfork, nullptr, __ATOMIC_ACQ_REL));
    if (!wait) return;
    sched::WaitQueue::Guard guard(wait->queue);
    wait->done = true;
    wait->queue.wake_all();
}

void unlink_child(Process* parent, Process* child) {
    for (Process** link = &parent->first_child; *link; link = &(*link)->next_sibling) {
        if (*link == child) {
            *link = child->next_sibling;
            break;
        }
    }
}

void unlink_all(Process* p) {
    for (Process** link = &all_processes; *link; link = &(*link)->next) {
        if (*link == p) {
            *link = p->next;
            break;
        }
    }
}

void wake_parent(Process* parent) {
    sched::WaitQueue::Guard guard(parent->children);
    parent->children.wake_all();
}

// The last thread of `p` has ended: its resources go, it becomes a zombie for its parent
// (or is reaped at once when the parent ignores SIGCHLD), its children go to the first
// process, and the parent hears of it (SIGCHLD, a wake-up of wait4).
[[noreturn]] void finish_process(Process* p, int wait_status) {
    release_vfork(p);
    record_process_memory(p);  // while its address space is still there
    void* files;
    {
        // Under the lock: prlimit64 of another process reaches its descriptor table.
        sched::SpinGuard guard(process_lock);
        files = p->files;
        p->files = nullptr;
    }
    files_free(files);
    timers_free(p->timers);
    p->timers = nullptr;
    mm::vm::destroy_space(p->space);  // this thread runs on in the kernel's table
    p->space = nullptr;
    Process* parent;
    Process* init;
    bool reaped, orphans_ended = false;
    SignalProcess* signals;
    {
        sched::SpinGuard guard(process_lock);
        init = find_process(first_pid);
        // Children go to the first process (Linux's init); zombies among them wake it.
        while (Process* c = p->first_child) {
            p->first_child = c->next_sibling;
            c->parent = init;
            c->next_sibling = init ? init->first_child : nullptr;
            if (init) init->first_child = c;
            orphans_ended |= c->zombie;
        }
        parent = p->parent;
        if (parent) ++parent->refs;  // used below, outside the lock
        reaped = !parent || children_reaped_automatically(parent->signals);
        p->zombie = true;
        p->exit_status = wait_status;
        signals = p->signals;
        p->signals = nullptr;  // senders skip it from now on (they hold process_lock)
        if (reaped) {
            if (parent) unlink_child(parent, p);
            unlink_all(p);
        }
    }
    free_process_signals(signals);
    free(p->exe);
    p->exe = nullptr;
    // Everything of it is gone but this thread and the zombie record: tools/soak compares
    // these lines across rounds (before the parent can go on).
    report_memory("end", p->pid);
    if (parent) {
        SigInfo chld = {};
        chld.signo = sigchld;
        bool exited = (wait_status & 0x7f) == 0;
        chld.code = exited ? cld_exited : cld_killed;
        chld.child.pid = p->pid;
        chld.child.status = exited ? (wait_status >> 8) & 0xff : wait_status & 0x7f;
        send_to_process(parent->pid, chld);
        wake_parent(parent);
        put_process(parent);
    }
    if (orphans_ended && init) wake_parent(init);  // process 1 is never freed
    if (reaped) put_process(p);
    sched::exit();
}
}  // namespace

int allocate_id() { return __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED); }

Process* hold_parent() {
    Process* self = current_process();
    sched::SpinGuard guard(process_lock);
    Process* parent = self ? self->parent : nullptr;
    if (parent) ++parent->refs;
    return parent;
}

void put_process(Process* p) {
    bool last;
    {
        sched::SpinGuard guard(process_lock);
        last = --p->refs == 0;
    }
    if (last) delete p;
}

Process* current_process() {
    AppThread* app = self_app();
    return app ? static_cast<Process*>(app->process) : nullptr;
}

Process* find_process(int pid, bool alive_only) {
    for (Process* p = all_processes; p; p = p->next) {
        if (p->pid == pid) return alive_only && p->zombie ? nullptr : p;
    }
    return nullptr;
}

int current_pid() {
    Process* p = current_process();
    return p ? p->pid : 0;
}

int parent_pid() {
    Process* p = current_process();
    sched::SpinGuard guard(process_lock);
    return p && p->parent ? p->parent->pid : 0;
}

int current_process_group() {
    Process* p = current_process();
    return p ? p->pgid : first_pid;
}

const char* process_executable() {
    Process* p = current_process();
    return p ? p->exe : nullptr;
}

bool set_process_executable(const char* path) {
    Process* p = current_process();
    if (!p) return false;
    char* copy = copy_string(path);
    if (!copy) return true;  // out of memory: the old path stays
    free(p->exe);
    p->exe = copy;
    return true;
}

bool set_process_load(const ProgramLoad& load) {
    Process* p = current_process();
    if (!p) return false;
    p->program_load = load;
    return true;
}

void* current_process_files() {
    Process* p = current_process();
    return p ? p->files : nullptr;
}

bool become_first_process(sched::Thread* t, AppThread* app) {
    auto* p = new Process;
    if (!p) return false;
    p->pid = p->pgid = p->sid = allocate_id();
    p->space = t->space ? t->space : mm::vm::initial_space();
    p->files = files_copy();
    p->signals = new_process_signals(nullptr, p->pid);
    if (!p->files || !p->signals) {
        files_free(p->files);
        free_process_signals(p->signals);
        delete p;
        return false;
    }
    p->threads = 1;
    init_process_resources(p);
    p->exe = copy_string(files::executable_path());
    app->process = p;
    app->tid = p->pid;
    app->signals = new_thread_signals(p->signals, t, p->pid, nullptr);
    if (!app->signals) return false;
    sched::SpinGuard guard(process_lock);
    p->next = all_processes;
    all_processes = p;
    return true;
}

int64_t fork_process(uint64_t flags, uintptr_t stack, uint32_t* child_tid) {
    constexpr int64_t e_nomem = 12, e_nosys = 38;
    constexpr uint64_t clone_vfork = 0x4000;
    if (!CONFIG_PROCESSES) {
        static bool reported = false;  // once: a shell may try for every command
        if (!__atomic_exchange_n(&reported, true, __ATOMIC_RELAXED)) {
            kprintf("mica: fork: this kernel runs one process (CONFIG_PROCESSES is off): returning -ENOSYS\n");
        }
        return -e_nosys;
    }
    Process* parent = current_process();
    auto* child = new Process;
    if (!child) return -e_nomem;
    child->pid = allocate_id();
    child->pgid = parent->pgid;
    child->sid = parent->sid;
    memcpy(child->name, parent->name, sizeof child->name);
    child->exe = parent->exe ? copy_string(parent->exe) : nullptr;
    child->program_load = parent->program_load;
    child->files = files_copy();
    child->signals = new_process_signals(parent->signals, child->pid);
    bool credentials = inherit_credentials(child, parent);
    inherit_process_resources(child, parent);
    child->space = child->files && child->signals && credentials ? mm::vm::fork_space(mm::vm::current_space()) : nullptr;
    sched::Thread* t = child->space ? create_clone_thread(flags, stack, 0, child_tid, child, child->pid) : nullptr;
    if (!t) {
        files_free(child->files);
        free_process_signals(child->signals);
        if (child->space) mm::vm::destroy_space(child->space);
        free(child->exe);
        delete child;
        return -e_nomem;
    }
    VforkWait vfork;
    if (flags & clone_vfork) child->vfork = &vfork;
    child->threads = 1;
    {
        sched::SpinGuard guard(process_lock);
        child->parent = parent;
        child->next_sibling = parent->first_child;
        parent->first_child = child;
        child->next = all_processes;
        all_processes = child;
    }
    int pid = child->pid;
    sched::start(t);
    if (flags & clone_vfork) {
        // As Linux: the parent sleeps until the child has exec'd or ended (not interruptible).
        sched::WaitQueue::Guard guard(vfork.queue);
        while (!vfork.done) vfork.queue.wait(guard);
    }
    return pid;
}

void vfork_exec_done() {
    if (Process* p = current_process()) release_vfork(p);
}

void end_current_thread(int exit_code) {
    sched::Thread* self = sched::current();
    auto* app = static_cast<AppThread*>(self->app);
    Process* p = current_process();
    if (app->clear_child_tid && !p->exiting) {
        uint32_t zero = 0;
        if (mm::vm::copy_to_app(app->clear_child_tid, &zero, sizeof zero) == 0) {
            sched::futex_wake(app->clear_child_tid, 1);
        }
    }
    charge_thread_times(p);
    free_thread_signals(static_cast<ThreadSignals*>(app->signals));
    bool last;
    int status;
    {
        sched::SpinGuard guard(process_lock);
        last = --p->threads == 0;
        status = p->exiting ? p->exit_status : (exit_code & 0xff) << 8;
    }
    if (last && p->pid == first_pid) exit_process(status);  // the machine's end
    self->app_state = nullptr;  // no FPU save for a thread that is going away
    trace::thread_ended(self);  // while it still has its tid
    free(app->state);
    free(app->start);
    free(app);
    self->app = nullptr;
    if (last) finish_process(p, status);
    sched::exit();
}

void exit_process(int wait_status) {
    Process* p = current_process();
    if (TRACE_ENABLED(app_exit)) {
        bool exited = (wait_status & 0x7f) == 0;
        TRACE(app_exit, p ? p->pid : first_pid, exited ? (wait_status >> 8) & 0xff : 128 + (wait_status & 0x7f));
    }
    if (!p || p->pid == first_pid) {
        // The first process's end is the machine's.
        report_memory("exit", first_pid);
        bool exited = (wait_status & 0x7f) == 0;
        power::shutdown(exited ? (wait_status >> 8) & 0xff : 128 + (wait_status & 0x7f));
    }
    {
        sched::SpinGuard guard(process_lock);
        if (!p->exiting) {
            p->exiting = true;
            p->exit_status = wait_status;
        }
    }
    {
        // Its other threads end at their next delivery point (interruptible waits end now).
        sched::SpinGuard guard(signal_lock);
        if (p->signals) {
            for (ThreadSignals* t = p->signals->threads; t; t = t->next) {
                if (t->thread != sched::current()) sched::interrupt(t->thread);
            }
        }
    }
    end_current_thread(0);
}

bool thread_must_end() {
    Process* p = current_process();
    return p && (p->exiting || (p->exec_thread && p->exec_thread != sched::current()));
}

void end_other_threads() {
    Process* p = current_process();
    {
        sched::SpinGuard guard(process_lock);
        if (p->threads == 1) return;
        p->exec_thread = sched::current();
    }
    {
        sched::SpinGuard guard(signal_lock);
        for (ThreadSignals* t = p->signals->threads; t; t = t->next) {
            if (t->thread != sched::current()) sched::interrupt(t->thread);
        }
    }
    // They end at their next delivery point (a thread in a wait that cannot be cut short
    // ends when the wait does): poll, as this is rare.
    constexpr uint64_t poll_ns = 1000000;
    for (;;) {
        {
            sched::SpinGuard guard(process_lock);
            if (p->threads == 1) {
                p->exec_thread = nullptr;
                break;
            }
        }
        sched::sleep_ns(poll_ns);
    }
    auto* app = static_cast<AppThread*>(sched::current()->app);
    app->tid = p->pid;
    sched::SpinGuard guard(signal_lock);
    static_cast<ThreadSignals*>(app->signals)->tid = p->pid;
}

void exit_application(int status) { exit_process((status & 0xff) << 8); }

void end_process_by_signal(int signal) { exit_process(signal & 0x7f); }

}  // namespace mica::abi
