#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/format.h>
#include <mica/config.h>
#include <mica/mm/memory.h>
#include <mica/panic.h>
#include <mica/mm/vm.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/stacks.h>

namespace mica::sched {
namespace {

// Slot layout, from its base: guard, exception stack, guard, stack (at the top).
constexpr size_t page = 4096;
constexpr size_t slot_size = 128 * 1024;
constexpr size_t exception_offset = page;
constexpr size_t second_guard_offset = exception_offset + slot_exception_stack_size;
constexpr size_t stack_offset = slot_size - max_stack_size;
static_assert(stack_offset >= second_guard_offset + page);
constexpr unsigned max_slots = static_cast<unsigned>(arch::traits::stack_area_size / slot_size);
// CONFIG_LAZY_STACK: only the top of a stack is mapped when its slot is created; the rest
// is populated by the page-fault handler on first touch (populate_stack_page).
constexpr size_t eager_stack_bytes = CONFIG_LAZY_STACK ? 16 * 1024 : max_stack_size;
uint64_t lazy_faults = 0;  // atomic: counted by whichever CPU faults

// Owned here, under `lock`: recycled slots (a stack of indices kept in a page-allocator
// block that grows as needed) and the next never-used slot.
Spinlock lock;
unsigned* free_slots = nullptr;
unsigned free_count = 0, free_capacity = 0;
unsigned next_fresh = 0;

uintptr_t slot_base(unsigned index) { return arch::traits::stack_area_base + uintptr_t{index} * slot_size; }

bool map_range(uintptr_t va, size_t bytes) {
    for (size_t off = 0; off < bytes; off += page) {
        void* p = mm::alloc_pages(0);
        if (!p || !mm::vm::map_kernel_page(va + off, p)) return false;
    }
    return true;
}

bool grow_free_list() {
    unsigned capacity = free_capacity ? free_capacity * 2 : 1024;
    unsigned order = mm::order_for_bytes(capacity * sizeof(unsigned));
    auto* fresh = static_cast<unsigned*>(mm::alloc_pages(order));
    if (!fresh) return false;
    for (unsigned i = 0; i < free_count; ++i) fresh[i] = free_slots[i];
    if (free_slots) mm::free_pages(free_slots, mm::order_for_bytes(free_capacity * sizeof(unsigned)));
    free_slots = fresh;
    free_capacity = capacity;
    return true;
}

}  // namespace

bool allocate_stack_slot(StackSlot& slot) {
    SpinGuard guard(lock);
    unsigned index;
    if (free_count) {
        index = free_slots[--free_count];
    } else {
        if (next_fresh == max_slots) return false;
        index = next_fresh;
        uintptr_t base = slot_base(index);
        // A failure part-way leaves some pages mapped in a slot that is never handed out:
        // only possible when memory is exhausted anyway.
        if (!map_range(base + exception_offset, slot_exception_stack_size) ||
            !map_range(base + slot_size - eager_stack_bytes, eager_stack_bytes)) {
            return false;
        }
        ++next_fresh;
    }
    slot.index = index;
    slot.exception_top = slot_base(index) + second_guard_offset;
    slot.stack_top = slot_base(index) + slot_size;
    return true;
}

void release_stack_slot(unsigned index) {
    SpinGuard guard(lock);
    if (free_count == free_capacity && !grow_free_list()) return;  // leak the slot, not memory
    free_slots[free_count++] = index;
}

bool populate_stack_page(uintptr_t address) {
    if (!CONFIG_LAZY_STACK || address < arch::traits::stack_area_base ||
        address >= arch::traits::stack_area_base + arch::traits::stack_area_size) {
        return false;
    }
    size_t offset = (address - arch::traits::stack_area_base) % slot_size;
    if (offset < stack_offset || offset >= slot_size - eager_stack_bytes) return false;
    // Only the slot's owner touches its stack, so no one else maps this page meanwhile.
    if (!mm::vm::map_kernel_page_from_fault(address & ~(page - 1))) {
        panic("thread stack grew to %#lx while this CPU held a memory lock (or memory ran out): "
              "CONFIG_LAZY_STACK cannot populate it",
              address);
    }
    __atomic_fetch_add(&lazy_faults, 1, __ATOMIC_RELAXED);
    return true;
}

uint64_t lazy_stack_faults() { return __atomic_load_n(&lazy_faults, __ATOMIC_RELAXED); }

const char* describe_guard_page(uintptr_t address) {
    if (address < arch::traits::stack_area_base || address >= arch::traits::stack_area_base + arch::traits::stack_area_size) {
        return nullptr;
    }
    size_t offset = (address - arch::traits::stack_area_base) % slot_size;
    if (offset < exception_offset) return "exception stack overflow (hit the guard page below it)";
    if (offset >= second_guard_offset && offset < stack_offset) {
        return "thread stack overflow (hit the unmapped pages below the stack)";
    }
    return nullptr;
}

}  // namespace mica::sched
