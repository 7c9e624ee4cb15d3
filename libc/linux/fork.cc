// fork, vfork, execve and wait4 in one address space. A Linux shell runs most commands in a
// forked child, so Mica emulates fork by running the child first, alone: at fork the
// parent's memory (every area and populated page), descriptors and registers are set
// aside; the child then runs on the same thread in the same addresses; when it exits (or is
// killed) everything of the parent is put back and its fork returns the child's pid. A child
// can fork again (the saved parents form a stack). The limits, documented in
// docs/architecture.md: the parent does not run until its child ends (a pipeline's writer
// runs to completion before its reader starts, so it must fit the pipe), a process with
// more than one thread cannot fork, and a vfork child's writes to memory are undone.
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <stdlib.h>
#include <string.h>

using namespace mica;
using abi::AppThread;

namespace {
constexpr int64_t e_child = 10, e_nomem = 12, e_fault = 14, e_inval = 22, e_nosys = 38, e_2big = 7;
constexpr int first_pid = 1;

// A parent waiting for its child.
struct SuspendedParent {
    int pid;
    int child_pid;
    mm::vm::Snapshot* memory;
    void* files;
    void* app_state;   // FPU/SIMD and TLS registers at the fork
    void* frame;       // its registers at the fork system call
    void* signals;     // its dispositions and pending signals (signal.h)
    int pgid, sid;     // its process group and session
    SuspendedParent* outer;
};

// An ended child nobody has waited for yet.
struct Zombie {
    int pid, parent;
    int status;  // as wait4 reports it
    Zombie* next;
};

// Owned here; only the one running process touches them, so no lock is needed beyond
// process.cc's (there is a single application thread whenever a fork is in progress).
SuspendedParent* parents = nullptr;
Zombie* zombies = nullptr;
int running_pid = first_pid;
int running_pgid = first_pid, running_sid = first_pid;
int next_pid = first_pid + 1;

AppThread* self_app() { return static_cast<AppThread*>(sched::current()->app); }

int64_t do_fork() {
    sched::Thread* self = sched::current();
    auto* parent = static_cast<SuspendedParent*>(calloc(1, sizeof(SuspendedParent)));
    if (!parent) return -e_nomem;
    parent->memory = mm::vm::take_snapshot();
    parent->files = parent->memory ? abi::files_fork() : nullptr;
    parent->app_state = aligned_alloc(16, arch::app_state_size());
    parent->frame = malloc(arch::syscall_frame_size());
    parent->signals = parent->files ? abi::signals_fork() : nullptr;
    if (!parent->memory || !parent->files || !parent->app_state || !parent->frame || !parent->signals) {
        if (parent->signals) abi::signals_restore(parent->signals);
        if (parent->memory) mm::vm::discard_snapshot(parent->memory);
        if (parent->files) abi::files_restore(parent->files);
        free(parent->app_state);
        free(parent->frame);
        free(parent);
        return -e_nomem;
    }
    arch::app_state_save(parent->app_state);
    memcpy(parent->frame, self->syscall_frame, arch::syscall_frame_size());
    parent->pid = running_pid;
    parent->pgid = running_pgid;  // the child inherits both
    parent->sid = running_sid;
    parent->child_pid = next_pid++;
    parent->outer = parents;
    parents = parent;
    running_pid = parent->child_pid;
    self_app()->tid = running_pid;
    abi::set_thread_id(abi::current_thread_signals(), running_pid);
    return 0;  // now the child
}
}  // namespace

namespace mica::abi {

int current_pid() { return running_pid; }
int parent_pid() { return parents ? parents->pid : 0; }
int current_process_group() { return running_pgid; }

int64_t signal_suspended_process(int pid, const SigInfo& info) {
    for (SuspendedParent* p = parents; p; p = p->outer) {
        if (p->pid == pid) return queue_saved_signal(p->signals, info);
    }
    return -3;  // ESRCH
}

void finish_forked_child(int wait_status) {
    SuspendedParent* parent = parents;
    if (!parent) return;  // the first process: the caller stops the machine
    parents = parent->outer;
    running_pid = parent->pid;
    running_pgid = parent->pgid;
    running_sid = parent->sid;
    sched::Thread* self = sched::current();
    auto* app = static_cast<AppThread*>(self->app);
    app->tid = parent->pid;
    mm::vm::restore_snapshot(parent->memory);
    files_restore(parent->files);
    signals_restore(parent->signals);
    set_thread_id(current_thread_signals(), parent->pid);
    // SIGCHLD to the parent, delivered when its fork returns (ignored by default).
    SigInfo chld = {};
    chld.signo = sigchld;
    bool exited = (wait_status & 0x7f) == 0;
    chld.code = exited ? cld_exited : cld_killed;
    chld.child.pid = parent->child_pid;
    chld.child.status = exited ? (wait_status >> 8) & 0xff : wait_status & 0x7f;
    // A parent that ignores SIGCHLD or asked for SA_NOCLDWAIT leaves no zombie (Linux reaps it).
    if (!children_reaped_automatically()) {
        auto* zombie = static_cast<Zombie*>(malloc(sizeof(Zombie)));
        if (zombie) {
            *zombie = Zombie{parent->child_pid, parent->pid, wait_status, zombies};
            zombies = zombie;
        }
    }
    send_to_process(parent->pid, chld);
    memcpy(app->state, parent->app_state, arch::app_state_size());
    arch::app_state_load(app->state);
    self->exception_top = app->exception_base;
    // The parent's frame must outlive this function: copy it to the kernel stack's top.
    alignas(16) uint8_t frame[512];
    memcpy(frame, parent->frame, arch::syscall_frame_size());
    free(parent->frame);
    free(parent->app_state);
    int child = parent->child_pid;
    free(parent);
    report_memory("end", child);  // everything of the child is gone: compare across rounds
    arch::resume_syscall(reinterpret_cast<const arch::SyscallFrame*>(frame), self->kernel_stack_top,
                         static_cast<uint64_t>(child));
}

}  // namespace mica::abi

