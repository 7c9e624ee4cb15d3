// Exception dispatch: page faults go to demand paging (mm/vm.cc) first, then to the fix-up
// of the checked copy routines (as do general protection faults there); every other
// exception, and a fault neither resolves, is reported with the registers and a backtrace.
#include <mica/trace/trace.h>
#include <arch/x86_64/cpu.h>
#include <mica/console.h>
#include <mica/irq.h>
#include <mica/linux/process.h>
#include <mica/linux/signal.h>
#include <mica/mm/file_pager.h>
#include <mica/sched/sched.h>
#include <mica/mm/vm.h>
#include <mica/panic.h>
#include <mica/sched/stacks.h>

namespace {

using mica::x86::TrapFrame;

constexpr const char* exception_names[32] = {
    "divide error", "debug", "non-maskable interrupt", "breakpoint", "overflow", "bound range exceeded",
    "invalid opcode", "device not available", "double fault", "coprocessor segment overrun",
    "invalid TSS", "segment not present", "stack-segment fault", "general protection fault",
    "page fault", "reserved", "x87 floating-point error", "alignment check", "machine check",
    "SIMD floating-point error", "virtualization exception", "control protection", "reserved",
    "reserved", "reserved", "reserved", "reserved", "reserved", "hypervisor injection",
    "VMM communication", "security exception", "reserved"};
constexpr unsigned vector_general_protection = 13, vector_page_fault = 14;
constexpr uint64_t pf_present = 1, pf_write = 2, pf_user = 4, pf_fetch = 16;

// A fault in application code is the application's: it ends the way Linux's default
// signal action would end it. Faults in the kernel (even on an application thread) panic.
bool in_application(uintptr_t pc) {
    return mica::sched::current() && mica::sched::current()->app && mica::abi::is_application_pc(pc);
}

void dump_registers(const void* state) {
    auto* f = static_cast<const TrapFrame*>(state);
    using mica::kprintf;
    kprintf("Registers:\n");
    kprintf("  rip %016lx  rsp %016lx  rflags %016lx\n", f->rip, f->rsp, f->rflags);
    kprintf("  rax %016lx  rbx %016lx  rcx %016lx\n", f->rax, f->rbx, f->rcx);
    kprintf("  rdx %016lx  rsi %016lx  rdi %016lx\n", f->rdx, f->rsi, f->rdi);
    kprintf("  rbp %016lx  r8  %016lx  r9  %016lx\n", f->rbp, f->r8, f->r9);
    kprintf("  r10 %016lx  r11 %016lx  r12 %016lx\n", f->r10, f->r11, f->r12);
    kprintf("  r13 %016lx  r14 %016lx  r15 %016lx\n", f->r13, f->r14, f->r15);
    kprintf("  cs %04lx  ss %04lx  cr2 %016lx  cr3 %016lx  error %lx\n", f->cs, f->ss, mica::x86::read_cr2(),
            mica::x86::read_cr3(), f->error_code);
}

}  // namespace

extern "C" [[noreturn]] void mica_signal_exit(TrapFrame* frame, const mica::abi::SyscallReturn* syscall);

namespace {
// A delivery point: returning to application code with a signal to deliver, the frame moves
// to the thread's kernel stack (free while it runs application code; the IST stack this
// trap came in on is per CPU for faults and must not take the nested faults of writing the
// signal frame) and leaves through mica_signal_exit.
void return_to_application(TrapFrame* frame) {
    if (!in_application(frame->rip) || !mica::sched::interrupted()) return;
    auto* moved = reinterpret_cast<TrapFrame*>((mica::sched::current()->kernel_stack_top - sizeof(TrapFrame)) &
                                               ~uintptr_t{15});
    *moved = *frame;
    mica_signal_exit(moved, nullptr);
}

// A fault in application code: its signal goes to the handler on the way back, or the
// process ends as the signal's default action would end it.
void application_fault_at(TrapFrame* frame, int signal, int code, uintptr_t fault_address, const char* what,
                          uintptr_t report_address) {
    mica::abi::fault_signal(signal, code, fault_address, what, report_address, frame->rip);
    return_to_application(frame);
}

}  // namespace

