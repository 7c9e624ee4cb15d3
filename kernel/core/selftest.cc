// Boot-time self tests behind CONFIG_TEST_OPTIONS: deliberate faults (--test-fault) and an
// interrupt round trip through the interrupt controller (--test-timer-irq).
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/irq.h>
#include <mica/mm/memory.h>
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <mica/selftest.h>
#include <stdlib.h>
#include <string.h>

namespace mica::selftest {

void fault(const char* kind) {
    kprintf("mica: triggering test fault '%s'\n", kind);
    if (strcmp(kind, "panic") == 0) panic("test panic requested on the command line");
    if (strcmp(kind, "stack-overflow") == 0) {
        // Unbounded recursion in a thread of its own: must hit the guard pages.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
        struct Recurse {
            static int down(volatile char* previous) {
                volatile char frame[512];
                frame[0] = previous ? previous[0] + 1 : 0;
                return down(frame) + frame[1];
            }
        };
#pragma GCC diagnostic pop
        sched::Thread* t = sched::create("overflow", [](void*) { Recurse::down(nullptr); }, nullptr);
        if (t) {
            sched::start(t);
            sched::join(t);
        }
    }
    if (strcmp(kind, "heap-overflow") == 0) {
        // Caught only by CONFIG_DEBUG_MEMORY's red zones (checked when the block is freed).
        auto* p = static_cast<volatile char*>(malloc(32));
        p[32] = 1;
        free(const_cast<char*>(p));
    }
    if (strcmp(kind, "heap-double-free") == 0) {
        void* p = mm::heap().alloc(32);
        mm::heap().free(p);
        mm::heap().free(p);
    }
    arch::trigger_fault(kind);
    panic("test fault '%s' did not fault", kind);
}

bool timer_interrupt() {
    constexpr uint64_t delay_ns = 1000000;  // 1 ms
    // A lost interrupt must fail the test, not hang it; but a loaded host may hold back
    // QEMU's timer for a while, so the limit is generous.
    constexpr uint64_t give_up_ns = 10000000000;
    unsigned irq = arch::timer_irq();
    const irq::Controller* controller = irq::controller();
    if (irq == irq::spurious || !controller) {
        kprintf("mica: timer interrupt test: no %s on this machine yet\n",
                controller ? "interrupt timer" : "interrupt controller");
        return false;
    }
    static volatile uint64_t fired_at = 0;
    irq::attach(irq, [](unsigned, void*) {
        arch::timer_disarm();
        fired_at = arch::cycles();
    }, nullptr);
    uint64_t hz = arch::cycles_per_second();
    uint64_t start = arch::cycles();
    arch::timer_arm(delay_ns);
    // Poll with interrupts on rather than halt: if the interrupt never comes, a halted CPU
    // would never look at the clock again, and the test must fail, not hang.
    bool were_on = arch::interrupts_enabled();
    arch::interrupts_enable();
    while (!fired_at && (arch::cycles() - start) < give_up_ns / 1000 * hz / 1000000) arch::cpu_relax();
    if (!were_on) arch::interrupts_disable();
    if (!fired_at) {
        kprintf("mica: timer interrupt test: no interrupt %u within %llu s (controller %s)\n", irq,
                (unsigned long long)(give_up_ns / 1000000000), controller->name);
        return false;
    }
    uint64_t us = (fired_at - start) * 1000000 / hz;
    kprintf("mica: timer interrupt %u received through %s after %llu us (asked for %llu us)\n", irq,
            controller->name, (unsigned long long)us, (unsigned long long)(delay_ns / 1000));
    return us >= delay_ns / 1000;
}

}  // namespace mica::selftest
