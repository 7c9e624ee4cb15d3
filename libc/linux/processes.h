// Processes (processes.cc): Linux processes that run side by side, each with its own address
// space (mm/vm.h Space), descriptors (files.h), signal dispositions and timers, its threads,
// its place in the process tree, its process group and session.
//
// Locking: `process_lock` (a spinlock, interrupts off) guards the tree, the list of all
// processes, their states, groups and thread counts. A parent sleeps on its own `children`
// queue for wait4/waitid (queue lock first, then process_lock; wakers take them one after
// the other, never nested).
#pragma once

#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <stdint.h>

namespace mica::abi {

struct SignalProcess;  // signal_internal.h

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
