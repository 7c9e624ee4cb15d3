// Small x86_64 pieces of the arch interface: halting, CPU model, backtraces, test faults.
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <string.h>

namespace mica::arch {
namespace {
char model[49];  // CPUID brand string, filled on first use
}  // namespace

void interrupts_enable() { asm volatile("sti" ::: "memory"); }
void interrupts_disable() { asm volatile("cli" ::: "memory"); }
bool interrupts_enabled() {
    uint64_t flags;
    asm volatile("pushfq; pop %0" : "=r"(flags));
    return flags & (1 << 9);  // IF
}
// sti takes effect after the next instruction, so no interrupt slips in before hlt.
void wait_for_interrupt() { asm volatile("sti; hlt; cli" ::: "memory"); }

// GS points at this CPU's slot in cpu_slots; the slot holds the index (FS stays free for
// applications' thread-local storage).
namespace {
constexpr uint32_t msr_gs_base = 0xc0000101;
// The layout syscall.S relies on: %gs:0 index, %gs:8 the running thread's system-call
// stack, %gs:16 scratch for the application's %rsp during entry. The vDSO's getcpu reads
// %gs:0 too (arch/x86_64/vdso/vdso.cc).
struct CpuSlot {
    uint64_t index;
    uint64_t syscall_stack;
    uint64_t scratch;
};
CpuSlot cpu_slots[64];
}  // namespace

unsigned cpu_index() {
    uint64_t index;
    asm volatile("mov %%gs:0, %0" : "=r"(index));
    return static_cast<unsigned>(index);
}

void set_syscall_stack(uintptr_t top) { asm volatile("mov %0, %%gs:8" ::"r"(top) : "memory"); }

void set_cpu_index(unsigned index) {
    cpu_slots[index].index = index;
    auto base = reinterpret_cast<uint64_t>(&cpu_slots[index]);
    asm volatile("wrmsr" ::"a"(static_cast<uint32_t>(base)), "d"(static_cast<uint32_t>(base >> 32)), "c"(msr_gs_base));
}

void cpu_relax() { asm volatile("pause" ::: "memory"); }

void halt() {
    for (;;) asm volatile("cli; hlt");
}

const char* cpu_model() {
    if (model[0]) return model;
    if (x86::cpuid(0x80000000).eax < 0x80000004) return "unknown x86_64 CPU";
    auto* words = reinterpret_cast<uint32_t*>(model);
    for (uint32_t i = 0; i < 3; ++i) {
        auto r = x86::cpuid(0x80000002 + i);
        words[i * 4 + 0] = r.eax;
        words[i * 4 + 1] = r.ebx;
        words[i * 4 + 2] = r.ecx;
        words[i * 4 + 3] = r.edx;
    }
    model[48] = '\0';
    char* start = model;
    while (*start == ' ') ++start;
    memmove(model, start, strlen(start) + 1);
    for (size_t n = strlen(model); n && model[n - 1] == ' ';) model[--n] = '\0';
    return model;
}

const char* const fault_kinds[] = {"null", "ud", "div0", "gp", nullptr};

bool trigger_fault(const char* kind) {
    if (strcmp(kind, "null") == 0) {
        *reinterpret_cast<volatile int*>(uintptr_t{0}) = 1;
    } else if (strcmp(kind, "ud") == 0) {
        asm volatile("ud2");
    } else if (strcmp(kind, "div0") == 0) {
        uint64_t zero = 0;
        asm volatile("xor %%edx, %%edx; mov $1, %%eax; div %0" : "+r"(zero)::"rax", "rdx");
    } else if (strcmp(kind, "gp") == 0) {
        (void)*reinterpret_cast<volatile uint64_t*>(0x8000000000000000ull);  // non-canonical
    } else {
        return false;
    }
    return true;
}

}  // namespace mica::arch
