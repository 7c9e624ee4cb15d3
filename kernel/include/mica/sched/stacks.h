// Thread stacks in the kernel's stack area (traits.h): each thread gets a slot of virtual
// memory holding its exception stack and its stack, each with an unmapped guard page below
// it, so running off the end faults instead of corrupting a neighbour. Slots are recycled
// with their pages when threads end; pages are only ever added to a slot, never removed,
// so no CPU can hold a stale translation of one. With CONFIG_LAZY_STACK only the top 16 KiB
// of a stack is mapped up front and the page-fault handler maps the rest on first touch.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::sched {

inline constexpr size_t max_stack_size = 64 * 1024;
inline constexpr size_t slot_exception_stack_size = 16 * 1024;

struct StackSlot {
    unsigned index;
    uintptr_t stack_top;
    uintptr_t exception_top;
};

// False when out of memory or slots.
bool allocate_stack_slot(StackSlot& slot);
void release_stack_slot(unsigned index);
// Page-fault path: maps the page of a lazily committed stack holding `address`; false if
// `address` is not such a page (then it is some other fault). Panics when it cannot.
bool populate_stack_page(uintptr_t address);
// How many stack pages were populated on touch (CONFIG_LAZY_STACK), for tests.
uint64_t lazy_stack_faults();
// If `address` lies in a guard page of the stack area, says whose; otherwise nullptr.
const char* describe_guard_page(uintptr_t address);

}  // namespace mica::sched
