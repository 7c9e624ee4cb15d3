// GDT, TSS and IDT. Every vector gets an interrupt-stack-table stack of its own class so an
// exception never runs on the interrupted code's stack (the application may use the red
// zone below its stack pointer; the kernel runs in the same address space and privilege).
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <stddef.h>
#include <stdint.h>

extern "C" char isr_stubs[];

namespace mica::arch {
namespace {

constexpr uint16_t kernel_code = 0x08, kernel_data = 0x10, tss_selector = 0x18;
constexpr size_t ist_stack_size = 16384;
constexpr size_t stub_size = 16;  // entry.S aligns each stub to 16 bytes

// IST slots (1-based, as the TSS numbers them).
enum Ist : uint8_t { ist_double_fault = 1, ist_nmi, ist_machine_check, ist_page_fault, ist_exception, ist_interrupt };
constexpr int ist_count = 6;

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

struct [[gnu::packed]] IdtGate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};

struct [[gnu::packed]] DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};

// Owned here. The IDT is shared; each CPU has its own GDT (its TSS descriptor's busy bit
// is per CPU) and TSS (its own IST stacks). The boot CPU's IST stacks are static; secondary
// CPUs bring theirs (cpu_init_secondary).
constexpr unsigned max_cpus = 64;
// Not zeroed at boot (boot.S): a stack is never read before it is written.
[[gnu::section(".noinit.stacks")]] alignas(16) uint8_t ist_stacks[ist_count][ist_stack_size];
struct CpuTables {
    Tss tss;
    uint64_t gdt[5];
};
CpuTables tables[max_cpus];
IdtGate idt[256];

uint8_t ist_for_vector(unsigned v) {
    switch (v) {
    case 2: return ist_nmi;
    case 8: return ist_double_fault;
    case 14: return ist_page_fault;
    case 18: return ist_machine_check;
    default: return v < 32 ? ist_exception : ist_interrupt;
    }
}

void load_gdt(CpuTables& t) {
    Tss& tss = t.tss;
    uint64_t* gdt = t.gdt;
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffff;  // 64-bit code, DPL 0
    gdt[2] = 0x00cf92000000ffff;  // data
    auto base = reinterpret_cast<uint64_t>(&tss);
    uint64_t limit = sizeof(Tss) - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (uint64_t{0x89} << 40) |  // available 64-bit TSS
             ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
    gdt[4] = base >> 32;
    DescriptorPointer p{sizeof(t.gdt) - 1, reinterpret_cast<uint64_t>(gdt)};
    asm volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "mov %2, %%ds\n\t"
        "mov %2, %%es\n\t"
        "mov %2, %%ss\n\t"
        :
        : "m"(p), "i"(kernel_code), "r"(uint32_t{kernel_data})
        : "rax", "memory");
    asm volatile("ltr %0" ::"r"(tss_selector));
}

void build_idt() {
    for (unsigned v = 0; v < 256; ++v) {
        auto handler = reinterpret_cast<uint64_t>(isr_stubs + v * stub_size);
        idt[v] = IdtGate{static_cast<uint16_t>(handler), kernel_code, ist_for_vector(v),
                         0x8e,  // present, DPL 0, 64-bit interrupt gate (interrupts off on entry)
                         static_cast<uint16_t>(handler >> 16), static_cast<uint32_t>(handler >> 32), 0};
    }
}

void load_idt() {
    DescriptorPointer p{sizeof(idt) - 1, reinterpret_cast<uint64_t>(idt)};
    asm volatile("lidt %0" ::"m"(p));
}

}  // namespace

void set_interrupt_stack(uintptr_t top) { tables[cpu_index()].tss.ist[ist_interrupt - 1] = top; }
uintptr_t boot_exception_stack_top() {
    return reinterpret_cast<uintptr_t>(ist_stacks[ist_interrupt - 1] + ist_stack_size);
}

void cpu_init() {
    Tss& tss = tables[0].tss;
    for (int i = 0; i < ist_count; ++i) {
        tss.ist[i] = reinterpret_cast<uint64_t>(ist_stacks[i] + ist_stack_size);
    }
    tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap
    build_idt();
    load_gdt(tables[0]);
    load_idt();
    app_cpu_init();
}

unsigned long secondary_ist_bytes() { return ist_count * ist_stack_size; }

void cpu_init_secondary(unsigned index, uintptr_t ist_memory) {
    Tss& tss = tables[index].tss;
    for (int i = 0; i < ist_count; ++i) tss.ist[i] = ist_memory + (i + 1) * ist_stack_size;
    tss.iomap_base = sizeof(Tss);
    load_gdt(tables[index]);
    load_idt();
    app_cpu_init();
}

}  // namespace mica::arch
