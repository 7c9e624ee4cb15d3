// Signal frames on aarch64 (arch.h "Signal frames"), in Linux's layout: a frame record
// {x29, x30} at the top, below it struct rt_sigframe - the siginfo, then the ucontext whose
// sigcontext's reserved area holds an fpsimd_context (FPSR, FPCR, v0-v31) and a null
// terminator. The handler runs with x0 = signal, x1 = &info, x2 = &uc, x29 pointing at the
// frame record and x30 at the restorer (the kernel's trampoline unless SA_RESTORER).
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <mica/mm/vm.h>
#include <string.h>

extern "C" char mica_sigreturn_trampoline[];
extern "C" void mica_fp_save(void* area);
extern "C" void mica_fp_load(const void* area);

namespace mica::arch {
namespace {
constexpr uint32_t fpsimd_magic = 0x46508001;
constexpr uint64_t nzcv = 0xfull << 28;

struct FpsimdContext {
    uint32_t magic, size;
    uint32_t fpsr, fpcr;
    alignas(16) uint8_t vregs[32][16];
};
static_assert(sizeof(FpsimdContext) == 528);

struct SigContext {  // struct sigcontext up to its reserved area
    uint64_t fault_address;
    uint64_t regs[31];
    uint64_t sp, pc, pstate;
    uint64_t pad;  // __reserved is 16-byte aligned
};
static_assert(sizeof(SigContext) == 288);
constexpr size_t reserved_bytes = 4096;

struct UContextHead {
    uint64_t flags, link;
    uint64_t ss_sp;
    int32_t ss_flags, pad;
    uint64_t ss_size;
    uint64_t sigmask;
    uint8_t unused[120];  // glibc's sigset_t is 128 bytes
    uint64_t pad2;        // uc_mcontext is 16-byte aligned
};
static_assert(sizeof(UContextHead) == 176);

// Offsets in struct rt_sigframe.
constexpr size_t info_offset = 0, uc_offset = 128, mcontext_offset = uc_offset + sizeof(UContextHead),
                 reserved_offset = mcontext_offset + sizeof(SigContext),
                 frame_size = reserved_offset + reserved_bytes;
static_assert(frame_size == 4688);

// FP/SIMD registers as mica_fp_save stores them: q0-q31, then FPCR and FPSR.
struct FpArea {
    alignas(16) uint8_t q[32][16];
    uint64_t fpcr, fpsr;
};

int copy_out(uintptr_t at, const void* from, size_t n) { return mm::vm::copy_to_app(reinterpret_cast<void*>(at), from, n); }
int copy_in(void* to, uintptr_t at, size_t n) { return mm::vm::copy_from_app(to, reinterpret_cast<const void*>(at), n); }
}  // namespace

uintptr_t user_sp(const UserRegs* r) { return r->sp; }
uintptr_t user_pc(const UserRegs* r) { return r->elr; }
int64_t syscall_result(const UserRegs* r) { return static_cast<int64_t>(r->x[0]); }
void set_syscall_result(UserRegs* r, int64_t result) { r->x[0] = static_cast<uint64_t>(result); }

void restart_syscall(UserRegs* r, uint64_t, uint64_t first_argument) {
    constexpr uint64_t svc_bytes = 4;
    r->elr -= svc_bytes;  // x8 still holds the number
    r->x[0] = first_argument;
}

bool push_signal_frame(UserRegs* r, const SignalFrameRequest& q) {
    uintptr_t sp = q.stack_top ? q.stack_top : r->sp;
    uintptr_t record = (sp - 16) & ~uintptr_t{15};
    uintptr_t at = (record - frame_size) & ~uintptr_t{15};

    FpArea fp;
    mica_fp_save(&fp);
    FpsimdContext fpsimd = {};
    fpsimd.magic = fpsimd_magic;
    fpsimd.size = sizeof fpsimd;
    fpsimd.fpsr = static_cast<uint32_t>(fp.fpsr);
    fpsimd.fpcr = static_cast<uint32_t>(fp.fpcr);
    memcpy(fpsimd.vregs, fp.q, sizeof fp.q);
    const uint64_t terminator[2] = {0, 0};

    UContextHead uc = {};
    uc.ss_sp = q.altstack_sp;
    uc.ss_flags = q.altstack_flags;
    uc.ss_size = q.altstack_size;
    uc.sigmask = q.saved_mask;
    SigContext c = {};
    memcpy(&c.fault_address, static_cast<const uint8_t*>(q.info) + 16, sizeof c.fault_address);
    if (q.signal != 11 && q.signal != 7 && q.signal != 4 && q.signal != 8 && q.signal != 5) c.fault_address = 0;
    memcpy(c.regs, r->x, sizeof c.regs);
    c.sp = r->sp;
    c.pc = r->elr;
    c.pstate = r->spsr;
    const uint64_t frame_record[2] = {r->x[29], r->x[30]};
    if (copy_out(record, frame_record, sizeof frame_record) || copy_out(at + info_offset, q.info, 128) ||
        copy_out(at + uc_offset, &uc, sizeof uc) || copy_out(at + mcontext_offset, &c, sizeof c) ||
        copy_out(at + reserved_offset, &fpsimd, sizeof fpsimd) ||
        copy_out(at + reserved_offset + sizeof fpsimd, terminator, sizeof terminator)) {
        return false;
    }
    r->x[0] = static_cast<uint64_t>(q.signal);
    r->x[1] = at + info_offset;
    r->x[2] = at + uc_offset;
    r->x[29] = record;
    r->x[30] = q.restorer ? q.restorer : reinterpret_cast<uint64_t>(mica_sigreturn_trampoline);
    r->sp = at;
    r->elr = q.handler;
    return true;
}

bool pop_signal_frame(UserRegs* r, uint64_t* mask) {
    uintptr_t at = r->sp;
    if (at & 15) return false;  // Linux's check: the frame is where the handler found it
    UContextHead uc;
    SigContext c;
    FpsimdContext fpsimd;
    if (copy_in(&uc, at + uc_offset, sizeof uc) || copy_in(&c, at + mcontext_offset, sizeof c) ||
        copy_in(&fpsimd, at + reserved_offset, sizeof fpsimd)) {
        return false;
    }
    if (fpsimd.magic != fpsimd_magic || fpsimd.size != sizeof fpsimd) return false;
    FpArea fp;
    memcpy(fp.q, fpsimd.vregs, sizeof fp.q);
    fp.fpsr = fpsimd.fpsr;
    fp.fpcr = fpsimd.fpcr;
    memcpy(r->x, c.regs, sizeof c.regs);
    r->sp = c.sp;
    r->elr = c.pc;
    // Only the condition flags come from the frame: the exception level, the stack
    // selection and the interrupt masks stay those of application code.
    r->spsr = (r->spsr & ~nzcv) | (c.pstate & nzcv);
    mica_fp_load(&fp);
    *mask = uc.sigmask;
    return true;
}

}  // namespace mica::arch
