#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/frame_walk.h>
#include <mica/console.h>
#include <mica/format.h>
#include <mica/ksyms.h>
#include <mica/panic.h>
#include <mica/power.h>
#include <mica/sched/sched.h>
#include <mica/trace/trace.h>

namespace mica {
namespace {
int panicking = 0;  // a fault while reporting a panic must not recurse; the first CPU wins
constexpr int max_frames = 32;

void print_frame(uintptr_t pc, int& depth) {
    if (depth >= max_frames) return;
    ksyms::Symbol s = ksyms::lookup(pc);
    if (s.name) {
        kprintf("  #%-2d 0x%016lx %s+0x%lx\n", depth, pc, s.name, s.offset);
    } else {
        kprintf("  #%-2d 0x%016lx ?\n", depth, pc);
    }
    ++depth;
}

[[noreturn]] void report(uintptr_t pc, uintptr_t frame, void (*dump)(const void*), const void* state,
                         const char* format, va_list args) {
    arch::interrupts_disable();
    if (__atomic_exchange_n(&panicking, 1, __ATOMIC_ACQ_REL)) {
        // Already panicking: on this CPU a nested fault, elsewhere a second panic. Either
        // way the first report must finish undisturbed.
        static int nested_reported = 0;
        if (!__atomic_exchange_n(&nested_reported, 1, __ATOMIC_ACQ_REL)) kprintf("\nmica: nested panic\n");
        power::shutdown(power::exit_status::panic);
    }
    sched::stop_other_cpus();
    kprintf("\nPANIC: ");
    fmt::vformat([](void*, const char* text, size_t n) { console::write(text, n); }, nullptr, format, args);
    kprintf("\n");
    if (dump) dump(state);
    kprintf("Backtrace%s:\n", ksyms::count() ? "" : " (no symbols in this kernel)");
    // Start at the trapped instruction and its frame, or here for a software panic.
    int depth = 0;
    if (pc) print_frame(pc, depth);
    if (!frame) frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    walk_frames(frame, arch::traits::frame_alignment, arch::traits::call_adjust,
                [&](uintptr_t ret) { print_frame(ret, depth); });
    trace::dump("panic");
    power::shutdown(power::exit_status::panic);
}
}  // namespace

void panic(const char* format, ...) {
    va_list args;
    va_start(args, format);
    report(0, 0, nullptr, nullptr, format, args);
}

void panic_at(uintptr_t pc, uintptr_t frame, void (*dump)(const void*), const void* state,
              const char* format, ...) {
    va_list args;
    va_start(args, format);
    report(pc, frame, dump, state, format, args);
}

}  // namespace mica
