// x86_64 thread switching: callee-saved registers on the thread's stack (switch.S), and the
// TSS's interrupt IST entry pointed at the incoming thread's own interrupt stack, so an
// interrupt that switches threads leaves its frame with the thread it interrupted.
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>

extern "C" void mica_switch_stacks(uintptr_t* save_sp, uintptr_t new_sp);

namespace mica::arch {

constexpr int saved_registers = 6;  // rbp rbx r12 r13 r14 r15, as switch.S pushes them

uintptr_t prepare_thread_stack(uintptr_t top, void (*start)()) {
    auto* sp = reinterpret_cast<uintptr_t*>(top & ~uintptr_t{15});
    *--sp = 0;  // start()'s "return address": ends backtraces, keeps the ABI's alignment
    *--sp = reinterpret_cast<uintptr_t>(start);
    for (int i = 0; i < saved_registers; ++i) *--sp = 0;  // rbp = 0 ends frame walks
    return reinterpret_cast<uintptr_t>(sp);
}

void switch_context(uintptr_t* save_sp, uintptr_t new_sp, uintptr_t exception_stack_top) {
    set_interrupt_stack(exception_stack_top);
    mica_switch_stacks(save_sp, new_sp);
}

}  // namespace mica::arch
