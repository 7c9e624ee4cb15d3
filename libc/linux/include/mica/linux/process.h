// The one application Mica runs: loading its ELF executable from the root filesystem,
// its threads (Linux threads on kernel threads), and its end, whose status becomes the
// machine's exit status.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::abi {

// Per-thread data of an application thread (sched::Thread::app).
struct AppThread {
    int tid;                    // the main thread's is the process id (1)
    void* state;                // arch::app_state_size() bytes: FPU/SIMD and TLS registers
    void* start;                // clone(): what the thread started from (freed at its exit)
    uint32_t* clear_child_tid;  // set_tid_address / CLONE_CHILD_CLEARTID: zeroed and woken at exit
    uint64_t robust_list;       // set_robust_list (recorded; futexes are not cleaned up)
    uintptr_t exception_base;   // the thread's own exception stack top (aarch64 moves it in calls)
    char name[16];              // prctl(PR_SET_NAME)
    void* signals;              // ThreadSignals (signal.h): mask, pending set, alternate stack
    void* process;              // its Process (processes.h)
    uint64_t system_cycles;     // CPU time spent in system calls (dispatch), of sched::cpu_cycles
    bool times_charged;         // its CPU time went to its process at its end (signal_lock)
};


// Loads `argv[0]` from the root filesystem and starts it on a new thread. On failure
// writes a message naming the problem into `error` and returns a negative errno.
int start_application(const char* const* argv, const char* const* envp, char* error, size_t error_size);
// Where a program's ELF files went: the load bias added to the executable's addresses (0
// for one linked at fixed addresses) and to its interpreter's (ld.so; 0: none).
struct ProgramLoad {
    uintptr_t load_bias = 0;
    uintptr_t interpreter_bias = 0;
};
// Loads `path` into a fresh address space (what was mapped before is gone once the file
// is found to be a loadable executable) with argv/envp on a new stack: entry point and
// stack pointer, or -errno and a message; `committed` says whether the old address space was
// already gone when it failed.
// On success the calling process (if any) records where the files went (ProgramLoad, also
// returned in `*loaded` when not null).
int load_program(const char* path, const char* const* argv, const char* const* envp, uintptr_t& entry,
                 uintptr_t& stack_pointer, char* error, size_t error_size, bool& committed,
                 ProgramLoad* loaded = nullptr);

// The first process's id (the application started at boot).
inline constexpr int first_process_id = 1;

// Exit statuses when the application cannot start, as a shell's: not found, cannot run.
inline constexpr int exit_not_found = 127, exit_not_executable = 126;

// Ends the calling process with `status` (0-255): its threads end, its parent hears of it;
// the first process powers the machine off with it as the exit status (processes.cc).
[[noreturn]] void exit_application(int status);
// The same for a process killed by `signal`.
[[noreturn]] void end_process_by_signal(int signal);
// The calling process's id and its parent's (0 for the first process or a kernel thread).
int current_pid();
int parent_pid();

// The calling process's executable path (nullptr on kernel threads), and setting it
// (false on kernel threads: the caller keeps the first program's).
const char* process_executable();
bool set_process_executable(const char* path);
// Records where the calling process's program was loaded (false on kernel threads).
bool set_process_load(const ProgramLoad& load);

// --memstats (tools/soak): the kernel's memory accounting is printed when the application
// starts and whenever a process ends, one line each:
//   mica: memstats: <event>: heap N allocations B bytes P pages, kernel K KiB, application A KiB, free F KiB
// "kernel" is every page in use that is not an application page (heap, page tables, stacks).
void set_memory_report(bool on);
void report_memory(const char* event, int pid);

// A fatal signal in application code (a fault the VM cannot resolve, an undefined
// instruction, abort()): reports it and ends the application with 128 + signal, as a
// shell reports a process killed by it.
[[noreturn]] void kill_application(int signal, const char* what, uintptr_t address, uintptr_t pc);
inline constexpr int sigill = 4, sigtrap = 5, sigabrt = 6, sigbus = 7, sigfpe = 8, sigkill = 9,
                     sigsegv = 11;
// A page fault in application code that found no free page (mm::vm::fault_for_lack_of_memory):
// SIGKILL, as Linux's out-of-memory killer sends, with how much memory the application holds.
[[noreturn]] void kill_application_out_of_memory(uintptr_t address, uintptr_t pc);

// True when `pc` is in application code (not the kernel image): faults there are the
// application's.
bool is_application_pc(uintptr_t pc);

}  // namespace mica::abi
