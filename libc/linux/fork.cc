// fork, vfork, wait4, waitid, process groups and execve. Processes run side by side
// (processes.cc): fork gives the child a copy-on-write copy of the address space, its own
// descriptors and signal dispositions, and a thread that returns 0 from the same call.
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/mm/heap.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <stdlib.h>
#include <string.h>
#include "processes.h"
#include "signal_internal.h"

using namespace mica;
using abi::AppThread;
using abi::Process;

namespace {
constexpr int64_t e_perm = 1, e_srch = 3, e_child = 10, e_nomem = 12, e_fault = 14, e_inval = 22, e_2big = 7,
                  e_nametoolong = 36;
constexpr uint32_t wnohang = 1, wuntraced = 2, wexited = 4, wcontinued = 8, wnowait = 0x1000000,
                   wnothread = 0x20000000, wall = 0x40000000, wclone = 0x80000000;
// wait4 always reports ended children; waitid only with WEXITED (wait4 passes this bit).
constexpr uint32_t wexited_or_wait4 = wexited;

// Whether child `c` is one that wait4's `pid` (or waitid's id type and id) asks for.
bool wanted(const Process* self, const Process* c, int64_t pid) {
    if (pid > 0) return c->pid == pid;
    if (pid == -1) return true;
    if (pid == 0) return c->pgid == self->pgid;
    return c->pgid == -pid;
}

// Under process_lock: a stop (WUNTRACED) or continuation (WCONTINUED) of `c` not yet
// reported, as wait4 encodes it (0: none); consumed unless `keep`.
int job_change(Process* c, uint32_t options, bool keep) {
    abi::SignalProcess* s = c->signals;
    if (!s) return 0;
    sched::SpinGuard guard(abi::signal_lock);
    if ((options & wuntraced) && s->stop_report) {
        if (!keep) s->stop_report = false;
        return (s->stop_signal << 8) | 0x7f;
    }
    if ((options & wcontinued) && s->continue_report) {
        if (!keep) s->continue_report = false;
        return 0xffff;
    }
    return 0;
}

// Waits for a child that `pid` asks for to end - or stop or continue, as `options` ask -
// (wait4's encoding of what it found in *status, its pid returned), 0 under WNOHANG when
// none has yet, or -errno. `keep` (WNOWAIT) leaves the zombie or the report. An ended
// child's usage (its own and its waited-for children's) goes to *usage, and, when it is
// reaped, to the caller's children's usage (getrusage's RUSAGE_CHILDREN, times).
int64_t wait_for_child(int64_t pid, uint32_t options, int* status, bool keep, abi::Usage* usage) {
    Process* self = abi::current_process();
    sched::InterruptibleScope scope;
    for (;;) {
        Process* found = nullptr;
        bool any = false;
        {
            sched::WaitQueue::Guard queue(self->children);
            {
                sched::SpinGuard guard(abi::process_lock);
                for (Process* c = self->first_child; c; c = c->next_sibling) {
                    if (!wanted(self, c, pid)) continue;
                    any = true;
                    if (c->zombie && (options & wexited_or_wait4)) {
                        found = c;
                        break;
                    }
                    if (int change = c->zombie ? 0 : job_change(c, options, keep)) {
                        *status = change;
                        return c->pid;  // (the queue guard and the lock are dropped on return)
                    }
                }
                if (found) {
                    sched::SpinGuard usage_guard(abi::signal_lock);
                    *usage = found->ended_threads;
                    usage->add(found->children_usage);
                    if (!keep) self->children_usage.add(*usage);
                }
                if (found && !keep) {
                    for (Process** link = &self->first_child; *link; link = &(*link)->next_sibling) {
                        if (*link == found) {
                            *link = found->next_sibling;
                            break;
                        }
                    }
                    for (Process** link = &abi::all_processes; *link; link = &(*link)->next) {
                        if (*link == found) {
                            *link = found->next;
                            break;
                        }
                    }
                }
            }
            if (!found) {
                if (!any) return -e_child;
                if (options & wnohang) return 0;
                if (!self->children.wait(queue) && sched::interrupted()) return -abi::e_restart;
                continue;
            }
        }
        *status = found->exit_status;
        int found_pid = found->pid;
        if (!keep) abi::put_process(found);
        return found_pid;
    }
}
}  // namespace

