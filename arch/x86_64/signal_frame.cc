// Signal frames on x86_64 (arch.h "Signal frames"), in Linux's layout: below the red zone
// (or at the top of the alternate stack) the FXSAVE area, then struct rt_sigframe - the
// restorer's address where the handler's `ret` finds it, the ucontext and the siginfo.
// The handler runs with %rdi = signal, %rsi = &info, %rdx = &uc.
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <mica/mm/vm.h>
#include <string.h>

extern "C" char mica_sigreturn_trampoline[];

namespace mica::arch {

namespace {
constexpr size_t red_zone = 128, fxsave_bytes = 512;
constexpr uint64_t uc_sigcontext_ss = 2;
constexpr uint64_t rflags_cf = 1, rflags_pf = 1 << 2, rflags_af = 1 << 4, rflags_zf = 1 << 6, rflags_sf = 1 << 7,
                   rflags_tf = 1 << 8, rflags_df = 1 << 10, rflags_of = 1 << 11, rflags_rf = 1 << 16,
                   rflags_ac = 1 << 18;
// What rt_sigreturn takes from the frame (Linux's FIX_EFLAGS without TF: single-stepping
// kernel-privileged code is not something an application may ask for).
constexpr uint64_t restorable_flags = rflags_ac | rflags_of | rflags_df | rflags_sf | rflags_zf | rflags_af |
                                      rflags_pf | rflags_cf | rflags_rf;
constexpr int sigsegv = 11;

struct SigContext {  // struct sigcontext (64-bit)
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};
static_assert(sizeof(SigContext) == 256);

struct UContext {
    uint64_t flags, link;
    uint64_t ss_sp;
    int32_t ss_flags, pad;
    uint64_t ss_size;
    SigContext mcontext;
    uint64_t sigmask;
};
static_assert(sizeof(UContext) == 304);

struct RtSigframe {
    uint64_t pretcode;
    UContext uc;
    uint8_t info[128];
};
static_assert(sizeof(RtSigframe) == 440);

// The MXCSR bits this CPU implements (FXSAVE's MXCSR_MASK; 0 there means the default),
// the same on every CPU: read once.
uint32_t cpu_mxcsr_mask() {
    static uint32_t mask = 0;  // written once, by whichever CPU gets here first
    uint32_t m = __atomic_load_n(&mask, __ATOMIC_RELAXED);
    if (!m) {
        alignas(16) uint8_t current[fxsave_bytes];
        asm volatile("fxsave64 %0" : "=m"(current));
        memcpy(&m, current + 28, 4);
        if (!m) m = 0xffbf;
        __atomic_store_n(&mask, m, __ATOMIC_RELAXED);
    }
    return m;
}

bool canonical(uint64_t a) { return static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a; }
}  // namespace

uintptr_t user_sp(const UserRegs* r) { return r->rsp; }
uintptr_t user_pc(const UserRegs* r) { return r->rip; }
int64_t syscall_result(const UserRegs* r) { return static_cast<int64_t>(r->rax); }
void set_syscall_result(UserRegs* r, int64_t result) { r->rax = static_cast<uint64_t>(result); }

void restart_syscall(UserRegs* r, uint64_t number, uint64_t) {
    constexpr uint64_t syscall_instruction_bytes = 2;  // 0f 05
    r->rip -= syscall_instruction_bytes;
    r->rax = number;
}

bool push_signal_frame(UserRegs* r, const SignalFrameRequest& q) {
    uintptr_t sp = q.stack_top ? q.stack_top : r->rsp - red_zone;
    uintptr_t fpstate = (sp - fxsave_bytes) & ~uintptr_t{63};
    uintptr_t at = ((fpstate - sizeof(RtSigframe)) & ~uintptr_t{15}) - 8;  // as after a call

    alignas(16) uint8_t fx[fxsave_bytes];
    asm volatile("fxsave64 %0" : "=m"(fx));

    RtSigframe f = {};
    f.pretcode = q.restorer ? q.restorer : reinterpret_cast<uint64_t>(mica_sigreturn_trampoline);
    f.uc.flags = uc_sigcontext_ss;
    f.uc.ss_sp = q.altstack_sp;
    f.uc.ss_flags = q.altstack_flags;
    f.uc.ss_size = q.altstack_size;
    SigContext& c = f.uc.mcontext;
    c = SigContext{r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rdi,
                   r->rsi, r->rbp, r->rbx, r->rdx, r->rax, r->rcx, r->rsp, r->rip, r->rflags,
                   static_cast<uint16_t>(r->cs), 0, 0, static_cast<uint16_t>(r->ss),
                   r->vector < 32 ? r->error_code : 0, r->vector < 32 ? r->vector : 0, q.saved_mask, 0,
                   fpstate, {}};
    memcpy(f.info, q.info, sizeof f.info);
    if (q.signal == sigsegv || q.signal == 7) memcpy(&c.cr2, f.info + 16, sizeof c.cr2);  // si_addr
    f.uc.sigmask = q.saved_mask;
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(fpstate), fx, sizeof fx) ||
        mm::vm::copy_to_app(reinterpret_cast<void*>(at), &f, sizeof f)) {
        return false;
    }
    r->rdi = static_cast<uint64_t>(q.signal);
    r->rsi = at + offsetof(RtSigframe, info);
    r->rdx = at + offsetof(RtSigframe, uc);
    r->rax = 0;
    r->rsp = at;
    r->rip = q.handler;
    r->rflags &= ~(rflags_df | rflags_tf | rflags_rf | rflags_ac);
    // %rcx and %r11 are scratch at the handler's entry (the frame keeps their values): set
    // as a system call leaves them, the return can take the system call's exit path.
    r->rcx = r->rip;
    r->r11 = r->rflags;
    return true;
}

