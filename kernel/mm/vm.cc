// Virtual memory (vm.h): the kernel page table, the operations on the current address
// space, demand paging and copy-on-write faults, and cross-CPU TLB invalidation. Spaces are
// created, forked, switched and destroyed in space.cc; emptying one is in clear_space.cc; the
// checked copies to and from the application are in app_copy.cc.
//
// Locking: `vm_lock` (a spinlock, interrupts off, held briefly) covers every space's areas
// and page table, the kernel table and the page shares; the page-fault handler takes only
// it, so faults never sleep (x86 takes them on a per-CPU exception stack). `op_lock` (a
// mutex) serialises the operations that change mappings, because they wait for other CPUs
// to drop stale translations, which must happen with interrupts on and without vm_lock
// held. Pages that leave a page table are freed only after every CPU has dropped its
// translations. Both locks are global, not per space: simple, and processes are few.
#include <mica/trace/trace.h>
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/boot.h>
#include <mica/irq.h>
#include <mica/mm/memory.h>
#include <mica/mm/page_table.h>
#include <mica/mm/phys.h>
#include <mica/mm/vm.h>
#include "memory_internal.h"
#include <mica/mm/file_pager.h>
#include "vm_internal.h"
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

namespace mica::mm::vm {

// Owned here, created in init(): the kernel page table and the locks described above;
// statistics are updated under vm_lock (copies) or op_lock (shootdowns).
sched::Mutex op_lock;
sched::Spinlock vm_lock;
Table* kernel_table = nullptr;
PageShares shares;
uint64_t shootdowns = 0;

namespace {
alignas(Table) unsigned char table_storage[sizeof(Table)];
uint64_t copies = 0;  // copy-on-write copies, under vm_lock
uintptr_t device_map_next = arch::traits::device_map_base;  // bump pointer, under vm_lock

void* table_alloc(void*) {
    void* t = alloc_pages(0);
    if (t) arch::clear_page(t);
    return t;
}
void table_free(void* t, void*) { free_pages(t, 0); }

// Cross-CPU invalidation where the hardware does not broadcast it. Requests are serialised
// by op_lock, so one request slot suffices.
struct Shootdown {
    uintptr_t start;
    size_t length;
    unsigned pending;
} request;

// Per CPU, for shootdowns: a CPU running its idle thread touches no application memory, so
// a shootdown need not interrupt it; it is marked instead and drops its whole TLB when it
// leaves idle. One atomic word per CPU makes "skip and mark" and "leave idle and look"
// linearizable: the sender's compare-exchange either precedes the exchange (the CPU
// flushes) or follows it (the sender sees `active` and sends the IPI).
enum TlbState : uint8_t { active, lazy, lazy_missed };
uint8_t tlb_state[sched::max_cpus];

bool needs_ipi(unsigned cpu) {
    for (;;) {
        uint8_t s = __atomic_load_n(&tlb_state[cpu], __ATOMIC_SEQ_CST);
        if (s == active) return true;
        if (s == lazy_missed) return false;
        if (__atomic_compare_exchange_n(&tlb_state[cpu], &s, uint8_t{lazy_missed}, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            return false;
        }
    }
}

void shootdown_handler(unsigned, void*) {
    arch::tlb_invalidate_local(request.start, request.length);
    __atomic_fetch_sub(&request.pending, 1, __ATOMIC_RELEASE);
}
}  // namespace

Table::Memory table_memory() {
    return {table_alloc, table_free, [](const void* t) { return virt_to_phys(t); },
            [](uintptr_t pa) { return phys_to_virt(pa); }, nullptr};
}

// Every online CPU that is not idle gets the IPI, whichever space it has loaded: simpler
// than tracking which CPUs hold which space, and a spurious INVLPG is cheap. CPUs that ran
// the space before switching away dropped its translations with the switch (no PCIDs).
void invalidate(uintptr_t start, size_t length) {
    arch::tlb_invalidate_local(start, length);
    if (!arch::tlb_shootdown_needed || sched::online_cpus() < 2) return;
    request.start = start;
    request.length = length;
    unsigned me = sched::current_cpu(), targets = 0;
    bool target[sched::max_cpus] = {};
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the page-table change before the states are read
    for (unsigned i = 0; i < sched::max_cpus; ++i) {
        target[i] = i != me && sched::cpu_online(i) && needs_ipi(i);
        targets += target[i];
    }
    if (!targets) return;
    __atomic_store_n(&request.pending, targets, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < sched::max_cpus; ++i) {
        if (target[i]) irq::send_ipi(i, arch::tlb_shootdown_irq());
    }
    while (__atomic_load_n(&request.pending, __ATOMIC_ACQUIRE)) arch::cpu_relax();
    ++shootdowns;
}

void FreedPages::add(uintptr_t pa, size_t size) {
    for (size_t off = 0; off < size; off += page_size) {
        void* page = phys_to_virt(pa + off);
        *static_cast<void**>(page) = head;
        head = page;
        ++count;
    }
}

void FreedPages::release_all() {
    while (head) {
        void* next = *static_cast<void**>(head);
        free_pages(head, 0);
        head = next;
    }
    count = 0;
}

void take_pages(Space* space, uintptr_t start, size_t length, FreedPages& freed) {
    // Application pages are 4 KiB, so no large leaf needs splitting (which could fail).
    // Emptied tables stay: the next mapping nearby (first fit reuses addresses) needs them,
    // and they are bounded by the largest application mapping there ever was (destroy_space
    // frees them). A page another mapping shares only loses a reference.
    space->table.unmap(start, length, [&](uintptr_t pa, size_t size) {
        space->resident_pages -= size / page_size;
        if (shares.drop(pa) == 0) freed.add(pa, size);
    }, false);
}

namespace {
void finish(uintptr_t start, size_t length, FreedPages& freed) {
    invalidate(start, length);
    freed.release_all();
}

// The area's pages fault in with the area's protection; true when `access` is allowed.
bool allows(int prot, Access access) {
    switch (access) {
    case Access::read: return prot & (prot_read | prot_write | prot_exec);
    case Access::write: return prot & prot_write;
    case Access::execute: return prot & prot_exec;
    }
    return false;
}

}  // namespace

bool populate_page(Space* space, uintptr_t address, int prot) {
    if (pages().free_pages() <= kernel_reserve_pages()) return false;  // (unlocked read: a heuristic)
    void* page = alloc_pages(0);
    if (!page) return false;
    arch::clear_page(page);
    int r = space->table.map_page_if_absent(address & ~(page_size - 1), virt_to_phys(page), {prot});
    if (r != 1) free_pages(page, 0);
    if (r == 1) {
        ++space->resident_pages;
        ++space->faults;
    }
    return r >= 0;
}

namespace {
// What a page of a private area that other mappings share may allow: the area's protection
// without write (the first write copies it), but still readable.
int shared_prot(int prot) { return prot & prot_write ? (prot & ~prot_write) | prot_read : prot; }

// A write to a present page that the area allows but the entry does not: the page is
// copy-on-write. Copies it unless this is the last mapping, which just becomes writable;
// vm_lock held. The stale read-only translation goes locally (aarch64: everywhere); other
// CPUs running threads of this space fault on it at their next write and find the entry
// writable (docs/architecture.md, "Address spaces and processes", says what is left).
bool break_share(Space* space, uintptr_t address, const Vma& v, const Translation& t) {
    uintptr_t va = address & ~(page_size - 1), pa = t.address & ~(page_size - 1);
    if (shares.count(pa) > 1) {
        if (pages().free_pages() <= kernel_reserve_pages()) return false;
        void* copy = alloc_pages(0);
        if (!copy) return false;
        memcpy(copy, phys_to_virt(pa), page_size);
        if (!space->table.map(va, virt_to_phys(copy), page_size, {v.prot}, false)) {
            free_pages(copy, 0);
            return false;
        }
        shares.drop(pa);  // others still map it: never the last reference
        ++copies;
    } else if (!space->table.protect(va, page_size, {v.prot})) {
        return false;
    }
    ++space->faults;
    arch::tlb_invalidate_local(va, page_size);
    return true;
}
}  // namespace

void init(const BootInfo& boot) {
    kernel_table = new (table_storage) Table(arch::page_table_root(), table_memory());
    // The kernel's parts of the lower half: the identity-mapped image and low memory, the
    // device window, and the stack area; below lowest_app_address nothing is the
    // application's either.
    // The low identity map ends at the 2 MiB page holding the image's end (paging.cc).
    constexpr uintptr_t large_page = uintptr_t{2} << 20;
    uintptr_t image_end = (reinterpret_cast<uintptr_t>(_kernel_end) + large_page - 1) & ~(large_page - 1);
    uintptr_t identity_end = arch::traits::device_identity_end;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (arch::traits::direct_map_base == 0 && boot.ram[i].end() > identity_end) identity_end = boot.ram[i].end();
    }
    {
        sched::SpinGuard guard(vm_lock);
        add_kernel_range(0, lowest_app_address);
    }
    if (reinterpret_cast<uintptr_t>(_kernel_start) < arch::traits::device_identity_start) {
        reserve_kernel_range(lowest_app_address, image_end - lowest_app_address);
    }
    reserve_kernel_range(arch::traits::device_identity_start,
                         page_round_up(identity_end) - arch::traits::device_identity_start);
    reserve_kernel_range(arch::traits::stack_area_base, arch::traits::stack_area_size);
    reserve_kernel_range(arch::traits::device_map_base, arch::traits::device_map_size);
    space_init();  // the initial space, loaded on this CPU
}

void enable_shootdowns() {
    if (arch::tlb_shootdown_needed && !irq::attach(arch::tlb_shootdown_irq(), shootdown_handler, nullptr)) {
        panic("cannot attach the TLB shootdown interrupt");
    }
}

bool initialized() { return kernel_table != nullptr; }

void cpu_enters_idle(unsigned cpu) { __atomic_store_n(&tlb_state[cpu], uint8_t{lazy}, __ATOMIC_SEQ_CST); }

void cpu_leaves_idle(unsigned cpu) {
    if (__atomic_exchange_n(&tlb_state[cpu], uint8_t{active}, __ATOMIC_SEQ_CST) == lazy_missed) {
        arch::tlb_invalidate_local(0, ~size_t{0});  // everything: which ranges were missed is not kept
    }
}

bool map_kernel_page(uintptr_t va, void* page) {
    sched::SpinGuard guard(vm_lock);
    // A stack slot's pages are mapped once and never unmapped, so no CPU can hold a stale
    // translation of them: no invalidation needed.
    bool ok = kernel_table->map(va, virt_to_phys(page), page_size, {prot_read | prot_write}, false);
    propagate_kernel_entries(va, va + page_size);
    return ok;
}

void* map_device(uint64_t phys, size_t size, bool identity_ok) {
    constexpr uint64_t large_page = uint64_t{2} << 20;
    if (size == 0 || phys + size < phys) return nullptr;
    if (identity_ok && phys >= arch::traits::device_identity_start && phys + size <= arch::traits::device_identity_end) {
        return reinterpret_cast<void*>(phys);
    }
    uint64_t first = phys & ~(page_size - 1), last = (phys + size + page_size - 1) & ~(page_size - 1);
    size_t length = last - first;
    // Large ranges (an ECAM) start on a 2 MiB boundary with the same offset as their
    // physical address, so the page table can use 2 MiB leaves.
    uint64_t alignment = length >= large_page ? large_page : page_size;
    sched::SpinGuard guard(vm_lock);
    uintptr_t va = (device_map_next + (alignment - 1)) & ~(alignment - 1);
    if (alignment == large_page) va += first & (large_page - 1);
    if (va + length > arch::traits::device_map_base + arch::traits::device_map_size || va + length < va) return nullptr;
    // A fresh range nothing was ever mapped at: no stale translations, nothing to invalidate.
    bool ok = kernel_table->map(va, first, length, {prot_read | prot_write, MemoryType::device});
    propagate_kernel_entries(va, va + length);
    if (!ok) return nullptr;
    device_map_next = va + length;
    return reinterpret_cast<void*>(va + (phys - first));
}

namespace {
// Tries `lock` for a bounded time (tens of milliseconds): long enough for another CPU to
// finish with it, short enough to report a self-deadlock instead of hanging.
bool try_lock_for_fault(sched::Spinlock& lock) {
    constexpr unsigned attempts = 1u << 20;
    for (unsigned i = 0; i < attempts; ++i) {
        if (lock.try_lock()) return true;
        arch::cpu_relax();
    }
    return false;
}
}  // namespace

bool map_kernel_page_from_fault(uintptr_t va) {
    if (!try_lock_for_fault(memory_lock)) return false;
    void* page = pages().alloc(0);
    memory_lock.unlock();
    if (!page) return false;
    arch::clear_page(page);
    if (!try_lock_for_fault(vm_lock)) {
        free_pages(page, 0);
        return false;
    }
    bool ok = kernel_table->map(va, virt_to_phys(page), page_size, {prot_read | prot_write}, false);
    propagate_kernel_entries(va, va + page_size);  // allocates nothing (vm_internal.h)
    vm_lock.unlock();
    if (!ok) free_pages(page, 0);
    return ok;
}

intptr_t map_anonymous(uintptr_t hint, size_t length, int prot, bool fixed, VmaKind kind, bool shared) {
    sched::LockGuard op(op_lock);
    FreedPages freed;
    intptr_t r;
    {
        sched::SpinGuard guard(vm_lock);
        Space* space = current_space();
        if (!space) return -errno_nomem;
        if (!fixed) return space->areas.map(hint ? hint : arch::traits::mmap_base, length, prot, false, kind, shared);
        r = space->areas.map(hint, length, prot, true, kind, shared);
        if (r < 0) return r;
        take_pages(space, hint, page_round_up(length), freed);  // what the new area replaced
    }
    finish(hint, page_round_up(length), freed);
    return r;
}

int unmap(uintptr_t start, size_t length) {
    sched::LockGuard op(op_lock);
    FreedPages freed;
    size_t size = page_round_up(length);
    {
        sched::SpinGuard guard(vm_lock);
        Space* space = current_space();
        if (!space) return -errno_inval;
        int r = space->areas.unmap(start, length);
        if (r != 0) return r;
        if (size > space->areas.highest() - start) size = space->areas.highest() - start;
        take_pages(space, start, size, freed);
    }
    finish(start, size, freed);
    return 0;
}

int protect(uintptr_t start, size_t length, int prot) {
    sched::LockGuard op(op_lock);
    size_t size = page_round_up(length);
    {
        sched::SpinGuard guard(vm_lock);
        Space* space = current_space();
        if (!space) return -errno_nomem;
        int r = space->areas.protect(start, length, prot);
        if (r != 0) return r;
        if (!space->table.protect(start, size, {prot})) return -errno_nomem;  // pages are 4 KiB: no split
        // Pages still shared copy-on-write stay read-only (shared areas' pages are
        // meant to be written by every space).
        if ((prot & prot_write) && shares.size()) {
            space->table.for_each_page(start, size, [&](uintptr_t va, uintptr_t pa, Attributes) {
                const Vma* v = space->areas.find(va);
                if (v && !v->shared && shares.count(pa) > 1) space->table.protect(va, page_size, {shared_prot(prot)});
            });
        }
    }
    invalidate(start, size);
    return 0;
}

int map_file_pages(uintptr_t start, size_t pages, void* (*page_at)(size_t index, void* context), void* context) {
    sched::LockGuard op(op_lock);
    // Every page may add a share entry; the fault path cannot grow the table, so room for
    // all of them is made first.
    if (!reserve_shares(pages)) return -errno_nomem;
    sched::SpinGuard guard(vm_lock);
    Space* space = current_space();
    if (!space) return -errno_nomem;
    for (size_t i = 0; i < pages; ++i) {
        uintptr_t va = start + i * page_size;
        const Vma* v = space->areas.find(va);
        if (!v || v->kind == VmaKind::reserved || v->shared || v->prot == 0) continue;
        void* page = page_at(i, context);
        if (!page) continue;
        uintptr_t pa = virt_to_phys(page);
        int r = space->table.map_page_if_absent(va, pa, {shared_prot(v->prot)});
        if (r < 0) return -errno_nomem;
        if (r == 0) continue;  // present already
        shares.add(pa);
        ++space->resident_pages;
    }
    return 0;
}

void release_file_page(void* page) {
    bool last;
    {
        sched::SpinGuard guard(vm_lock);
        last = shares.drop(virt_to_phys(page)) == 0;
    }
    if (last) free_pages(page, 0);
}

bool file_page_mapped(const void* page) {
    sched::SpinGuard guard(vm_lock);
    // The cache's own reference is the implicit one (no entry: count 1); each mapping adds one.
    return shares.count(virt_to_phys(page)) > 1;
}

int discard(uintptr_t start, size_t length) {
    if ((start & (page_size - 1)) || length == 0 || start + length < start) return -errno_inval;
    sched::LockGuard op(op_lock);
    FreedPages freed;
    size_t size = page_round_up(length);
    {
        sched::SpinGuard guard(vm_lock);
        Space* space = current_space();
        for (uintptr_t a = start; a < start + size;) {
            const Vma* v = space ? space->areas.find(a) : nullptr;
            if (!v || v->kind == VmaKind::reserved) return -errno_nomem;
            a = v->end;
        }
        take_pages(space, start, size, freed);
    }
    finish(start, size, freed);
    return 0;
}

int area_protection(uintptr_t start, size_t length, int* prot) {
    if (length == 0 || start + length < start) return -errno_fault;
    sched::SpinGuard guard(vm_lock);
    Space* space = current_space();
    if (!space) return -errno_fault;
    // Areas are not merged, so Linux's one mapping may be several adjacent areas here: all
    // of them the application's, without a hole, with one protection.
    const Vma* first = space->areas.find(start);
    if (!first || first->kind == VmaKind::reserved) return -errno_fault;
    for (uintptr_t covered = first->end; covered < start + length;) {
        const Vma* v = space->areas.find(covered);
        if (!v || v->kind == VmaKind::reserved || v->prot != first->prot) return -errno_fault;
        covered = v->end;
    }
    *prot = first->prot;
    return 0;
}

int populate(uintptr_t start, size_t length) {
    // More pages than are free cannot succeed; trying would take every free page (the
    // kernel's heap included) before failing.
    if (length / page_size > pages().free_pages()) return -errno_nomem;
    uintptr_t end = start + page_round_up(length);
    for (uintptr_t a = start & ~(page_size - 1); a < end; a += page_size) {
        bool from_file = false;
        {
            sched::SpinGuard guard(vm_lock);  // page by page: other CPUs' faults go on meanwhile
            Space* space = current_space();
            const Vma* v = space ? space->areas.find(a) : nullptr;
            if (!v || v->kind == VmaKind::reserved) return -errno_nomem;
            if (v->prot == 0 || space->table.translate(a).mapped) continue;
            from_file = pages_from_file(*v, a);
            if (!from_file && !populate_page(space, a, v->prot)) return -errno_nomem;
        }
        if (from_file) {
            if (int r = fill_file_pages(a, page_size); r < 0) return r;
        }
    }
    return 0;
}

void set_break_area(uintptr_t start) {
    sched::LockGuard op(op_lock);
    sched::SpinGuard guard(vm_lock);
    if (Space* space = current_space()) space->break_start = space->break_end = page_round_up(start);
}

uintptr_t set_break(uintptr_t requested) {
    sched::LockGuard op(op_lock);
    FreedPages freed;
    uintptr_t old_top, new_top;
    {
        sched::SpinGuard guard(vm_lock);
        Space* space = current_space();
        if (!space) return 0;
        AddressSpace& areas = space->areas;
        uintptr_t& break_start = space->break_start;
        uintptr_t& break_end = space->break_end;
        // Beyond the application's range (where rounding up could also wrap to 0 and read
        // as a shrink to nothing): refused, as any break that cannot be honoured.
        if (break_start == 0 || requested < break_start || requested > areas.highest()) return break_end;
        old_top = page_round_up(break_end);
        new_top = page_round_up(requested);
        // As Linux's brk: growing needs the pages between the old and new break free (they
        // join the heap area ending at the old break, or make a new one: a program may have
        // mapped over part of its heap, as musl's dynamic linker does); shrinking unmaps
        // whatever lies between the new and the old break.
        if (new_top > old_top) {
            const Vma* last = old_top > break_start ? areas.find(old_top - 1) : nullptr;
            if (last && last->kind == VmaKind::heap && last->end == old_top) {
                if (areas.resize(last->start, new_top) != 0) return break_end;
            } else {
                intptr_t at = areas.map(old_top, new_top - old_top, prot_read | prot_write, false, VmaKind::heap);
                if (at != static_cast<intptr_t>(old_top)) {
                    if (at >= 0) areas.unmap(static_cast<uintptr_t>(at), new_top - old_top);
                    return break_end;
                }
            }
        } else if (new_top < old_top) {
            if (areas.unmap(new_top, old_top - new_top) != 0) return break_end;  // a reserved range: refused
            take_pages(space, new_top, old_top - new_top, freed);
        }
        break_end = requested;
    }
    if (new_top < old_top) finish(new_top, old_top - new_top, freed);
    return requested;
}

namespace {
// (A destroyed space may stay loaded on a CPU running kernel threads: no faults there.)
bool in_range(const Space* space, uintptr_t address) {
    return space && !(__atomic_load_n(&space->cpu_state, __ATOMIC_ACQUIRE) & 1) && address >= space->areas.lowest() &&
           address < space->areas.highest();
}
}  // namespace

bool fault_for_lack_of_memory(uintptr_t address, Access access) {
    Space* space = loaded_space();
    if (!in_range(space, address)) return false;
    if (!vm_lock.try_lock()) return false;
    const Vma* v = space->areas.find(address);
    bool allowed = v && v->kind != VmaKind::reserved && allows(v->prot, access);
    Translation t = allowed ? space->table.translate(address) : Translation{};
    // Unmapped, or a copy-on-write page that could not be copied.
    bool unresolved = allowed && (!t.mapped || (access == Access::write && !(t.attributes.prot & prot_write)));
    vm_lock.unlock();
    return unresolved;
}

bool handle_fault(uintptr_t address, Access access, uintptr_t pc) {
    // The space the hardware walked: the CPU's, whoever runs (interrupts are off).
    Space* space = loaded_space();
    if (!in_range(space, address)) return false;
    sched::SpinGuard guard(vm_lock);
    if (!in_range(space, address)) return false;
    const Vma* v = space->areas.find(address);
    if (!v || v->kind == VmaKind::reserved || !allows(v->prot, access)) return false;
    Translation t = space->table.translate(address);
    // A file page is read in on the way back to the application (file_pager.h), not here.
    bool done = false;
    FaultResult result = FaultResult::mapped;
    if (!t.mapped) {
        done = !pages_from_file(*v, address) && populate_page(space, address, v->prot);
    } else if (allows(t.attributes.prot, access)) {
        // Mapped already with the access allowed: another CPU populated it first (or this
        // CPU's translation was stale).
        done = true;
    } else if (access == Access::write && t.attributes.prot != 0) {
        done = break_share(space, address, *v, t);
        result = FaultResult::copy_on_write;
    }
    if (done) TRACE(mm_fault, address, pc, fault_access_code(access), static_cast<uint64_t>(result));
    return done;
}

const char* describe_fault(uintptr_t address, Access access) {
    Space* space = loaded_space();
    if (!in_range(space, address)) return "outside application memory";
    if (!vm_lock.try_lock()) return "address space busy";  // (faulted with it held)
    const Vma* v = space->areas.find(address);
    const char* what = !v                               ? "no mapping"
                       : v->kind == VmaKind::reserved  ? "kernel memory"
                       : v->prot == 0                  ? "area is PROT_NONE"
                       : access == Access::write && !(v->prot & prot_write) ? "area is not writable"
                       : access == Access::execute && !(v->prot & prot_exec) ? "area is not executable"
                                                                             : "out of memory";
    vm_lock.unlock();
    return what;
}

Stats stats() {
    sched::SpinGuard guard(vm_lock);
    Stats s = {};
    if (Space* space = current_space()) {
        s.resident_pages = space->resident_pages;
        s.faults = space->faults;
        space->areas.for_each([&](const Vma& v) { s.areas += v.kind != VmaKind::reserved; });
    }
    s.shootdowns = shootdowns;
    s.shared_pages = shares.size();
    s.copies = copies;
    s.spaces = space_count();
    return s;
}

void for_each_area(void (*f)(const Vma& area, void* context), void* context) {
    sched::SpinGuard guard(vm_lock);
    Space* space = current_space();
    if (!space) return;
    space->areas.for_each([&](const Vma& v) {
        if (v.kind != VmaKind::reserved) f(v, context);
    });
}

}  // namespace mica::mm::vm
