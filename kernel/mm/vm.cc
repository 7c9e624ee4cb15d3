// Virtual memory (vm.h): the kernel page table, the application's areas, demand paging and
// cross-CPU TLB invalidation. The checked copies to and from the application are in
// app_copy.cc.
//
// Locking: `vm_lock` (a spinlock, interrupts off, held briefly) covers the application's
// areas and the page table; the page-fault handler takes only it, so faults never sleep
// (x86 takes them on a per-CPU exception stack). `op_lock` (a mutex) serialises the
// operations that change mappings, because they wait for other CPUs to drop stale
// translations, which must happen with interrupts on and without vm_lock held. Pages that
// leave the page table are freed only after every CPU has dropped its translations.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/boot.h>
#include <mica/irq.h>
#include <mica/mm/memory.h>
#include <mica/mm/page_table.h>
#include <mica/mm/phys.h>
#include <mica/mm/vm.h>
#include "memory_internal.h"
#include "vm_internal.h"
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

namespace mica::mm::vm {
namespace {
using Table = PageTable<arch::traits::PageFormat>;

void* table_alloc(void*) {
    void* t = alloc_pages(0);
    if (t) arch::clear_page(t);
    return t;
}
void table_free(void* t, void*) { free_pages(t, 0); }

// Owned here, created in init(): the kernel page table, the application's areas and the
// locks described above; the statistics are updated under vm_lock.
alignas(Table) unsigned char table_storage[sizeof(Table)];
Table* table = nullptr;
alignas(AddressSpace) unsigned char space_storage[sizeof(AddressSpace)];
AddressSpace* space = nullptr;
sched::Mutex op_lock;
sched::Spinlock vm_lock;
Stats counters = {};
uintptr_t break_start = 0, break_end = 0;
uintptr_t device_map_next = arch::traits::device_map_base;  // bump pointer, under vm_lock

Vma* node_alloc(void*) { return static_cast<Vma*>(allocate(sizeof(Vma), alignof(Vma), 0)); }
void node_free(Vma* v, void*) { release(v); }

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
    ++counters.shootdowns;
}

// Pages removed from the page table, chained through their own first word until the
// translations are gone everywhere.
struct FreedPages {
    void* head = nullptr;
    size_t count = 0;
    void add(uintptr_t pa, size_t size) {
        for (size_t off = 0; off < size; off += page_size) {
            void* page = phys_to_virt(pa + off);
            *static_cast<void**>(page) = head;
            head = page;
            ++count;
        }
    }
    void release_all() {
        while (head) {
            void* next = *static_cast<void**>(head);
            free_pages(head, 0);
            head = next;
        }
    }
};

// Removes the pages of [start, start + length) from the page table (vm_lock held) into
// `freed`; the caller invalidates, then releases them.
void take_pages(uintptr_t start, size_t length, FreedPages& freed) {
    // Application pages are 4 KiB, so no large leaf needs splitting (which could fail).
    // Emptied tables stay: the next mapping nearby (first fit reuses addresses) needs them,
    // and they are bounded by the largest application mapping there ever was.
    table->unmap(start, length, [&](uintptr_t pa, size_t size) { freed.add(pa, size); }, false);
    counters.resident_pages -= freed.count;
}
void finish(uintptr_t start, size_t length, FreedPages& freed) {
    invalidate(start, length);
    freed.release_all();
}

size_t page_round_up(size_t n) { return (n + page_size - 1) & ~(page_size - 1); }

// The area's pages fault in with the area's protection; true when `access` is allowed.
bool allows(int prot, Access access) {
    switch (access) {
    case Access::read: return prot & (prot_read | prot_write | prot_exec);
    case Access::write: return prot & prot_write;
    case Access::execute: return prot & prot_exec;
    }
    return false;
}

// Maps a zeroed page at the page holding `address`; vm_lock held. True if mapped (or
// another CPU mapped it meanwhile).
bool populate_page(uintptr_t address, int prot) {
    void* page = alloc_pages(0);
    if (!page) return false;
    arch::clear_page(page);
    int r = table->map_page_if_absent(address & ~(page_size - 1), virt_to_phys(page), {prot});
    if (r != 1) free_pages(page, 0);
    if (r == 1) {
        ++counters.resident_pages;
        ++counters.faults;
    }
    return r >= 0;
}
}  // namespace