// fork (x86_64) and vfork: a child that runs to its end before the parent goes on.
int64_t sys_fork(const uint64_t*) { return do_fork(); }
int64_t sys_vfork(const uint64_t*) { return do_fork(); }

// clone without CLONE_VM is a fork (glibc's and musl's fork use it); process.cc sends those here.
int64_t clone_process(uint64_t flags, uint32_t* child_tid) {
    constexpr uint64_t clone_child_settid = 0x1000000;
    int64_t r = do_fork();
    if (r == 0 && (flags & clone_child_settid) && child_tid) {
        uint32_t tid = static_cast<uint32_t>(running_pid);
        mm::vm::copy_to_app(child_tid, &tid, sizeof tid);
    }
    return r;
}

int64_t sys_wait4(const uint64_t* args) {
    int64_t pid = static_cast<int64_t>(static_cast<int32_t>(args[0]));
    auto options = static_cast<uint32_t>(args[2]);
    // WNOHANG WUNTRACED WCONTINUED __WNOTHREAD __WALL __WCLONE, as Linux checks them first
    // (WNOHANG changes nothing: children have always ended).
    constexpr uint32_t wnohang = 1, wuntraced = 2, wcontinued = 8, wnothread = 0x20000000, wall = 0x40000000,
                       wclone = 0x80000000;
    constexpr uint32_t known_options = wnohang | wuntraced | wcontinued | wnothread | wall | wclone;
    if (options & ~known_options) return -e_inval;
    Zombie** link = &zombies;
    bool any_child = false;
    for (Zombie* z = zombies; z; link = &z->next, z = z->next) {
        if (z->parent != running_pid) continue;
        any_child = true;
        if (pid > 0 && z->pid != pid) continue;
        if (args[1] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &z->status, sizeof z->status)) {
            return -e_fault;
        }
        if (args[3]) {
            uint8_t usage[144] = {};  // struct rusage: all zero
            if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), usage, sizeof usage)) return -e_fault;
        }
        int found = z->pid;
        *link = z->next;
        free(z);
        return found;
    }
    // Children always end before their parent runs again: none left means none at all.
    (void)any_child;
    return -e_child;
}

int64_t sys_execve(const uint64_t* args) {
    // Everything comes into kernel memory first: the old image is about to go away.
    constexpr size_t max_strings = 256 * 1024, max_pointers = 4096;
    char path[4096];
    int64_t len = mm::vm::copy_string_from_app(path, reinterpret_cast<const char*>(args[0]), sizeof path);
    if (len < 0) return len;
    char* strings = static_cast<char*>(malloc(max_strings));
    auto** pointers = static_cast<const char**>(malloc(max_pointers * sizeof(char*)));
    if (!strings || !pointers) {
        free(strings);
        free(pointers);
        return -e_nomem;
    }
    size_t used = 0, count = 0;
    const char** argv = pointers;
    const char** envp = nullptr;
    int64_t result = 0;
    for (int list = 0; list < 2 && result == 0; ++list) {
        auto* app_list = reinterpret_cast<const char* const*>(args[1 + list]);
        if (list == 1) envp = pointers + count;
        for (size_t i = 0; app_list; ++i) {
            const char* item;
            if (mm::vm::copy_from_app(&item, app_list + i, sizeof item)) {
                result = -e_fault;
                break;
            }
            if (!item) break;
            if (count + 2 >= max_pointers) {
                result = -e_2big;
                break;
            }
            int64_t n = mm::vm::copy_string_from_app(strings + used, item, max_strings - used);
            if (n < 0) {
                result = n == -36 ? -e_2big : n;
                break;
            }
            pointers[count++] = strings + used;
            used += static_cast<size_t>(n) + 1;
        }
        pointers[count++] = nullptr;
    }
    if (result == 0 && !argv[0]) result = -e_inval;  // Linux allows it; libcs' start code does not
    if (result != 0) {
        free(strings);
        free(pointers);
        return result;
    }
    char error[256];
    uintptr_t entry, sp;
    bool committed;
    int r = abi::load_program(path, argv, envp, entry, sp, error, sizeof error, committed);
    free(strings);
    free(pointers);
    if (r != 0) {
        // Before the point of no return the process is intact and sees the error (-ENOENT:
        // a shell tries the next PATH entry); after it there is nothing to return to.
        if (!committed) return r;
        kprintf("mica: execve: %s\n", error);
        abi::exit_application(127);
    }
    abi::files_exec();
    abi::signals_exec();
    sched::Thread* self = sched::current();
    auto* app = static_cast<AppThread*>(self->app);
    arch::app_state_init(app->state, 0);
    arch::app_state_load(app->state);
    self->exception_top = app->exception_base;
    arch::enter_application(entry, sp);
}

