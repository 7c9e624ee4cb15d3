// Exception dispatch: every CPU exception is fatal for now (the page-fault handler that
// populates memory on touch is issue 5) and is reported with the registers and a backtrace.
#include <arch/x86_64/cpu.h>
#include <mica/console.h>
#include <mica/irq.h>
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
constexpr unsigned vector_page_fault = 14;
constexpr uint64_t pf_present = 1, pf_write = 2, pf_user = 4, pf_fetch = 16;

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

extern "C" void x86_64_trap(TrapFrame* frame) {
    if (frame->vector >= 32) {
        if (!mica::irq::controller()) {
            mica::panic_at(frame->rip, frame->rbp, dump_registers, frame, "interrupt vector %lu before the APIC",
                           frame->vector);
        }
        mica::irq::dispatch(static_cast<unsigned>(frame->vector));
        return;
    }
    const char* name = exception_names[frame->vector];
    if (frame->vector == vector_page_fault) {
        uint64_t e = frame->error_code;
        if (const char* what = mica::sched::describe_guard_page(mica::x86::read_cr2())) {
            mica::panic_at(frame->rip, frame->rbp, dump_registers, frame, "%s: address %#lx at rip %#lx", what,
                           mica::x86::read_cr2(), frame->rip);
        }
        mica::panic_at(frame->rip, frame->rbp, dump_registers, frame,
                       "page fault: %s %s address %#lx (%s) at rip %#lx",
                       (e & pf_user) ? "user" : "kernel",
                       (e & pf_fetch) ? "instruction fetch from" : (e & pf_write) ? "write to" : "read from",
                       mica::x86::read_cr2(), (e & pf_present) ? "protection violation" : "page not present",
                       frame->rip);
    }
    mica::panic_at(frame->rip, frame->rbp, dump_registers, frame, "%s (vector %lu, error code %#lx) at rip %#lx",
                   name, frame->vector, frame->error_code, frame->rip);
}