int64_t sys_fork(const uint64_t*) { return abi::fork_process(0, 0, nullptr); }
int64_t sys_vfork(const uint64_t*) { return abi::fork_process(0x4000 /* CLONE_VFORK */, 0, nullptr); }

int64_t sys_wait4(const uint64_t* args) {
    int64_t pid = static_cast<int64_t>(static_cast<int32_t>(args[0]));
    auto options = static_cast<uint32_t>(args[2]);
    // Linux checks the options first. Nothing stops yet, so WUNTRACED and WCONTINUED never
    // report anything.
    constexpr uint32_t known_options = wnohang | wuntraced | wcontinued | wnothread | wall | wclone;
    if (options & ~known_options) return -e_inval;
    if (pid == INT32_MIN) return -e_srch;
    int status = 0;
    abi::Usage usage;  // stays zero for a stopped or continued child
    int64_t found = wait_for_child(pid, options | wexited_or_wait4, &status, false, &usage);
    if (found <= 0) return found;
    if (args[1] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &status, sizeof status)) return -e_fault;
    if (args[3]) {
        uint8_t rusage[144];
        abi::usage_to_rusage(usage, rusage);
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), rusage, sizeof rusage)) return -e_fault;
    }
    return found;
}

// waitid(idtype, id, infop, options, rusage): P_ALL, P_PID and P_PGID; WNOWAIT leaves the zombie.
int64_t sys_waitid(const uint64_t* args) {
    constexpr uint64_t p_all = 0, p_pid = 1, p_pgid = 2;
    auto options = static_cast<uint32_t>(args[3]);
    if (options & ~(wnohang | wuntraced | wexited | wcontinued | wnowait | wnothread | wall | wclone)) return -e_inval;
    if (!(options & (wexited | wuntraced | wcontinued))) return -e_inval;
    uint64_t type = args[0];
    int id = static_cast<int>(args[1]);
    if (type > p_pgid || (type != p_all && id <= 0)) return -e_inval;
    int64_t pid = type == p_all ? -1 : type == p_pid ? id : -static_cast<int64_t>(id);
    if (type == p_pgid && id == abi::current_process_group()) pid = 0;
    abi::SigInfo info = {};
    int status = 0;
    abi::Usage usage;
    // waitid's WSTOPPED is wait4's WUNTRACED (the same bit).
    int64_t found = wait_for_child(pid, options, &status, options & wnowait, &usage);
    if (found < 0) return found;
    if (found > 0) {
        constexpr int cld_stopped = 5, cld_continued = 6;
        info.signo = abi::sigchld;
        info.child.pid = static_cast<int32_t>(found);
        if (status == 0xffff) {
            info.code = cld_continued;
            info.child.status = abi::sigcont;
        } else if ((status & 0xff) == 0x7f) {
            info.code = cld_stopped;
            info.child.status = (status >> 8) & 0xff;
        } else {
            bool exited = (status & 0x7f) == 0;
            info.code = exited ? abi::cld_exited : abi::cld_killed;
            info.child.status = exited ? (status >> 8) & 0xff : status & 0x7f;
        }
    }
    // Under WNOHANG with nothing to report, Linux zeroes si_signo and si_pid.
    if (args[2] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &info, sizeof info)) return -e_fault;
    if (args[4]) {
        uint8_t rusage[144];
        abi::usage_to_rusage(usage, rusage);
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[4]), rusage, sizeof rusage)) return -e_fault;
    }
    return 0;
}

