// fork() in one address space (vm.h "Snapshots"): a copy of the current space's areas and
// populated pages, put back when the forked child is done. To be replaced by fork_space
// (space.cc) once libc/linux/fork.cc runs parent and child side by side.
#include <arch/arch.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/memory.h>
#include <mica/mm/phys.h>
#include <mica/panic.h>
#include <stdlib.h>
#include <string.h>
#include "vm_internal.h"

namespace mica::mm::vm {

struct Snapshot {
    struct Area {
        uintptr_t start, end;
        int prot;
        VmaKind kind;
        bool shared;
    };
    struct Page {
        uintptr_t va;
        void* copy;  // a page of its own, installed as is on restore
    };
    Area* areas;
    size_t area_count;
    Page* pages;
    size_t page_count;
    uintptr_t break_start, break_end;
};

namespace {
template <typename T>
bool grow(T*& array, size_t& capacity, size_t needed) {
    if (needed <= capacity) return true;
    size_t fresh = capacity ? capacity * 2 : 64;
    while (fresh < needed) fresh *= 2;
    auto* bigger = static_cast<T*>(realloc(array, fresh * sizeof(T)));
    if (!bigger) return false;
    array = bigger;
    capacity = fresh;
    return true;
}

}  // namespace

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

Snapshot* take_snapshot() {
    sched::LockGuard op(op_lock);
    Space* space = current_space();
    if (!space) return nullptr;
    auto* s = static_cast<Snapshot*>(calloc(1, sizeof(Snapshot)));
    if (!s) return nullptr;
    size_t area_capacity = 0, page_capacity = 0;
    bool ok = true;
    // Areas first (under the spinlock nothing may allocate with it held for long, so count
    // and copy in two steps: areas cannot change meanwhile, op_lock is held).
    size_t areas = 0;
    {
        sched::SpinGuard guard(vm_lock);
        space->areas.for_each([&](const Vma& v) { areas += v.kind != VmaKind::reserved; });
    }
    ok = grow(s->areas, area_capacity, areas ? areas : 1);
    if (ok) {
        sched::SpinGuard guard(vm_lock);
        space->areas.for_each([&](const Vma& v) {
            if (v.kind != VmaKind::reserved && s->area_count < area_capacity) {
                s->areas[s->area_count++] = {v.start, v.end, v.prot, v.kind, v.shared};
            }
        });
    }
    for (size_t i = 0; ok && i < s->area_count; ++i) {
        for (uintptr_t va = s->areas[i].start; ok && va < s->areas[i].end; va += page_size) {
            Translation t;
            {
                sched::SpinGuard guard(vm_lock);
                t = space->table.translate(va);
            }
            if (!t.mapped) continue;
            void* copy = alloc_pages(0);
            ok = copy && grow(s->pages, page_capacity, s->page_count + 1);
            if (!ok) {
                if (copy) free_pages(copy, 0);
                break;
            }
            memcpy(copy, phys_to_virt(t.address & ~(page_size - 1)), page_size);
            s->pages[s->page_count++] = {va, copy};
        }
    }
    s->break_start = space->break_start;
    s->break_end = space->break_end;
    if (!ok) {
        for (size_t i = 0; i < s->page_count; ++i) free_pages(s->pages[i].copy, 0);
        free(s->pages);
        free(s->areas);
        free(s);
        return nullptr;
    }
    return s;
}

void discard_snapshot(Snapshot* s) {
    for (size_t i = 0; i < s->page_count; ++i) free_pages(s->pages[i].copy, 0);
    free(s->pages);
    free(s->areas);
    free(s);
}

void restore_snapshot(Snapshot* s) {
    sched::LockGuard op(op_lock);
    Space* space = current_space();
    clear_areas(space);
    {
        sched::SpinGuard guard(vm_lock);
        for (size_t i = 0; i < s->area_count; ++i) {
            const Snapshot::Area& a = s->areas[i];
            if (space->areas.map(a.start, a.end - a.start, a.prot, true, a.kind, a.shared) < 0) panic("fork: cannot restore an area");
        }
        size_t p = 0;
        for (size_t i = 0; i < s->area_count; ++i) {
            for (; p < s->page_count && s->pages[p].va < s->areas[i].end; ++p) {
                if (space->table.map_page_if_absent(s->pages[p].va, virt_to_phys(s->pages[p].copy), {s->areas[i].prot}) != 1) {
                    panic("fork: cannot restore a page");
                }
                ++space->resident_pages;
            }
        }
        space->break_start = s->break_start;
        space->break_end = s->break_end;
    }
    free(s->pages);  // the page copies now belong to the address space
    free(s->areas);
    free(s);
}

void unmap_all() {
    sched::LockGuard op(op_lock);
    Space* space = current_space();
    if (!space) return;
    clear_areas(space);
    space->break_start = space->break_end = 0;
}


}  // namespace mica::mm::vm