void init(const BootInfo& boot) {
    table = new (table_storage) Table(arch::page_table_root(), {table_alloc, table_free,
                                                                [](const void* t) { return virt_to_phys(t); },
                                                                [](uintptr_t pa) { return phys_to_virt(pa); }, nullptr});
    space = new (space_storage) AddressSpace(lowest_app_address, arch::traits::app_space_end, {node_alloc, node_free, nullptr});
    // The kernel's parts of the lower half: the identity-mapped image and low memory, the
    // device window, and the stack area.
    // The low identity map ends at the 2 MiB page holding the image's end (paging.cc).
    constexpr uintptr_t large_page = uintptr_t{2} << 20;
    uintptr_t image_end = (reinterpret_cast<uintptr_t>(_kernel_end) + large_page - 1) & ~(large_page - 1);
    uintptr_t identity_end = arch::traits::device_identity_end;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (arch::traits::direct_map_base == 0 && boot.ram[i].end() > identity_end) identity_end = boot.ram[i].end();
    }
    if (reinterpret_cast<uintptr_t>(_kernel_start) < arch::traits::device_identity_start) {
        reserve_kernel_range(lowest_app_address, image_end - lowest_app_address);
    }
    reserve_kernel_range(arch::traits::device_identity_start,
                         page_round_up(identity_end) - arch::traits::device_identity_start);
    reserve_kernel_range(arch::traits::stack_area_base, arch::traits::stack_area_size);
    reserve_kernel_range(arch::traits::device_map_base, arch::traits::device_map_size);
}

void reserve_kernel_range(uintptr_t start, size_t length) {
    {
        sched::SpinGuard guard(vm_lock);
        if (space->reserve(start, length) != 0) {
            panic("kernel range %#lx+%#zx overlaps an application area or leaves the address space", start, length);
        }
    }
    // Published before the kernel puts anything there (the caller maps it after this).
    publish_kernel_range(start, start + page_round_up(length));
}

void enable_shootdowns() {
    if (arch::tlb_shootdown_needed && !irq::attach(arch::tlb_shootdown_irq(), shootdown_handler, nullptr)) {
        panic("cannot attach the TLB shootdown interrupt");
    }
}

bool initialized() { return space != nullptr; }

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
    return table->map(va, virt_to_phys(page), page_size, {prot_read | prot_write}, false);
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
    if (!table->map(va, first, length, {prot_read | prot_write, MemoryType::device})) return nullptr;
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
    bool ok = table->map(va, virt_to_phys(page), page_size, {prot_read | prot_write}, false);
    vm_lock.unlock();
    if (!ok) free_pages(page, 0);
    return ok;
}

intptr_t map_anonymous(uintptr_t hint, size_t length, int prot, bool fixed, VmaKind kind) {
    sched::LockGuard op(op_lock);
    FreedPages freed;
    intptr_t r;
    {
        sched::SpinGuard guard(vm_lock);
        if (!fixed) return space->map(hint ? hint : arch::traits::mmap_base, length, prot, false, kind);
        r = space->map(hint, length, prot, true, kind);
        if (r < 0) return r;
        take_pages(hint, page_round_up(length), freed);  // what the new area replaced
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
        int r = space->unmap(start, length);
        if (r != 0) return r;
        if (size > space->highest() - start) size = space->highest() - start;
        take_pages(start, size, freed);
    }
    finish(start, size, freed);
    return 0;
}

int protect(uintptr_t start, size_t length, int prot) {
    sched::LockGuard op(op_lock);
    size_t size = page_round_up(length);
    {
        sched::SpinGuard guard(vm_lock);
        int r = space->protect(start, length, prot);
        if (r != 0) return r;
        if (!table->protect(start, size, {prot})) return -errno_nomem;  // pages are 4 KiB: no split
    }
    invalidate(start, size);
    return 0;
}

