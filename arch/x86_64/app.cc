// Application threads on x86_64 (arch.h): SSE and the `syscall` instruction enabled on every
// CPU, FXSAVE areas plus the FS base as the per-thread state, and the system-call entry's
// C++ half.
#include <mica/trace/trace.h>
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/syscall.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/sched/sched.h>
#include <string.h>

extern "C" void mica_syscall_entry();
extern "C" [[noreturn]] void mica_resume_syscall_frame(const mica::x86::SyscallFrame* frame);
extern "C" [[noreturn]] void mica_enter_application(uintptr_t entry, uintptr_t sp);

namespace mica::arch {
struct SyscallFrame : x86::SyscallFrame {};

namespace {
constexpr uint32_t msr_star = 0xc0000081, msr_lstar = 0xc0000082, msr_sfmask = 0xc0000084,
                   msr_fs_base = 0xc0000100;
constexpr uint64_t efer_sce = 1;
constexpr uint64_t cr0_mp = 1 << 1, cr0_em = 1 << 2, cr0_ts = 1 << 3;
constexpr uint64_t cr4_osfxsr = 1 << 9, cr4_osxmmexcpt = 1 << 10;
constexpr uint64_t rflags_tf = 1 << 8, rflags_if = 1 << 9, rflags_df = 1 << 10, rflags_ac = 1 << 18;
constexpr uint16_t kernel_code = 0x08;  // cpu_tables.cc; SYSCALL loads SS = this + 8
constexpr size_t fxsave_bytes = 512;
constexpr uint16_t default_fcw = 0x37f;     // x87: all exceptions masked, double extended
constexpr uint32_t default_mxcsr = 0x1f80;  // SSE: all exceptions masked, round to nearest

struct AppState {
    alignas(16) uint8_t fxsave[fxsave_bytes];
    uint64_t fs_base;
};
}  // namespace

// Per CPU, from cpu_init and cpu_init_secondary.
void app_cpu_init() {
    uint64_t cr0, cr4;
    asm volatile("mov %%cr0, %0" : "=r"(cr0));
    asm volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
    cr0 = (cr0 | cr0_mp) & ~(cr0_em | cr0_ts);
    cr4 |= cr4_osfxsr | cr4_osxmmexcpt;
    asm volatile("mov %0, %%cr0; mov %1, %%cr4" ::"r"(cr0), "r"(cr4) : "memory");
    x86::wrmsr(x86::msr_efer, x86::rdmsr(x86::msr_efer) | efer_sce);
    x86::wrmsr(msr_star, uint64_t{kernel_code} << 32);
    x86::wrmsr(msr_lstar, reinterpret_cast<uint64_t>(mica_syscall_entry));
    x86::wrmsr(msr_sfmask, rflags_tf | rflags_if | rflags_df | rflags_ac);
}

uint64_t linux_hwcap() { return x86::cpuid(1).edx; }

size_t app_state_size() { return sizeof(AppState); }

void app_state_init(void* state, uintptr_t tls) {
    auto* s = static_cast<AppState*>(state);
    memset(s, 0, sizeof *s);
    memcpy(s->fxsave, &default_fcw, sizeof default_fcw);       // FCW at offset 0
    memcpy(s->fxsave + 24, &default_mxcsr, sizeof default_mxcsr);  // MXCSR at offset 24
    s->fs_base = tls;
}

void app_state_save(void* state) {
    auto* s = static_cast<AppState*>(state);
    asm volatile("fxsave64 %0" : "=m"(*reinterpret_cast<uint8_t(*)[fxsave_bytes]>(s->fxsave)));
    s->fs_base = x86::rdmsr(msr_fs_base);
}

void app_state_load(const void* state) {
    auto* s = static_cast<const AppState*>(state);
    asm volatile("fxrstor64 %0" ::"m"(*reinterpret_cast<const uint8_t(*)[fxsave_bytes]>(s->fxsave)));
    x86::wrmsr(msr_fs_base, s->fs_base);
}

uintptr_t tls_register() { return x86::rdmsr(msr_fs_base); }
void set_tls_register(uintptr_t value) { x86::wrmsr(msr_fs_base, value); }

void enter_application(uintptr_t entry, uintptr_t sp) { mica_enter_application(entry, sp); }

size_t syscall_frame_size() { return sizeof(SyscallFrame); }
uintptr_t syscall_frame_sp(const SyscallFrame* frame) { return frame->rsp; }

void resume_clone_child(const SyscallFrame* parent, uintptr_t, uintptr_t sp) {
    // On this stack, below the live frames of the thread's start (at the stack's top a
    // frame would overlap them, and the call below would write its return address into it).
    alignas(16) SyscallFrame frame = *parent;
    frame.rax = 0;
    frame.rsp = sp;
    mica_resume_syscall_frame(&frame);
}

}  // namespace mica::arch

