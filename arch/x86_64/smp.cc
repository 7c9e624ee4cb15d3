// x86_64 secondary CPUs: the real-mode trampoline (trampoline.S) is copied below 1 MiB and
// each CPU is started with INIT/SIPI; it arrives in x86_64_ap_start() in long mode on the
// stack it was given, with the boot CPU's page tables.
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <mica/irq.h>
#include <mica/mm/memory.h>
#include <mica/sched/sched.h>
#include <string.h>

extern "C" char trampoline_start[], trampoline_end[], trampoline_params[];

namespace mica::arch {
namespace {
constexpr uintptr_t trampoline_base = 0x8000;  // TRAMPOLINE_BASE in trampoline.S

struct TrampolineParams {  // layout of trampoline_params in trampoline.S
    uint64_t cr3;
    uint64_t stack_top;
    uint64_t entry;
    uint64_t index;
    uint64_t efer_bits;  // EFER bits to set besides LME (NXE: the page tables use NX)
};

// Owned here: what each secondary CPU needs once it runs C++ (written before its start).
struct ApArgs {
    uintptr_t exception_stack_top;
    uintptr_t ist_memory;
};
ApArgs ap_args[sched::max_cpus];
bool trampoline_copied = false;

TrampolineParams* params() {
    return reinterpret_cast<TrampolineParams*>(trampoline_base + (trampoline_params - trampoline_start));
}
}  // namespace

void clock_init_cpu() { lapic_init_cpu(); }

}  // namespace mica::arch

extern "C" [[noreturn]] void x86_64_ap_start(unsigned index) {
    using namespace mica::arch;
    set_cpu_index(index);
    cpu_init_secondary(index, ap_args[index].ist_memory);
    clock_init_cpu();
    // Tell the boot CPU the trampoline is free for the next one (it waits for online_cpus).
    mica::sched::secondary_cpu_main(index, ap_args[index].exception_stack_top);
}

namespace mica::arch {

bool start_cpu(unsigned index, uint64_t hw_id, uintptr_t stack_top, uintptr_t exception_stack_top) {
    if (index >= sched::max_cpus || hw_id > 0xff) return false;  // xAPIC: 8-bit ids
    void* ist = mm::alloc_pages(mm::order_for_bytes(secondary_ist_bytes()));
    if (!ist) return false;
    ap_args[index] = {exception_stack_top, reinterpret_cast<uintptr_t>(ist)};
    if (!trampoline_copied) {
        memcpy(reinterpret_cast<void*>(trampoline_base), trampoline_start, trampoline_end - trampoline_start);
        trampoline_copied = true;
    }
    // One CPU at a time uses the trampoline: smp::start_secondaries waits for each.
    *params() = {x86::read_cr3(), stack_top, reinterpret_cast<uint64_t>(x86_64_ap_start), index,
                 x86::nx_enabled() ? x86::efer_nxe : 0};
    asm volatile("mfence" ::: "memory");
    lapic_send_init_sipi(static_cast<uint32_t>(hw_id), trampoline_base >> 12);
    return true;
}

}  // namespace mica::arch