int discard(uintptr_t start, size_t length) {
    if ((start & (page_size - 1)) || length == 0 || start + length < start) return -errno_inval;
    sched::LockGuard op(op_lock);
    FreedPages freed;
    size_t size = page_round_up(length);
    {
        sched::SpinGuard guard(vm_lock);
        for (uintptr_t a = start; a < start + size;) {
            const Vma* v = space->find(a);
            if (!v || v->kind == VmaKind::reserved) return -errno_nomem;
            a = v->end;
        }
        take_pages(start, size, freed);
    }
    finish(start, size, freed);
    return 0;
}

int area_protection(uintptr_t start, size_t length, int* prot) {
    if (length == 0 || start + length < start) return -errno_fault;
    sched::SpinGuard guard(vm_lock);
    // Areas are not merged, so Linux's one mapping may be several adjacent areas here: all
    // of them the application's, without a hole, with one protection.
    const Vma* first = space->find(start);
    if (!first || first->kind == VmaKind::reserved) return -errno_fault;
    for (uintptr_t covered = first->end; covered < start + length;) {
        const Vma* v = space->find(covered);
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
        sched::SpinGuard guard(vm_lock);  // page by page: other CPUs' faults go on meanwhile
        const Vma* v = space->find(a);
        if (!v || v->kind == VmaKind::reserved) return -errno_nomem;
        if (v->prot == 0) continue;
        if (!table->translate(a).mapped && !populate_page(a, v->prot)) return -errno_nomem;
    }
    return 0;
}

void set_break_area(uintptr_t start) {
    sched::LockGuard op(op_lock);
    break_start = break_end = page_round_up(start);
}

uintptr_t set_break(uintptr_t requested) {
    sched::LockGuard op(op_lock);
    FreedPages freed;
    uintptr_t old_top, new_top;
    {
        sched::SpinGuard guard(vm_lock);
        // Beyond the application's range (where rounding up could also wrap to 0 and read
        // as a shrink to nothing): refused, as any break that cannot be honoured.
        if (break_start == 0 || requested < break_start || requested > space->highest()) return break_end;
        old_top = page_round_up(break_end);
        new_top = page_round_up(requested);
        if (new_top > old_top) {
            if (old_top == break_start) {  // no heap area yet: it must fit right at break_start
                intptr_t at = space->map(break_start, new_top - break_start, prot_read | prot_write, false, VmaKind::heap);
                if (at != static_cast<intptr_t>(break_start)) {
                    if (at >= 0) space->unmap(static_cast<uintptr_t>(at), new_top - break_start);
                    return break_end;
                }
            } else if (space->resize(break_start, new_top) != 0) {
                return break_end;
            }
        } else if (new_top < old_top) {
            if (new_top == break_start) {
                space->unmap(break_start, old_top - break_start);
            } else {
                space->resize(break_start, new_top);
            }
            take_pages(new_top, old_top - new_top, freed);
        }
        break_end = requested;
    }
    if (new_top < old_top) finish(new_top, old_top - new_top, freed);
    return requested;
}

bool handle_fault(uintptr_t address, Access access) {
    if (!space || address < space->lowest() || address >= space->highest()) return false;
    sched::SpinGuard guard(vm_lock);
    const Vma* v = space->find(address);
    if (!v || v->kind == VmaKind::reserved || !allows(v->prot, access)) return false;
    Translation t = table->translate(address);
    // Mapped already with the access allowed: another CPU populated it first (or this
    // CPU's translation was stale).
    if (t.mapped) return allows(t.attributes.prot, access);
    return populate_page(address, v->prot);
}

