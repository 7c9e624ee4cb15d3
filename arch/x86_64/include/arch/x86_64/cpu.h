// x86_64 CPU helpers shared by the arch/x86_64 files.
#pragma once

#include <stdint.h>

namespace mica::x86 {

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

inline uint64_t read_cr2() {
    uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

inline uint64_t read_cr3() {
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t{hi} << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)), "c"(msr));
}
inline constexpr uint32_t msr_efer = 0xc0000080;
inline constexpr uint64_t efer_nxe = 1 << 11;
// Turns on no-execute pages on the boot CPU where the CPU has them (CPUID 0x80000001
// EDX[20]); secondary CPUs get EFER.NXE in the trampoline. Before the final page tables.
void enable_nx();
bool nx_enabled();

inline void invlpg(uintptr_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }

// Register state saved by the exception/interrupt entry stubs (entry.S), lowest address first.
struct TrapFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};

}  // namespace mica::x86

namespace mica::arch {
// At a signal delivery point (arch.h): the full register set.
struct UserRegs : x86::TrapFrame {};
// The stack the CPU switches to for interrupts (the TSS IST entry they use).
void set_interrupt_stack(uintptr_t top);
// Secondary CPUs: their GDT/TSS, with IST stacks carved from `ist_memory`
// (secondary_ist_bytes() long), and the shared IDT.
unsigned long secondary_ist_bytes();
void cpu_init_secondary(unsigned index, uintptr_t ist_memory);
// SSE and the syscall instruction for application code (app.cc), on each CPU.
void app_cpu_init();
// Masks the 8259 PICs and sets up the local APIC and its timer (after the TSC is known).
void lapic_init();
void lapic_init_cpu();  // a secondary CPU's APIC, with the boot CPU's timer calibration
uint32_t lapic_id();
void lapic_send_init_sipi(uint32_t apic_id, uint8_t start_page);
}  // namespace mica::arch
