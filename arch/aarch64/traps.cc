// Exception dispatch. Page faults go to demand paging (mm/vm.cc) first, then to the fix-up
// of the checked copy routines; other exceptions are fatal, except the semihosting probe: an HLT that traps because QEMU runs without -semihosting resumes
// after the instruction with x0 = -1, so the exit code falls back to PSCI.
#include <mica/trace/trace.h>
#include <arch/aarch64/cpu.h>
#include <mica/console.h>
#include <mica/irq.h>
#include <mica/linux/process.h>
#include <mica/linux/signal.h>
#include <mica/sched/sched.h>
#include <mica/mm/file_pager.h>
#include <mica/mm/vm.h>
#include <mica/panic.h>
#include <mica/sched/stacks.h>

extern "C" char mica_semihosting_hlt[];
void aarch64_syscall(mica::aarch64::TrapFrame* frame);  // app.cc

namespace {

using mica::aarch64::TrapFrame;

enum Kind : uint64_t { sync_el1t = 0, irq_el1t, fiq_el1t, serror_el1t, sync_el1h, irq_el1h, fiq_el1h, serror_el1h };
constexpr const char* kind_names[16] = {
    "synchronous exception", "IRQ", "FIQ", "SError",
    "synchronous exception in an exception handler", "IRQ in an exception handler",
    "FIQ in an exception handler", "SError in an exception handler",
    "synchronous exception from a lower EL", "IRQ from a lower EL", "FIQ from a lower EL",
    "SError from a lower EL", "synchronous exception from AArch32", "IRQ from AArch32",
    "FIQ from AArch32", "SError from AArch32"};

// ESR_EL1 exception classes.
constexpr uint64_t ec_svc64 = 0x15;
constexpr uint64_t ec_unknown = 0x00, ec_instruction_abort = 0x21, ec_pc_alignment = 0x22,
                   ec_data_abort = 0x25, ec_sp_alignment = 0x26, ec_brk = 0x3c;
constexpr uint64_t iss_wnr = 1u << 6;

// A fault in application code is the application's (see the x86_64 traps.cc).
bool in_application(uintptr_t pc) {
    return mica::sched::current() && mica::sched::current()->app && mica::abi::is_application_pc(pc);
}

void dump_registers(const void* state) {
    auto* f = static_cast<const TrapFrame*>(state);
    using mica::kprintf;
    kprintf("Registers:\n");
    kprintf("  pc  %016lx  sp  %016lx  pstate %016lx\n", f->elr, f->sp, f->spsr);
    for (int i = 0; i < 30; i += 3) {
        kprintf("  x%-2d %016lx  x%-2d %016lx  x%-2d %016lx\n", i, f->x[i], i + 1, f->x[i + 1], i + 2,
                i + 2 <= 30 ? f->x[i + 2] : 0);
    }
    kprintf("  esr %016lx  far %016lx\n", f->esr, f->far);
}

const char* fault_status(uint64_t dfsc) {
    switch (dfsc >> 2) {
    case 0x1: return "page not present";  // translation fault, any level
    case 0x2: return "access flag fault";
    case 0x3: return "protection violation";  // permission fault
    default: return dfsc == 0x21 ? "alignment fault" : "other fault";
    }
}

// A delivery point: returning to application code with a signal to deliver.
void return_to_application(TrapFrame* frame) {
    if (in_application(frame->elr) && mica::sched::interrupted()) {
        mica::abi::deliver_signals(static_cast<mica::arch::UserRegs*>(frame), nullptr);
    }
}


// A fault in application code: its signal goes to the handler on the way back, or the
// process ends as the signal's default action would end it.
void application_fault_at(TrapFrame* frame, int signal, int code, uintptr_t fault_address, const char* what,
                          uintptr_t report_address) {
    mica::abi::fault_signal(signal, code, fault_address, what, report_address, frame->elr);
    return_to_application(frame);
}

}  // namespace

