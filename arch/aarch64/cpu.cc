// Small aarch64 pieces of the arch interface: halting, CPU model, backtraces, test faults.
#include <arch/aarch64/cpu.h>
#include <arch/arch.h>
#include <mica/format.h>
#include <string.h>

namespace mica::arch {
namespace {
char model[64];  // filled on first use

const char* part_name(uint32_t implementer, uint32_t part) {
    if (implementer != 0x41) return nullptr;  // Arm Ltd.
    switch (part) {
    case 0xd03: return "Cortex-A53";
    case 0xd04: return "Cortex-A35";
    case 0xd05: return "Cortex-A55";
    case 0xd07: return "Cortex-A57";
    case 0xd08: return "Cortex-A72";
    case 0xd09: return "Cortex-A73";
    case 0xd0a: return "Cortex-A75";
    case 0xd0b: return "Cortex-A76";
    case 0xd0c: return "Neoverse-N1";
    case 0xd40: return "Neoverse-V1";
    case 0xd49: return "Neoverse-N2";
    default: return nullptr;
    }
}
}  // namespace

void cpu_init() { app_cpu_init(); }

void interrupts_enable() { asm volatile("msr daifclr, #2" ::: "memory"); }
void interrupts_disable() { asm volatile("msr daifset, #2" ::: "memory"); }
bool interrupts_enabled() { return !(MICA_READ_SYSREG(daif) & (1 << 7)); }  // I bit clear
// WFI wakes on a pending interrupt even while masked; unmasking then lets it be taken.
void wait_for_interrupt() { asm volatile("wfi; msr daifclr, #2; isb; msr daifset, #2" ::: "memory"); }

unsigned cpu_index() { return static_cast<unsigned>(MICA_READ_SYSREG(tpidr_el1)); }
void set_cpu_index(unsigned index) { MICA_WRITE_SYSREG(tpidr_el1, index); }

void cpu_relax() { asm volatile("yield" ::: "memory"); }

void halt() {
    for (;;) asm volatile("msr daifset, #0xf; wfi");
}

const char* cpu_model() {
    if (model[0]) return model;
    uint64_t midr = MICA_READ_SYSREG(midr_el1);
    auto implementer = static_cast<uint32_t>(midr >> 24 & 0xff);
    auto part = static_cast<uint32_t>(midr >> 4 & 0xfff);
    auto variant = static_cast<unsigned>(midr >> 20 & 0xf), revision = static_cast<unsigned>(midr & 0xf);
    if (const char* name = part_name(implementer, part)) {
        fmt::snprintf(model, sizeof(model), "ARM %s r%up%u", name, variant, revision);
    } else {
        fmt::snprintf(model, sizeof(model), "aarch64 CPU (implementer %#x, part %#x)", implementer, part);
    }
    return model;
}

const char* const fault_kinds[] = {"null", "ud", "brk", nullptr};

bool trigger_fault(const char* kind) {
    if (strcmp(kind, "null") == 0) {
        *reinterpret_cast<volatile int*>(uintptr_t{0}) = 1;
    } else if (strcmp(kind, "ud") == 0) {
        asm volatile("udf #0");
    } else if (strcmp(kind, "brk") == 0) {
        asm volatile("brk #0x4d");
    } else {
        return false;
    }
    return true;
}

}  // namespace mica::arch
