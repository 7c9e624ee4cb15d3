// Demand paging of file mappings (file_pager.h).
#include <mica/trace/trace.h>
#include <arch/arch.h>
#include <mica/mm/file_pager.h>
#include <mica/mm/phys.h>
#include <mica/sched/sched.h>
#include "vm_internal.h"

namespace mica::mm::vm {

namespace {

// Pending deferred faults carry this bit in Thread::pending_file_fault (addresses are page
// aligned there, so the low bits are free): the access was a write.
constexpr uintptr_t pending_write = 1, pending_set = 2;

int shared_prot(int prot) { return prot & prot_write ? (prot & ~prot_write) | prot_read : prot; }

// Consecutive pages of one paged area, to be read in and mapped.
struct Run {
    FilePager* pager = nullptr;
    uint64_t first_index = 0;  // the file's page at `start`
    uintptr_t start = 0;
    size_t count = 0;
    size_t mapped = 0;
    bool failed_memory = false;
};

// vm_lock held: the part of [lo, hi) (page aligned) in the paged area holding `address`,
// clipped to the area and to its file. False when that is not a paged area.
bool run_at(Space* space, uintptr_t address, uintptr_t lo, uintptr_t hi, Run* run) {
    const Vma* v = space ? space->areas.find(address) : nullptr;
    if (!v || !v->pager || v->kind == VmaKind::reserved || v->prot == 0) return false;
    uint64_t file_pages = v->pager->page_count();
    if (v->pager_index >= file_pages) return false;
    uintptr_t file_end = v->start + (file_pages - v->pager_index) * page_size;
    if (file_end < v->start || file_end > v->end) file_end = v->end;  // (overflow: the area ends first)
    if (lo < v->start) lo = v->start;
    if (hi > file_end) hi = file_end;
    if (lo >= hi) return false;
    run->pager = v->pager;
    run->start = lo;
    run->count = (hi - lo) / page_size;
    run->first_index = v->pager_index + (lo - v->start) / page_size;
    return true;
}

// The pager's callback: maps what is still absent and still the same file page.
void map_run(void* const* pages, size_t count, void* context) {
    auto* run = static_cast<Run*>(context);
    sched::LockGuard op(op_lock);
    if (!reserve_shares(count)) {
        run->failed_memory = true;
        return;
    }
    sched::SpinGuard guard(vm_lock);
    Space* space = current_space();
    if (!space) return;
    for (size_t i = 0; i < count; ++i) {
        if (!pages[i]) continue;
        uintptr_t va = run->start + i * page_size;
        const Vma* v = space->areas.find(va);
        // The area may have changed while the pages were read (munmap, mmap over it).
        if (!v || v->pager != run->pager || v->pager_index + (va - v->start) / page_size != run->first_index + i ||
            v->prot == 0) {
            continue;
        }
        uintptr_t pa = virt_to_phys(pages[i]);
        int r = space->table.map_page_if_absent(va, pa, {shared_prot(v->prot)});
        if (r < 0) {
            run->failed_memory = true;
            return;
        }
        if (r == 0) continue;  // present already
        shares.add(pa);
        ++space->resident_pages;
        ++space->faults;
        ++run->mapped;
    }
}

// Reads in and maps the run of [lo, hi) around `address`: pages mapped (0: not a paged
// area), or -errno.
int fill_run(uintptr_t address, uintptr_t lo, uintptr_t hi, uintptr_t* run_end, bool read = true) {
    Run run;
    {
        sched::SpinGuard guard(vm_lock);
        if (!run_at(current_space(), address, lo, hi, &run)) return 0;
    }
    if (run_end) *run_end = run.start + run.count * page_size;
    if (int r = run.pager->with_pages(run.first_index, run.count, read, map_run, &run); r < 0) return r;
    if (run.failed_memory) return -errno_nomem;
    return static_cast<int>(run.mapped);
}

}  // namespace

bool pages_from_file(const Vma& area, uintptr_t address) {
    if (!area.pager) return false;
    uint64_t index = area.pager_index + (address - area.start) / page_size;
    return index < area.pager->page_count();
}

int attach_pager(uintptr_t start, size_t length, FilePager* pager, uint64_t first_index) {
    sched::LockGuard op(op_lock);
    sched::SpinGuard guard(vm_lock);
    Space* space = current_space();
    if (!space) return -errno_nomem;
    return space->areas.set_pager(start, length, pager, first_index);
}

bool defer_file_fault(uintptr_t address, Access access, uintptr_t pc) {
    sched::Thread* self = sched::current();
    if (!self || !self->app) return false;
    Space* space = loaded_space();
    if (!space || address < space->areas.lowest() || address >= space->areas.highest()) return false;
    bool mapped;
    {
        // Spinning is safe: this is a fault in application code, which never holds vm_lock
        // (another CPU may: a sibling thread's fault or mmap).
        sched::SpinGuard guard(vm_lock);
        const Vma* v = space->areas.find(address);
        bool allowed = v && v->kind != VmaKind::reserved && v->pager &&
                       (access == Access::write ? (v->prot & prot_write) != 0
                        : access == Access::execute ? (v->prot & prot_exec) != 0
                                                    : v->prot != 0);
        if (!allowed || !pages_from_file(*v, address)) return false;
        mapped = space->table.translate(address).mapped;
    }
    // Another thread of the process mapped it since the handler looked: just run again.
    if (mapped) return true;
    self->pending_file_fault = (address & ~(page_size - 1)) | pending_set | (access == Access::write ? pending_write : 0);
    TRACE(mm_fault, address, pc, fault_access_code(access), static_cast<uint64_t>(FaultResult::file_page_deferred));
    sched::interrupt(self);
    return true;
}

int complete_file_fault(uintptr_t* address) {
    sched::Thread* self = sched::current();
    uintptr_t pending = self ? self->pending_file_fault : 0;
    if (!pending) return 0;
    self->pending_file_fault = 0;
    uintptr_t at = pending & ~(page_size - 1);
    if (address) *address = at;
    uintptr_t window = fault_around_pages * page_size;
    uintptr_t lo = at & ~(window - 1);
    // Interrupts stay off: on aarch64 this runs in the exception handler, where an interrupt
    // may not be taken. The thread may still sleep (the disk's completion wakes it), as it
    // does when a stop signal holds it here; other threads run with their own state.
    int r = fill_run(at, at, at + page_size, nullptr);
    if (r >= 0) fill_run(at, lo, lo + window, nullptr, false);  // the neighbours already read
    // 0: the area changed meanwhile (unmapped, replaced): the retried access decides.
    return r < 0 ? r : 1;
}

int fill_file_pages(uintptr_t start, size_t length) {
    if (length == 0) return 0;
    uintptr_t at = start & ~(page_size - 1), end = page_round_up(start + length);
    if (end < start) return 0;
    int total = 0;
    while (at < end) {
        uintptr_t run_end = 0;
        int r = fill_run(at, at, end, &run_end);
        if (r < 0) return r;
        total += r;
        at = run_end > at ? run_end : at + page_size;
    }
    return total;
}

}  // namespace mica::mm::vm