extern "C" void aarch64_trap(TrapFrame* frame, uint64_t kind) {
    uint64_t ec = frame->esr >> 26 & 0x3f;
    uint64_t iss = frame->esr & 0x1ffffff;
    if (kind == sync_el1t && ec == ec_unknown && frame->elr == reinterpret_cast<uint64_t>(mica_semihosting_hlt)) {
        frame->x[0] = ~uint64_t{0};
        frame->elr += 4;
        return;
    }
    uintptr_t pc = frame->elr, fp = frame->x[29];
    if (kind == irq_el1t) {
        mica::irq::dispatch(mica::irq::spurious, frame->elr, frame->x[29]);
        return_to_application(frame);
        return;
    }
    if (kind != sync_el1t && kind != sync_el1h) {
        mica::panic_at(pc, fp, dump_registers, frame, "unexpected %s", kind_names[kind & 15]);
    }
    namespace vm = mica::mm::vm;
    if (kind == sync_el1t && ec == ec_svc64) {
        aarch64_syscall(frame);
        return;
    }
    switch (ec) {
    case ec_data_abort: {
        if (mica::sched::populate_stack_page(frame->far)) return;
        if (const char* what = mica::sched::describe_guard_page(frame->far)) {
            mica::panic_at(pc, fp, dump_registers, frame, "%s: address %#lx at pc %#lx", what, frame->far, pc);
        }
        vm::Access access = (iss & iss_wnr) ? vm::Access::write : vm::Access::read;
        if (vm::handle_fault(frame->far, access, pc)) return;
        // A file page to read from disk: on the way back to the application (file_pager.h).
        if (in_application(pc) && vm::defer_file_fault(frame->far, access, pc)) {
            return_to_application(frame);
            return;
        }
        if (uintptr_t resume = vm::fixup_for(pc)) {
            frame->elr = resume;
            return;
        }
        if (in_application(pc)) {
            if (vm::fault_for_lack_of_memory(frame->far, access)) mica::abi::kill_application_out_of_memory(frame->far, pc);
            bool permission = ((iss & 0x3f) >> 2) == 0x3;
            TRACE(mm_fault, frame->far, pc, vm::fault_access_code(access), static_cast<uint64_t>(vm::FaultResult::signal));
            application_fault_at(frame, mica::abi::sigsegv, permission ? mica::abi::segv_accerr : mica::abi::segv_maperr,
                              frame->far, (iss & iss_wnr) ? "write to" : "read from", frame->far);
            return;
        }
        mica::panic_at(pc, fp, dump_registers, frame, "page fault: kernel %s address %#lx (%s, %s) at pc %#lx",
                       (iss & iss_wnr) ? "write to" : "read from", frame->far, fault_status(iss & 0x3f),
                       vm::describe_fault(frame->far, access), pc);
    }
    case ec_instruction_abort:
        if (vm::handle_fault(frame->far, vm::Access::execute, pc)) return;
        if (in_application(pc) && vm::defer_file_fault(frame->far, vm::Access::execute, pc)) {
            return_to_application(frame);
            return;
        }
        if (in_application(pc)) {
            bool permission = ((iss & 0x3f) >> 2) == 0x3;
            TRACE(mm_fault, frame->far, pc, 2, static_cast<uint64_t>(vm::FaultResult::signal));
            application_fault_at(frame, mica::abi::sigsegv, permission ? mica::abi::segv_accerr : mica::abi::segv_maperr,
                              frame->far, "instruction fetch from", frame->far);
            return;
        }
        mica::panic_at(pc, fp, dump_registers, frame,
                       "page fault: kernel instruction fetch from address %#lx (%s, %s) at pc %#lx", frame->far,
                       fault_status(iss & 0x3f), vm::describe_fault(frame->far, vm::Access::execute), pc);
    case ec_unknown:
        if (in_application(pc)) {
            application_fault_at(frame, mica::abi::sigill, mica::abi::ill_illopc, pc, "undefined instruction", 0);
            return;
        }
        mica::panic_at(pc, fp, dump_registers, frame, "undefined instruction at pc %#lx", pc);
    case ec_brk:
        if (in_application(pc)) {
            application_fault_at(frame, mica::abi::sigtrap, mica::abi::trap_brkpt, pc, "breakpoint", 0);
            return;
        }
        mica::panic_at(pc, fp, dump_registers, frame, "breakpoint (brk #%#lx) at pc %#lx", iss & 0xffff, pc);
    case ec_pc_alignment:
    case ec_sp_alignment:
        if (in_application(pc)) {
            application_fault_at(frame, mica::abi::sigbus, mica::abi::bus_adraln, pc, "misaligned pc or sp", 0);
            return;
        }
        mica::panic_at(pc, fp, dump_registers, frame, "%s alignment fault at pc %#lx",
                       ec == ec_pc_alignment ? "pc" : "sp", pc);
    default:
        mica::panic_at(pc, fp, dump_registers, frame, "%s (esr %#lx, class %#lx) at pc %#lx", kind_names[kind & 15],
                       frame->esr, ec, pc);
    }
}