const char* describe_fault(uintptr_t address, Access access) {
    if (!space || address < space->lowest() || address >= space->highest()) return "outside application memory";
    if (!vm_lock.try_lock()) return "address space busy";  // (faulted with it held)
    const Vma* v = space->find(address);
    const char* what = !v                               ? "no mapping"
                       : v->kind == VmaKind::reserved  ? "kernel memory"
                       : v->prot == 0                  ? "area is PROT_NONE"
                       : access == Access::write && !(v->prot & prot_write) ? "area is not writable"
                       : access == Access::execute && !(v->prot & prot_exec) ? "area is not executable"
                                                                             : "out of memory";
    vm_lock.unlock();
    return what;
}

struct Snapshot {
    struct Area {
        uintptr_t start, end;
        int prot;
        VmaKind kind;
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

// Drops every application area and its pages; op_lock held.
void clear_application_space() {
    FreedPages freed;
    {
        sched::SpinGuard guard(vm_lock);
        for (;;) {
            const Vma* victim = nullptr;
            space->for_each([&](const Vma& v) {
                if (!victim && v.kind != VmaKind::reserved) victim = &v;
            });
            if (!victim) break;
            uintptr_t start = victim->start, end = victim->end;
            space->unmap(start, end - start);
            take_pages(start, end - start, freed);
        }
    }
    invalidate(0, ~size_t{0});
    freed.release_all();
}
}  // namespace

Snapshot* take_snapshot() {
    sched::LockGuard op(op_lock);
    auto* s = static_cast<Snapshot*>(calloc(1, sizeof(Snapshot)));
    if (!s) return nullptr;
    size_t area_capacity = 0, page_capacity = 0;
    bool ok = true;
    // Areas first (under the spinlock nothing may allocate with it held for long, so count
    // and copy in two steps: areas cannot change meanwhile, op_lock is held).
    size_t areas = 0;
    {
        sched::SpinGuard guard(vm_lock);
        space->for_each([&](const Vma& v) { areas += v.kind != VmaKind::reserved; });
    }
    ok = grow(s->areas, area_capacity, areas ? areas : 1);
    if (ok) {
        sched::SpinGuard guard(vm_lock);
        space->for_each([&](const Vma& v) {
            if (v.kind != VmaKind::reserved && s->area_count < area_capacity) {
                s->areas[s->area_count++] = {v.start, v.end, v.prot, v.kind};
            }
        });
    }
    for (size_t i = 0; ok && i < s->area_count; ++i) {
        for (uintptr_t va = s->areas[i].start; ok && va < s->areas[i].end; va += page_size) {
            Translation t;
            {
                sched::SpinGuard guard(vm_lock);
                t = table->translate(va);
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
    s->break_start = break_start;
    s->break_end = break_end;
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
    clear_application_space();
    {
        sched::SpinGuard guard(vm_lock);
        for (size_t i = 0; i < s->area_count; ++i) {
            const Snapshot::Area& a = s->areas[i];
            if (space->map(a.start, a.end - a.start, a.prot, true, a.kind) < 0) panic("fork: cannot restore an area");
        }
        size_t p = 0;
        for (size_t i = 0; i < s->area_count; ++i) {
            for (; p < s->page_count && s->pages[p].va < s->areas[i].end; ++p) {
                if (table->map_page_if_absent(s->pages[p].va, virt_to_phys(s->pages[p].copy), {s->areas[i].prot}) != 1) {
                    panic("fork: cannot restore a page");
                }
                ++counters.resident_pages;
            }
        }
        break_start = s->break_start;
        break_end = s->break_end;
    }
    free(s->pages);  // the page copies now belong to the address space
    free(s->areas);
    free(s);
}

void unmap_all() {
    sched::LockGuard op(op_lock);
    clear_application_space();
    break_start = break_end = 0;
}

Stats stats() {
    sched::SpinGuard guard(vm_lock);
    Stats s = counters;
    s.areas = 0;
    space->for_each([&](const Vma& v) { s.areas += v.kind != VmaKind::reserved; });
    return s;
}

void for_each_area(void (*f)(const Vma& area, void* context), void* context) {
    sched::SpinGuard guard(vm_lock);
    space->for_each([&](const Vma& v) {
        if (v.kind != VmaKind::reserved) f(v, context);
    });
}

}  // namespace mica::mm::vm
