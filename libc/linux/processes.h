// Processes (processes.cc): Linux processes that run side by side, each with its own address
// space (mm/vm.h Space), descriptors (files.h), signal dispositions and timers, its threads,
// its place in the process tree, its process group and session.
//
// Locking: `process_lock` (a spinlock, interrupts off) guards the tree, the list of all
// processes, their states, groups and thread counts. A parent sleeps on its own `children`
// queue for wait4/waitid (queue lock first, then process_lock; wakers take them one after
// the other, never nested).
#pragma once

#include <mica/linux/process.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <stdint.h>

namespace mica::abi {

struct SignalProcess;  // signal_internal.h

// User and group ids and capabilities (credentials.cc), one set per process (Linux keeps one
// per thread; glibc and musl make every thread change them alike). Guarded by process_lock.
inline constexpr int capability_last = 40;  // CAP_CHECKPOINT_RESTORE, as Linux 5.9 and later
inline constexpr uint64_t capabilities_all = (uint64_t{2} << capability_last) - 1;
struct Credentials {
    uint32_t ruid = 0, euid = 0, suid = 0, fsuid = 0;
    uint32_t rgid = 0, egid = 0, sgid = 0, fsgid = 0;
    uint64_t cap_effective = capabilities_all, cap_permitted = capabilities_all, cap_inheritable = 0;
    uint32_t* groups = nullptr;  // supplementary groups, sorted (malloc'd)
    int group_count = 0;
    Credentials() = default;
    Credentials(const Credentials&) = delete;
    Credentials& operator=(const Credentials&) = delete;
    ~Credentials();
};

// Resource limits (resources.cc): Linux's RLIMIT_* in its order. Guarded by process_lock.
inline constexpr int rlimit_count = 16;
struct ResourceLimit {
    uint64_t soft, hard;
};

// CPU time and memory of threads that ended, or of children waited for (resources.cc).
struct Usage {
    uint64_t user_ns = 0, system_ns = 0;
    uint64_t max_rss_kib = 0, minor_faults = 0;
    void add(const Usage& other);
};

struct Process {
    int pid = 0, pgid = 0, sid = 0;
    Process* parent = nullptr;
    Process* first_child = nullptr;
    Process* next_sibling = nullptr;
    Process* next = nullptr;          // all processes
    mm::vm::Space* space = nullptr;
    void* files = nullptr;            // files.h FilesState
    SignalProcess* signals = nullptr;
    void* timers = nullptr;           // itimer.cc
    int threads = 0;                  // live threads
    bool zombie = false;
    bool exiting = false;             // exit_group or a fatal signal: its threads end
    sched::Thread* exec_thread = nullptr;  // execve in progress: every other thread ends
    int exit_status = 0;              // wait4's encoding, once exiting
    void* vfork = nullptr;            // a vfork child: its parent's wait (processes.cc)
    sched::WaitQueue children;        // the parent side of wait4 and vfork
    char name[16] = {};               // the executable's last path component (procfs)
    char* exe = nullptr;              // its path (/proc/self/exe), malloc'd
    // Where exe and its interpreter were loaded (exec.cc): debuggers read it to place the
    // application's symbols (tools/gdb/mica.py).
    ProgramLoad program_load;
    Credentials credentials;          // under process_lock
    ResourceLimit limits[rlimit_count] = {};  // under process_lock (resources.cc sets them)
    int nice = 0;                     // getpriority/setpriority (one per process here)
    int policy = 0;                   // sched_setscheduler: SCHED_OTHER, BATCH or IDLE
    bool reset_on_fork = false;       // SCHED_RESET_ON_FORK
    uint32_t personality = 0;         // personality(2): recorded, inherited, reported
    uint32_t membarrier_registered = 0;  // membarrier's REGISTER_* commands done (atomic)
    // CPU time (signal_lock): of its threads that ended; of the children it waited for.
    Usage ended_threads, children_usage;
    uint64_t peak_rss_pages = 0;      // the largest resident size seen (getrusage, its end)
    // References to this record: the process table's (dropped when it is reaped) and those
    // of threads using it outside process_lock (a child telling it about its end or stop).
    int refs = 1;                     // under process_lock
};

extern sched::Spinlock process_lock;

// The calling thread's process (nullptr on kernel threads) and a process by id (under
// process_lock; nullptr for none or a zombie when `alive_only`).
Process* current_process();
Process* find_process(int pid, bool alive_only = true);
// Calls f(p) for every live process, under process_lock.
template <typename F>
void for_each_process(F f);
extern Process* all_processes;

// A new process id (process and thread ids share one space, as on Linux).
int allocate_id();
// The calling process's parent with a reference taken (nullptr for none), and dropping a
// reference (the last one frees the record).
Process* hold_parent();
void put_process(Process* p);

// fork/vfork/clone without CLONE_VM: a child process running a copy of the calling thread
// from this system call, on `stack` (0: the same stack pointer). Returns the child's pid to
// the parent (after the child has exec'd or ended, for vfork) or -errno.
int64_t fork_process(uint64_t flags, uintptr_t stack, uint32_t* child_tid);

// The calling thread ends with `status` (exit's); the last thread of a process ends the
// process (with the status of exit_group or a fatal signal if one came first).
[[noreturn]] void end_current_thread(int status);
// An application thread of `process` with thread id `tid` that resumes from the calling
// thread's current system call with result 0 (clone's child: `flags`' SETTLS, CHILD_SETTID,
// CHILD_CLEARTID and PARENT_SETTID; `stack` 0: the caller's stack pointer), in the process's
// address space; created, not started. nullptr when out of memory.
sched::Thread* create_clone_thread(uint64_t flags, uintptr_t stack, uintptr_t tls, uint32_t* child_tid,
                                   Process* process, int tid);
// The first process (pid 1) for thread `t` (exec.cc); false when out of memory.
struct AppThread;
bool become_first_process(sched::Thread* t, AppThread* app);
// execve committed: a vfork parent may go on.
void vfork_exec_done();
// execve: the process's other threads end (Linux's de_thread); the caller becomes the
// main thread (its tid the pid).
void end_other_threads();

// resources.cc: a process's limits, scheduling values and usage at its start (the first
// process) or inherited (fork); charging an ending thread's CPU time to its process; the
// usage of a process (its threads', or with `children` its reaped children's); recording
// its memory at its end (in its own address space).
void init_process_resources(Process* p);
void inherit_process_resources(Process* child, const Process* parent);
void charge_thread_times(Process* p);
Usage process_usage(Process* p, bool children);
void record_process_memory(Process* p);
// Linux's struct rusage (144 bytes) for `u`, into `out`.
void usage_to_rusage(const Usage& u, void* out);
// credentials.cc: fork's copy of the parent's credentials (false when out of memory); whether
// the calling process has capability `cap` in its effective set (kernel threads: yes).
bool inherit_credentials(Process* child, const Process* parent);
void credentials_exec();  // execve committed: Linux's rules for a file without set-id bits
bool capable(int cap);
inline constexpr int cap_chown = 0, cap_setgid = 6, cap_setuid = 7, cap_setpcap = 8, cap_ipc_lock = 14,
                     cap_sys_admin = 21, cap_sys_nice = 23, cap_sys_resource = 24;
// Whether the calling thread must end at its next delivery point (its process is exiting,
// or another thread of it is exec'ing).
bool thread_must_end();
// The process of the calling thread ends with `wait_status` (wait4's encoding): its other
// threads are told to end, this one ends; the first process stops the machine instead.
[[noreturn]] void exit_process(int wait_status);

template <typename F>
void for_each_process(F f) {
    for (Process* p = all_processes; p; p = p->next) {
        if (!p->zombie) f(p);
    }
}

}  // namespace mica::abi