bool pop_signal_frame(UserRegs* r, uint64_t* mask) {
    UContext uc;
    uintptr_t at = r->rsp - sizeof(uint64_t);  // the handler's `ret` took the restorer address
    if (mm::vm::copy_from_app(&uc, reinterpret_cast<const void*>(at + offsetof(RtSigframe, uc)), sizeof uc)) return false;
    const SigContext& c = uc.mcontext;
    // iretq to a non-canonical address would fault in the kernel: refuse it here, as
    // Linux's return to user mode turns it into a SIGSEGV.
    if (!canonical(c.rip) || !canonical(c.rsp)) return false;
    alignas(16) uint8_t fx[fxsave_bytes];
    if (c.fpstate) {
        if (mm::vm::copy_from_app(fx, reinterpret_cast<const void*>(c.fpstate), sizeof fx)) return false;
        // MXCSR bits the CPU does not have would make fxrstor fault: keep only its mask.
        uint32_t mxcsr, mxcsr_mask = cpu_mxcsr_mask();
        memcpy(&mxcsr, fx + 24, 4);
        mxcsr &= mxcsr_mask;
        memcpy(fx + 24, &mxcsr, 4);
        memcpy(fx + 28, &mxcsr_mask, 4);
    }
    r->r8 = c.r8, r->r9 = c.r9, r->r10 = c.r10, r->r11 = c.r11, r->r12 = c.r12, r->r13 = c.r13, r->r14 = c.r14;
    r->r15 = c.r15, r->rdi = c.rdi, r->rsi = c.rsi, r->rbp = c.rbp, r->rbx = c.rbx, r->rdx = c.rdx, r->rax = c.rax;
    r->rcx = c.rcx, r->rsp = c.rsp, r->rip = c.rip;
    r->rflags = (r->rflags & ~restorable_flags) | (c.eflags & restorable_flags);
    if (c.fpstate) asm volatile("fxrstor64 %0" ::"m"(fx));
    *mask = uc.sigmask;
    return true;
}

}  // namespace mica::arch