int64_t sys_getpgid(const uint64_t* args) {
    int pid = static_cast<int>(args[0]);
    if (pid == 0) return abi::current_process()->pgid;
    sched::SpinGuard guard(abi::process_lock);
    Process* p = abi::find_process(pid);
    return p ? p->pgid : -e_srch;
}

int64_t sys_getpgrp(const uint64_t*) { return abi::current_process()->pgid; }  // x86_64 only

int64_t sys_getsid(const uint64_t* args) {
    int pid = static_cast<int>(args[0]);
    if (pid == 0) return abi::current_process()->sid;
    sched::SpinGuard guard(abi::process_lock);
    Process* p = abi::find_process(pid);
    return p ? p->sid : -e_srch;
}

// setpgid(pid, pgid) for the caller or one of its children (before it execs: not checked),
// into a new group it leads or an existing group of the same session, as Linux.
int64_t sys_setpgid(const uint64_t* args) {
    int pid = static_cast<int>(args[0]), pgid = static_cast<int>(args[1]);
    if (pgid < 0) return -e_inval;
    Process* self = abi::current_process();
    sched::SpinGuard guard(abi::process_lock);
    Process* target = pid == 0 || pid == self->pid ? self : abi::find_process(pid);
    if (!target || (target != self && target->parent != self)) return -e_srch;
    if (target->sid != self->sid || target->sid == target->pid) return -e_perm;  // other session, or its leader
    if (pgid == 0) pgid = target->pid;
    if (pgid != target->pid) {
        bool found = false;
        for (Process* p = abi::all_processes; p; p = p->next) found |= !p->zombie && p->pgid == pgid && p->sid == self->sid;
        if (!found) return -e_perm;
    }
    target->pgid = pgid;
    return 0;
}

int64_t sys_setsid(const uint64_t*) {
    Process* self = abi::current_process();
    sched::SpinGuard guard(abi::process_lock);
    for (Process* p = abi::all_processes; p; p = p->next) {
        if (!p->zombie && p->pgid == self->pid) return -e_perm;  // it leads a group already
    }
    self->pgid = self->sid = self->pid;
    return self->pid;
}

namespace {

// execve's arguments and environment, copied into kernel memory before the old image goes
// away. The buffers start small and double as the lists need (a shell's exec of `wc` takes
// a few hundred bytes; the limits are what Linux allows one exec at most), so a small machine
// does not find 288 KiB for every exec.
class ExecStrings {
public:
    static constexpr size_t max_strings = 256 * 1024, max_pointers = 4096;
    ~ExecStrings() { clear(); }
    // Frees the copies (before entering the new program: that never returns here).
    void clear() {
        free(strings_);
        free(offsets_);
        free(pointers_);
        strings_ = nullptr, offsets_ = nullptr, pointers_ = nullptr;
    }
    // Copies the NULL-terminated list at `app_list` (may be NULL: an empty list): 0 or -errno.
    int64_t add_list(const char* const* app_list) {
        list_starts_[lists_++] = count_;
        for (size_t i = 0; app_list; ++i) {
            const char* item;
            if (mm::vm::copy_from_app(&item, app_list + i, sizeof item)) return -e_fault;
            if (!item) break;
            if (int64_t r = add_string(item); r < 0) return r;
        }
        return push_offset(no_string);
    }
    // The lists as argv and envp (pointing into this object): 0 or -ENOMEM.
    int64_t finish(const char**& argv, const char**& envp) {
        pointers_ = static_cast<const char**>(malloc(count_ * sizeof(char*)));
        if (!pointers_) return -e_nomem;
        for (size_t i = 0; i < count_; ++i) pointers_[i] = offsets_[i] == no_string ? nullptr : strings_ + offsets_[i];
        argv = pointers_ + list_starts_[0];
        envp = pointers_ + list_starts_[1];
        return 0;
    }

private:
    // First sizes within the heap's small objects: no run of pages needed.
    static constexpr size_t no_string = ~size_t{0}, first_strings = mm::Heap::max_small, first_pointers = 64;
    int64_t add_string(const char* item) {
        for (;;) {
            int64_t n = used_ < capacity_ ? mm::vm::copy_string_from_app(strings_ + used_, item, capacity_ - used_)
                                          : -e_nametoolong;
            if (n >= 0) {
                if (int64_t r = push_offset(used_); r < 0) return r;
                used_ += static_cast<size_t>(n) + 1;
                return 0;
            }
            if (n != -e_nametoolong) return n;
            if (capacity_ == max_strings) return -e_2big;
            size_t grown = capacity_ ? capacity_ * 2 : first_strings;
            auto* bigger = static_cast<char*>(realloc(strings_, grown < max_strings ? grown : max_strings));
            if (!bigger) return -e_nomem;
            strings_ = bigger;
            capacity_ = grown < max_strings ? grown : max_strings;
        }
    }
    int64_t push_offset(size_t offset) {
        if (count_ + 1 >= max_pointers) return -e_2big;
        if (count_ == pointer_capacity_) {
            size_t grown = pointer_capacity_ ? pointer_capacity_ * 2 : first_pointers;
            auto* bigger = static_cast<size_t*>(realloc(offsets_, grown * sizeof(size_t)));
            if (!bigger) return -e_nomem;
            offsets_ = bigger;
            pointer_capacity_ = grown;
        }
        offsets_[count_++] = offset;
        return 0;
    }
    char* strings_ = nullptr;
    size_t* offsets_ = nullptr;  // into strings_ (they move as it grows); no_string ends a list
    const char** pointers_ = nullptr;
    size_t used_ = 0, capacity_ = 0, count_ = 0, pointer_capacity_ = 0;
    size_t list_starts_[2] = {0, 0};
    unsigned lists_ = 0;
};

}  // namespace

