// aarch64 thread switching (switch.S): callee-saved registers and the stack-pointer selection
// on the thread's stack; each thread has its own SP_EL1 exception stack.
#include <arch/arch.h>

extern "C" void mica_switch_stacks(uintptr_t* save_sp, uintptr_t new_sp, uintptr_t exception_top);
extern "C" char exception_stack_top[];

namespace mica::arch {
namespace {
constexpr int switch_frame_words = 14;  // x19-x30 and SPSel (+ padding), as switch.S saves them
constexpr int slot_x30 = 11, slot_spsel = 12;
}  // namespace

uintptr_t prepare_thread_stack(uintptr_t top, void (*start)()) {
    auto* sp = reinterpret_cast<uintptr_t*>(top & ~uintptr_t{15}) - switch_frame_words;
    for (int i = 0; i < switch_frame_words; ++i) sp[i] = 0;  // x29 = 0 ends frame walks
    sp[slot_x30] = reinterpret_cast<uintptr_t>(start);
    sp[slot_spsel] = 0;  // starts in thread code, on SP_EL0
    return reinterpret_cast<uintptr_t>(sp);
}

void switch_context(uintptr_t* save_sp, uintptr_t new_sp, uintptr_t exception_stack) {
    mica_switch_stacks(save_sp, new_sp, exception_stack);
}

uintptr_t boot_exception_stack_top() { return reinterpret_cast<uintptr_t>(exception_stack_top); }

}  // namespace mica::arch
