// Emptying an address space: every application area and its pages go (execve's unmap_all,
// and destroying a space).
#include <arch/arch.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <mica/panic.h>
#include <stdlib.h>
#include <string.h>
#include "vm_internal.h"

namespace mica::mm::vm {

void clear_areas(Space* space) {
    FreedPages freed;
    {
        sched::SpinGuard guard(vm_lock);
        for (;;) {
            const Vma* victim = nullptr;
            space->areas.for_each([&](const Vma& v) {
                if (!victim && v.kind != VmaKind::reserved) victim = &v;
            });
            if (!victim) break;
            uintptr_t start = victim->start, end = victim->end;
            space->areas.unmap(start, end - start);
            take_pages(space, start, end - start, freed);
        }
    }
    invalidate(0, ~size_t{0});
    freed.release_all();
}

void unmap_all() {
    sched::LockGuard op(op_lock);
    Space* space = current_space();
    if (!space) return;
    clear_areas(space);
    space->break_start = space->break_end = 0;
}


}  // namespace mica::mm::vm