namespace {
constexpr uint64_t nr_rt_sigreturn = 15;
constexpr uint16_t kernel_data = 0x10;

// The full register set of the application at this system call, for a return through
// a delivery point: %rcx and %r11 hold what `syscall` left in them, as on Linux.
void to_user_regs(const mica::arch::SyscallFrame* f, mica::x86::TrapFrame* t) {
    *t = mica::x86::TrapFrame{f->r15, f->r14, f->r13, f->r12, f->rflags, f->r10, f->r9, f->r8,
                              f->rbp, f->rdi, f->rsi, f->rdx, f->rip, f->rbx, f->rax,
                              0, 0, f->rip, mica::arch::kernel_code, f->rflags, f->rsp, kernel_data};
}
}  // namespace

extern "C" [[noreturn]] void mica_restore_trap_frame(mica::x86::TrapFrame* frame);

extern "C" void x86_64_signal_exit(mica::x86::TrapFrame* frame, const mica::abi::SyscallReturn* syscall) {
    mica::abi::deliver_signals(static_cast<mica::arch::UserRegs*>(frame), syscall);
}

namespace {
// Leaves a delivery point on the system call's own exit path when it can: that path restores
// every register but %rcx and %r11 (they carry the return address and flags), so it serves
// when those two hold exactly that - after a handler's frame was pushed (the handler does not
// read them) and after rt_sigreturn to code that was itself in a system call (as Linux's
// opportunistic sysret). Anything else leaves through iretq, which restores everything.
void leave_with(mica::x86::TrapFrame& regs, mica::arch::SyscallFrame* frame) {
    constexpr uint64_t rflags_tf = 1 << 8, rflags_rf = 1 << 16;
    if (regs.rcx != regs.rip || regs.r11 != regs.rflags || (regs.rflags & (rflags_tf | rflags_rf))) {
        mica_restore_trap_frame(&regs);
    }
    *frame = mica::arch::SyscallFrame{};
    frame->r15 = regs.r15, frame->r14 = regs.r14, frame->r13 = regs.r13, frame->r12 = regs.r12;
    frame->rbp = regs.rbp, frame->rbx = regs.rbx, frame->r9 = regs.r9, frame->r8 = regs.r8;
    frame->r10 = regs.r10, frame->rdx = regs.rdx, frame->rsi = regs.rsi, frame->rdi = regs.rdi;
    frame->rax = regs.rax, frame->rip = regs.rip, frame->rflags = regs.rflags, frame->rsp = regs.rsp;
}
}  // namespace

extern "C" void x86_64_syscall(mica::arch::SyscallFrame* frame) {
    mica::sched::current()->syscall_frame = frame;
    mica::arch::interrupts_enable();
    uint64_t number = frame->rax;
    const uint64_t args[6] = {frame->rdi, frame->rsi, frame->rdx, frame->r10, frame->r8, frame->r9};
    if (number == nr_rt_sigreturn) {
        // Not through abi::dispatch, and it does not return a result: an entry record only.
        TRACE(syscall_entry, number, args[0], args[1], args[2], args[3], args[4], args[5]);
        alignas(16) mica::x86::TrapFrame regs;
        to_user_regs(frame, &regs);
        mica::abi::signal_return(static_cast<mica::arch::UserRegs*>(&regs));
        mica::arch::interrupts_disable();
        // (On this kernel stack, which the frame writes' nested faults do not use.)
        if (mica::sched::interrupted()) mica::abi::deliver_signals(static_cast<mica::arch::UserRegs*>(&regs), nullptr);
        leave_with(regs, frame);
        return;
    }
    int64_t result = mica::abi::dispatch(number, args);
    frame->rax = static_cast<uint64_t>(result);
    mica::arch::interrupts_disable();
    if (result == -mica::abi::e_restart || mica::sched::interrupted()) {
        alignas(16) mica::x86::TrapFrame regs;
        to_user_regs(frame, &regs);
        const mica::abi::SyscallReturn syscall = {number, args[0]};
        mica::abi::deliver_signals(static_cast<mica::arch::UserRegs*>(&regs), &syscall);
        leave_with(regs, frame);
    }
}
