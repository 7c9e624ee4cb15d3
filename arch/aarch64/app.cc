// Application threads on aarch64 (arch.h): FP/SIMD enabled at EL1, the q registers, FPCR,
// FPSR and TPIDR_EL0 as the per-thread state, and the system-call path (syscall.S).
#include <mica/trace/trace.h>
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/sched/sched.h>
#include <string.h>

extern "C" void mica_syscall_on_sp0(uintptr_t stack_top, void (*fn)(void*), void* arg, uintptr_t* exception_top);
extern "C" [[noreturn]] void mica_resume_frame(const mica::aarch64::TrapFrame* frame);
extern "C" [[noreturn]] void mica_enter_application(uintptr_t entry, uintptr_t sp);
extern "C" void mica_fp_save(void* area);
extern "C" void mica_reset_exception_stack(uintptr_t top);
extern "C" void mica_fp_load(const void* area);

namespace mica::arch {
struct SyscallFrame : aarch64::TrapFrame {};

namespace {
constexpr uint64_t cpacr_fpen = 3ull << 20;  // no trapping of FP/SIMD at EL1 and EL0

struct AppState {
    alignas(16) uint8_t q[32][16];
    uint64_t fpcr, fpsr;
    uint64_t tpidr_el0;
};
static_assert(offsetof(AppState, fpcr) == 512);

constexpr uint64_t nr_rt_sigreturn = 139;

void run_syscall(void* arg) {
    auto* frame = static_cast<aarch64::TrapFrame*>(arg);
    if (frame->x[8] == nr_rt_sigreturn) {
        // Not through abi::dispatch, and it does not return a result: an entry record only.
        TRACE(syscall_entry, nr_rt_sigreturn, frame->x[0], frame->x[1], frame->x[2], frame->x[3], frame->x[4],
              frame->x[5]);
        abi::signal_return(static_cast<UserRegs*>(frame));  // every register comes from the frame
        return;
    }
    frame->x[0] = static_cast<uint64_t>(abi::dispatch(frame->x[8], frame->x));
}
}  // namespace

void app_cpu_init() {
    MICA_WRITE_SYSREG(cpacr_el1, MICA_READ_SYSREG(cpacr_el1) | cpacr_fpen);
    aarch64::isb();
}

// FP and ASIMD, which every ARMv8-A CPU has; libcs then take their portable routines.
uint64_t linux_hwcap() { return 0x3; }  // HWCAP_FP | HWCAP_ASIMD

size_t app_state_size() { return sizeof(AppState); }

void app_state_init(void* state, uintptr_t tls) {
    auto* s = static_cast<AppState*>(state);
    memset(s, 0, sizeof *s);
    s->tpidr_el0 = tls;
}

void app_state_save(void* state) {
    auto* s = static_cast<AppState*>(state);
    mica_fp_save(s);
    s->tpidr_el0 = MICA_READ_SYSREG(tpidr_el0);
}

void app_state_load(const void* state) {
    auto* s = static_cast<const AppState*>(state);
    mica_fp_load(s);
    MICA_WRITE_SYSREG(tpidr_el0, s->tpidr_el0);
}

uintptr_t tls_register() { return MICA_READ_SYSREG(tpidr_el0); }
void set_tls_register(uintptr_t value) { MICA_WRITE_SYSREG(tpidr_el0, value); }

// aarch64 finds the kernel stack through the current thread (aarch64_syscall).
void set_syscall_stack(uintptr_t) {}

void enter_application(uintptr_t entry, uintptr_t sp) {
    // From execve the exception stack still holds the system call's frames: start it afresh.
    mica_reset_exception_stack(sched::current()->exception_top);
    mica_enter_application(entry, sp);
}

size_t syscall_frame_size() { return sizeof(SyscallFrame); }
uintptr_t syscall_frame_sp(const SyscallFrame* frame) { return frame->sp; }

void resume_clone_child(const SyscallFrame* parent, uintptr_t, uintptr_t sp) {
    // The child's frame goes on its own exception stack, where an exception return expects it.
    // Interrupts off first: an interrupt taken meanwhile would save its registers exactly
    // there (the stack's top) and return with the half-written frame's values (the soak
    // found a child resuming with x0 = 0 and faulting at address 0).
    arch::interrupts_disable();
    sched::Thread* self = sched::current();
    auto* frame = reinterpret_cast<aarch64::TrapFrame*>((self->exception_top - sizeof(aarch64::TrapFrame)) & ~uintptr_t{15});
    *frame = *parent;
    frame->x[0] = 0;
    frame->sp = sp;
    mica_resume_frame(frame);
}

}  // namespace mica::arch

// From traps.cc for `svc #0` (ELR already points past it).
void aarch64_syscall(mica::aarch64::TrapFrame* frame) {
    mica::sched::Thread* self = mica::sched::current();
    self->syscall_frame = frame;
    const mica::abi::SyscallReturn syscall = {frame->x[8], frame->x[0]};
    mica_syscall_on_sp0(self->kernel_stack_top, mica::arch::run_syscall, frame, &self->exception_top);
    // A delivery point (interrupts are off again): rt_sigreturn's registers are not a result.
    bool sigreturn = syscall.number == mica::arch::nr_rt_sigreturn;
    if (mica::sched::interrupted() || (!sigreturn && static_cast<int64_t>(frame->x[0]) == -mica::abi::e_restart)) {
        mica::abi::deliver_signals(static_cast<mica::arch::UserRegs*>(frame), sigreturn ? nullptr : &syscall);
    }
}