int64_t sys_execve(const uint64_t* args) {
    // Everything comes into kernel memory first: the old image is about to go away.
    char path[4096];
    int64_t len = mm::vm::copy_string_from_app(path, reinterpret_cast<const char*>(args[0]), sizeof path);
    if (len < 0) return len;
    ExecStrings lists;
    const char** argv = nullptr;
    const char** envp = nullptr;
    int64_t result = lists.add_list(reinterpret_cast<const char* const*>(args[1]));
    if (result == 0) result = lists.add_list(reinterpret_cast<const char* const*>(args[2]));
    if (result == 0) result = lists.finish(argv, envp);
    if (result == 0 && !argv[0]) result = -e_inval;  // Linux allows it; libcs' start code does not
    if (result != 0) return result;
    // As Linux: the other threads end before the new program starts (also when it fails to
    // load after this point: the process goes on with this one thread).
    abi::end_other_threads();
    char error[256];
    uintptr_t entry, sp;
    bool committed;
    int r = abi::load_program(path, argv, envp, entry, sp, error, sizeof error, committed);
    lists.clear();
    if (r != 0) {
        // Before the point of no return the process is intact and sees the error (-ENOENT:
        // a shell tries the next PATH entry); after it there is nothing to return to.
        if (!committed) return r;
        kprintf("mica: execve: %s\n", error);
        abi::exit_application(127);
    }
    abi::files_exec();
    abi::credentials_exec();
    abi::signals_exec();
    abi::timers_exec();
    abi::vfork_exec_done();
    {
        // The process's name, as /proc and prctl(PR_GET_NAME) show it: the file's last part.
        const char* base = strrchr(path, '/');
        base = base ? base + 1 : path;
        Process* p = abi::current_process();
        p->membarrier_registered = 0;  // registrations belong to the old program's memory
        size_t n = strlen(base) < sizeof p->name - 1 ? strlen(base) : sizeof p->name - 1;
        memcpy(p->name, base, n);
        p->name[n] = 0;
    }
    sched::Thread* self = sched::current();
    auto* app = static_cast<AppThread*>(self->app);
    arch::app_state_init(app->state, 0);
    arch::app_state_load(app->state);
    self->exception_top = app->exception_base;
    arch::enter_application(entry, sp);
}

