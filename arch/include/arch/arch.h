// The interface every architecture provides to the rest of the kernel. Code above arch/
// includes only this header (and arch-neutral ones), never an architecture's own headers.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica {
struct BootInfo;
}

namespace mica::arch {

// Early CPU set-up that must precede everything else (descriptor tables, exception vectors).
void cpu_init();

// Final kernel page tables: RAM identity-mapped, page 0 left unmapped so null pointers fault.
// Page-table pages come from mm::early_alloc.
void paging_init(const BootInfo& boot);

// The kernel page table's root (a direct-map address), for mm::PageTable with the entry
// format of traits.h. After paging_init, mm/vm.cc owns every change to it.
void* page_table_root();

// Loads the page table at physical address `root` on this CPU (x86_64: CR3; aarch64:
// TTBR0_EL1) and drops this CPU's translations of the previous one (no PCIDs or ASIDs:
// every switch flushes the TLB). Both tables must map the kernel alike.
void load_page_table(uintptr_t root);

// Drops stale translations of [va, va + length) after page-table entries changed there.
// On this CPU only where tlb_shootdown_needed (x86_64: the other CPUs get an IPI from
// mm/vm.cc); everywhere where the hardware broadcasts (aarch64 TLBI ...IS).
void tlb_invalidate_local(uintptr_t va, size_t length);
extern const bool tlb_shootdown_needed;
// The inter-processor interrupt that asks a CPU to run mm's TLB shootdown handler.
unsigned tlb_shootdown_irq();

// Monotonic cycle counter and its frequency (valid after clock_init()).
uint64_t cycles();
void clock_init();
// The calling secondary CPU's share of clock_init (its local timer).
void clock_init_cpu();
uint64_t cycles_per_second();
// How the frequency was found ("cpuid 0x15", "pit calibration", ...), for the boot log.
const char* clock_source();

// Interrupts on this CPU (taken through mica::irq::dispatch()).
void interrupts_enable();
void interrupts_disable();
bool interrupts_enabled();
// Called with interrupts disabled: sleeps until an interrupt is pending, lets its handler
// run, and returns with interrupts disabled again (no wake-up can be missed in between).
void wait_for_interrupt();

// Threads. A new thread's stack is prepared so that switching to it calls start() on it.
uintptr_t prepare_thread_stack(uintptr_t stack_top, void (*start)());
// Saves the current thread's registers on its stack and its stack pointer in *save_sp,
// then resumes the thread whose stack pointer is new_sp; interrupts and exceptions taken
// while that thread runs use the stack ending at exception_stack_top. Interrupts must be
// disabled. Returns when the saved thread is switched back to.
void switch_context(uintptr_t* save_sp, uintptr_t new_sp, uintptr_t exception_stack_top);
// The exception stack the boot code uses (the first thread keeps it).
uintptr_t boot_exception_stack_top();

// One-shot timer interrupt: the interrupt number the timer raises (irq::spurious where the
// architecture has no interrupt timer yet), arming it `ns` from now, and disarming it.
unsigned timer_irq();
const char* timer_name();
void timer_arm(uint64_t ns);
void timer_disarm();

// This CPU's index (0 for the boot CPU), from a per-CPU register set by set_cpu_index.
unsigned cpu_index();
void set_cpu_index(unsigned index);
// Starts secondary CPU `index` (hardware id `hw_id`) on the given stacks; it calls
// sched::secondary_cpu_main(index) once its CPU-local state is set up. False if the start
// request failed (a CPU that accepts it but never arrives is the caller's to time out).
bool start_cpu(unsigned index, uint64_t hw_id, uintptr_t stack_top, uintptr_t exception_stack_top);

// The inter-processor interrupt that asks a CPU to run its scheduler, and the one that
// stops a CPU for good (a panic on another CPU).
unsigned reschedule_irq();
unsigned stop_irq();

// Application threads: unmodified Linux code running in the kernel's address space and
// privilege. What such a thread has beyond a kernel thread - the floating-point/SIMD
// registers and the TLS register (x86_64 FS base, aarch64 TPIDR_EL0) - lives in an
// "app state" block the scheduler saves and loads when it switches them (the kernel
// itself never touches floating-point registers, so kernel threads need none).
size_t app_state_size();
void app_state_init(void* state, uintptr_t tls);  // default control words, all registers 0
void app_state_save(void* state);                 // this CPU's registers into `state`
void app_state_load(const void* state);
uintptr_t tls_register();
void set_tls_register(uintptr_t value);
// AT_HWCAP as Linux reports it (x86_64: CPUID leaf 1 EDX; aarch64: the HWCAP_* bits).
uint64_t linux_hwcap();
// The kernel stack system calls of the thread about to run use (its slot's stack top).
void set_syscall_stack(uintptr_t top);
// Starts application code at `entry` with stack pointer `sp`, as Linux starts a process
// (other registers zero); interrupts on. Also from a system call (execve): the thread's
// exception stack is reset first.
[[noreturn]] void enter_application(uintptr_t entry, uintptr_t sp);
// The registers of an application thread at a system call (arch-defined layout), and the
// way a clone() child resumes from a copy of its parent's with `result` (0) returned,
// stack pointer `sp` and, if `set_tls`, the TLS register `tls`.
struct SyscallFrame;
size_t syscall_frame_size();
uintptr_t syscall_frame_sp(const SyscallFrame* frame);  // the application's stack pointer
[[noreturn]] void resume_clone_child(const SyscallFrame* parent, uintptr_t kernel_stack_top, uintptr_t sp);

// Signal frames (Linux's rt_sigframe layout, which libcs and language runtimes read and
// change). UserRegs are the registers an application thread resumes with at a delivery
// point: the return from a system call, an interrupt or a fault (signal.h).
struct UserRegs;
uintptr_t user_sp(const UserRegs* regs);
uintptr_t user_pc(const UserRegs* regs);
int64_t syscall_result(const UserRegs* regs);
void set_syscall_result(UserRegs* regs, int64_t result);
// Makes the thread execute its system call again (Linux's restart after a handler with
// SA_RESTART): back to the call instruction with the call's number and first argument.
void restart_syscall(UserRegs* regs, uint64_t number, uint64_t first_argument);
struct SignalFrameRequest {
    int signal;
    const void* info;           // the 128-byte siginfo
    uint64_t handler;
    uint64_t restorer;          // sa_restorer (0: the kernel's own trampoline)
    uint64_t saved_mask;        // uc_sigmask: restored by rt_sigreturn
    uintptr_t stack_top;        // the alternate stack's top, or 0: below the interrupted sp
    uint64_t altstack_sp, altstack_size;  // uc_stack
    int altstack_flags;
};
// Writes the frame (with the FP/SIMD registers, which are live on this CPU) and points the
// registers at the handler. False if the frame could not be written.
bool push_signal_frame(UserRegs* regs, const SignalFrameRequest& request);
// rt_sigreturn: restores the registers (and FP/SIMD state) from the frame at the stack
// pointer and returns the saved mask. False for a frame that cannot be read or would
// resume in an impossible state.
bool pop_signal_frame(UserRegs* regs, uint64_t* mask);

// Zeroes one 4 KiB page (page-aligned) the fastest way the CPU has (x86 rep stosq, arm
// DC ZVA): demand paging zeroes a page per fault.
void clear_page(void* page);

// Spin-wait hint (pause / yield).
void cpu_relax();

// Stops this CPU for good with interrupts off.
[[noreturn]] void halt();

// Human-readable CPU model (e.g. the CPUID brand string).
const char* cpu_model();

// Deliberately faults, for the boot tests (CONFIG_TEST_OPTIONS). Every architecture has
// "null" (store to address 0) and "ud" (undefined instruction); fault_kinds lists all of its
// kinds, nullptr-terminated. Returns false if `kind` is not one of them.
extern const char* const fault_kinds[];
bool trigger_fault(const char* kind);

}  // namespace mica::arch
