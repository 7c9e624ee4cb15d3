// The sampling profiler (--profile=HZ): a periodic kernel timer on every CPU records the
// instruction its interrupt stopped (kernel or application) as a profile.sample record.
#include "internal.h"

#include <mica/boot.h>
#include <mica/console.h>
#include <mica/irq.h>

namespace mica::trace {

using namespace internal;

namespace {

constexpr uint64_t ns_per_s = 1000000000;

// Owned by start_profiler: each CPU's timer, armed by a thread pinned there and re-armed by
// its own callback on that CPU.
struct CpuSampler {
    sched::Timer timer{[](sched::Timer* t, void*) {
        irq::Interrupted at = irq::interrupted();
        uintptr_t pc = at.pc;
        bool kernel = pc >= reinterpret_cast<uintptr_t>(_kernel_start) && pc < reinterpret_cast<uintptr_t>(_kernel_end);
        if (TRACE_ENABLED(profile_sample)) {
            const uint64_t words[] = {pc, kernel ? 1u : 0u};
            // Application frames are not walked: the interrupt cannot take a fault on an
            // application stack that a frame pointer it does not keep would point into.
            write_record(Point::profile_sample, words, true, pc, kernel ? at.frame : 0);
            t->arm_after(period_ns);
        }
    }, nullptr};
    static inline uint64_t period_ns = 0;
};
CpuSampler samplers[sched::max_cpus];

}  // namespace

namespace internal {

void start_profiler(unsigned hz) {
    CpuSampler::period_ns = ns_per_s / hz;
    for (unsigned cpu = 0; cpu < sched::max_cpus && cpu < ring_count; ++cpu) {
        if (!sched::cpu_online(cpu)) continue;
        sched::Thread* t = sched::create("profile-arm", [](void* sampler) {
            static_cast<CpuSampler*>(sampler)->timer.arm_after(CpuSampler::period_ns);
        }, &samplers[cpu]);
        if (!t || !sched::pin(t, cpu)) {
            kprintf("mica: warning: --profile: cannot start the sampler of CPU %u\n", cpu);
            continue;
        }
        sched::start(t);
        sched::detach(t);
    }
}

}  // namespace internal

void start_profiling() {
    if (options.profile_hz && ring_count) start_profiler(options.profile_hz);
}

}  // namespace mica::trace