namespace {
// The process group and session of `pid`: the running process or one of its suspended
// parents (the only processes that exist besides zombies). False if there is none.
bool group_of(int pid, int* pgid, int* sid) {
    if (pid == 0 || pid == running_pid) {
        *pgid = running_pgid;
        *sid = running_sid;
        return true;
    }
    for (SuspendedParent* p = parents; p; p = p->outer) {
        if (p->pid == pid) {
            *pgid = p->pgid;
            *sid = p->sid;
            return true;
        }
    }
    return false;
}
}  // namespace

int64_t sys_getpgid(const uint64_t* args) {
    int pgid, sid;
    return group_of(static_cast<int>(args[0]), &pgid, &sid) ? pgid : -3;
}

int64_t sys_getpgrp(const uint64_t*) { return running_pgid; }  // x86_64 only

int64_t sys_getsid(const uint64_t* args) {
    int pgid, sid;
    return group_of(static_cast<int>(args[0]), &pgid, &sid) ? sid : -3;
}

// setpgid for the calling process (its suspended parents cannot change, and it has no live
// child): a new group led by itself, or another group of its session.
int64_t sys_setpgid(const uint64_t* args) {
    constexpr int64_t e_perm = 1, e_srch = 3;
    int pid = static_cast<int>(args[0]), pgid = static_cast<int>(args[1]);
    if (pgid < 0) return -e_inval;
    if (pid != 0 && pid != running_pid) return -e_srch;
    if (running_sid == running_pid) return -e_perm;  // a session leader cannot move
    if (pgid == 0) pgid = running_pid;
    if (pgid != running_pid) {
        bool found = false;
        for (SuspendedParent* p = parents; p; p = p->outer) found |= p->pgid == pgid && p->sid == running_sid;
        if (!found) return -e_perm;
    }
    running_pgid = pgid;
    return 0;
}

int64_t sys_setsid(const uint64_t*) {
    constexpr int64_t e_perm = 1;
    if (running_pgid == running_pid) return -e_perm;  // already a group leader
    running_pgid = running_sid = running_pid;
    return running_pid;
}

// waitid(idtype, id, infop, options, rusage): P_ALL, P_PID and P_PGID over the zombies (children
// always end before their parent runs again), WNOWAIT leaves the zombie.
int64_t sys_waitid(const uint64_t* args) {
    constexpr uint64_t p_all = 0, p_pid = 1, p_pgid = 2;
    constexpr uint32_t wnohang = 1, wstopped = 2, wexited = 4, wcontinued = 8, wnowait = 0x1000000,
                       wnothread = 0x20000000, wall = 0x40000000, wclone = 0x80000000;
    auto options = static_cast<uint32_t>(args[3]);
    if (options & ~(wnohang | wstopped | wexited | wcontinued | wnowait | wnothread | wall | wclone)) return -e_inval;
    if (!(options & (wexited | wstopped | wcontinued))) return -e_inval;
    uint64_t type = args[0];
    int id = static_cast<int>(args[1]);
    if (type > p_pgid || (type != p_all && id <= 0)) return -e_inval;
    Zombie** link = &zombies;
    for (Zombie* z = zombies; z; link = &z->next, z = z->next) {
        if (z->parent != running_pid) continue;
        if (type == p_pid && z->pid != id) continue;
        if (type == p_pgid && id != running_pgid) continue;  // children stay in their parent's group here
        if (!(options & wexited)) continue;
        if (args[2]) {
            abi::SigInfo info = {};
            info.signo = abi::sigchld;
            bool exited = (z->status & 0x7f) == 0;
            info.code = exited ? abi::cld_exited : abi::cld_killed;
            info.child.pid = z->pid;
            info.child.status = exited ? (z->status >> 8) & 0xff : z->status & 0x7f;
            if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &info, sizeof info)) return -e_fault;
        }
        if (args[4]) {
            uint8_t usage[144] = {};
            if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[4]), usage, sizeof usage)) return -e_fault;
        }
        if (!(options & wnowait)) {
            *link = z->next;
            free(z);
        }
        return 0;
    }
    return -e_child;
}