extern "C" void x86_64_trap(TrapFrame* frame) {
    if (frame->vector >= 32) {
        if (!mica::irq::controller()) {
            mica::panic_at(frame->rip, frame->rbp, dump_registers, frame, "interrupt vector %lu before the APIC",
                           frame->vector);
        }
        mica::irq::dispatch(static_cast<unsigned>(frame->vector), frame->rip, frame->rbp);
        return_to_application(frame);
        return;
    }
    const char* name = exception_names[frame->vector];
    if (frame->vector == vector_page_fault) {
        namespace vm = mica::mm::vm;
        uint64_t e = frame->error_code, address = mica::x86::read_cr2();
        if (mica::sched::populate_stack_page(address)) return;
        if (const char* what = mica::sched::describe_guard_page(address)) {
            mica::panic_at(frame->rip, frame->rbp, dump_registers, frame, "%s: address %#lx at rip %#lx", what,
                           address, frame->rip);
        }
        vm::Access access = (e & pf_fetch) ? vm::Access::execute : (e & pf_write) ? vm::Access::write : vm::Access::read;
        if (vm::handle_fault(address, access, frame->rip)) return;
        // A file page to read from disk: on the way back to the application (file_pager.h).
        if (in_application(frame->rip) && mica::mm::vm::defer_file_fault(address, access, frame->rip)) {
            return_to_application(frame);
            return;
        }
        if (uintptr_t resume = vm::fixup_for(frame->rip)) {
            frame->rip = resume;
            return;
        }
        if (in_application(frame->rip)) {
            if (vm::fault_for_lack_of_memory(address, access)) mica::abi::kill_application_out_of_memory(address, frame->rip);
            TRACE(mm_fault, address, frame->rip, vm::fault_access_code(access),
                  static_cast<uint64_t>(vm::FaultResult::signal));
            application_fault_at(frame, mica::abi::sigsegv,
                              (e & pf_present) ? mica::abi::segv_accerr : mica::abi::segv_maperr, address,
                              (e & pf_fetch) ? "instruction fetch from" : (e & pf_write) ? "write to" : "read from",
                              address);
            return;
        }
        mica::panic_at(frame->rip, frame->rbp, dump_registers, frame,
                       "page fault: %s %s address %#lx (%s, %s) at rip %#lx",
                       (e & pf_user) ? "user" : "kernel",
                       (e & pf_fetch) ? "instruction fetch from" : (e & pf_write) ? "write to" : "read from",
                       address, (e & pf_present) ? "protection violation" : "page not present",
                       vm::describe_fault(address, access), frame->rip);
    }
    // A non-canonical address raises #GP, not a page fault: inside the checked copy it is
    // the same bad pointer (-EFAULT). Application threads never get there (their pointers
    // are range-checked first); kernel callers of the system-call handlers can.
    if (frame->vector == vector_general_protection) {
        if (uintptr_t resume = mica::mm::vm::fixup_for(frame->rip)) {
            frame->rip = resume;
            return;
        }
    }
    if (in_application(frame->rip)) {
        // The default action of the signal Linux would send for this exception.
        int signal = frame->vector == 0 || frame->vector == 16 || frame->vector == 19 ? mica::abi::sigfpe
                     : frame->vector == 6                                             ? mica::abi::sigill
                     : frame->vector == 1 || frame->vector == 3                       ? mica::abi::sigtrap
                     : frame->vector == 17                                            ? mica::abi::sigbus
                                                                                      : mica::abi::sigsegv;
        constexpr int ill_illopn = 2, bus_adraln = 1;
        int code = signal == mica::abi::sigfpe  ? (frame->vector == 0 ? mica::abi::fpe_intdiv : 0)
                   : signal == mica::abi::sigill ? ill_illopn
                   : signal == mica::abi::sigbus ? bus_adraln
                                                 : mica::abi::si_kernel;
        uintptr_t address = signal == mica::abi::sigsegv || signal == mica::abi::sigtrap ? 0 : frame->rip;
        application_fault_at(frame, signal, code, address, name, 0);
        return;
    }
    mica::panic_at(frame->rip, frame->rbp, dump_registers, frame, "%s (vector %lu, error code %#lx) at rip %#lx",
                   name, frame->vector, frame->error_code, frame->rip);
}
