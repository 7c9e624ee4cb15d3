#include <arch/arch.h>
#include <mica/boot.h>
#include <mica/console.h>
#include <mica/irq.h>
#include <mica/mm/memory.h>
#include <mica/sched/sched.h>
#include <mica/smp.h>

namespace mica::smp {
namespace {
constexpr size_t stack_size = 16 * 1024;
// How long a started CPU may take to say it is online before it is given up on. Hardware
// and KVM take microseconds; under TCG on a loaded host a vCPU thread may wait seconds for
// a host core (one second was not enough in CI). Linux waits 10 s too.
constexpr uint64_t arrival_timeout_ns = 10000000000;
}  // namespace

unsigned start_secondaries(const BootInfo& boot, unsigned limit) {
    unsigned order = mm::order_for_bytes(stack_size);
    for (unsigned i = 1; i < boot.cpu_count && i < limit && i < sched::max_cpus; ++i) {
        void* stack = mm::alloc_pages(order);
        void* exception_stack = mm::alloc_pages(order);
        if (!stack || !exception_stack) {
            kprintf("mica: no memory to start CPU %u\n", i);
            break;
        }
        unsigned before = sched::online_cpus();
        irq::set_cpu_hw_id(i, boot.cpu_hw_ids[i]);
        if (!arch::start_cpu(i, boot.cpu_hw_ids[i], reinterpret_cast<uintptr_t>(stack) + stack_size,
                             reinterpret_cast<uintptr_t>(exception_stack) + stack_size)) {
            kprintf("mica: warning: CPU %u (id %#llx) refused to start\n", i, (unsigned long long)boot.cpu_hw_ids[i]);
            continue;
        }
        uint64_t start = arch::cycles(), hz = arch::cycles_per_second();
        while (sched::online_cpus() == before && (arch::cycles() - start) < arrival_timeout_ns / 1000000 * hz / 1000) {
            arch::cpu_relax();
        }
        if (sched::online_cpus() == before) {
            kprintf("mica: warning: CPU %u (id %#llx) did not come up\n", i, (unsigned long long)boot.cpu_hw_ids[i]);
        }
    }
    return sched::online_cpus();
}

}  // namespace mica::smp
