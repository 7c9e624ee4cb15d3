// Address spaces (vm.h "Address spaces"; docs/architecture.md "Address spaces and
// processes"): creating, forking, switching and destroying them.
//
// How a space shares the kernel's mappings. The kernel's ranges lie in the lower half next
// to the application's (the image and low memory, the device window, the stack and device
// mapping areas; on x86_64 also the direct map in the upper half), so no top-level split
// separates them. Each entry of a table covers a slot of the address space, which is either
// wholly the kernel's (no application byte in it), wholly the application's, or mixed. A
// space's root is its own; for a kernel slot it holds the kernel table's entry (the same
// lower-level table or leaf: shared, so the kernel's later changes below it show in every
// space); for an application slot it holds what the space maps; a mixed slot gets a private
// table of the space, filled the same way one level down. The mixed tables are few (x86_64:
// the root, the tables for [0, 512 GiB), [0, 1 GiB) and [512 GiB, 1 TiB); aarch64: the
// root, the table for [0, 1 GiB) and one for [0, 2 MiB)), created with the space whether or
// not the kernel maps anything there yet. When the kernel table gains an entry in a kernel
// slot of a mixed table (a new stack area or device mapping table), it is copied into every
// space (propagate_kernel_entries): a copy, never an allocation, so it is safe in the
// page-fault path of lazy stacks.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/config.h>
#include <mica/mm/memory.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/phys.h>
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <new>
#include "vm_internal.h"

namespace mica::mm::vm {
namespace {
using Format = arch::traits::PageFormat;
constexpr size_t entries = 512;
constexpr unsigned page_shift = 12, level_bits = 9;

struct Range {
    uintptr_t start, end;
};
constexpr size_t max_kernel_ranges = 16;

// Owned here, under vm_lock: the kernel's ranges of the application's address range (each
// new space reserves them) and the list of spaces not yet freed.
Range kernel_ranges[max_kernel_ranges];
size_t kernel_range_count = 0;
Space* spaces = nullptr;
size_t live_spaces = 0;
// Set once by space_init.
Space* initial = nullptr;
uintptr_t kernel_root_phys = 0;
// Per CPU, written only by that CPU with interrupts off: the space whose root its page-table
// register holds (nullptr: the kernel table's).
Space* loaded[sched::max_cpus];

Vma* node_alloc(void*) { return static_cast<Vma*>(allocate(sizeof(Vma), alignof(Vma), 0)); }
void node_free(Vma* v, void*) { release(v); }

enum class Slot { application, kernel, mixed };

Slot classify(uintptr_t start, uintptr_t end) {
    if (start >= arch::traits::app_space_end) return Slot::kernel;
    bool kernel = end > arch::traits::app_space_end, application = false;
    for (uintptr_t pos = start; pos < end;) {
        uintptr_t next = end;
        bool inside = false;
        for (size_t i = 0; i < kernel_range_count; ++i) {
            const Range& r = kernel_ranges[i];
            if (r.start <= pos && pos < r.end) {
                inside = true;
                next = r.end < end ? r.end : end;
                break;
            }
            if (r.start > pos && r.start < next) next = r.start;
        }
        (inside ? kernel : application) = true;
        pos = next;
    }
    return kernel && application ? Slot::mixed : kernel ? Slot::kernel : Slot::application;
}

uint64_t* table_at(uint64_t entry) { return static_cast<uint64_t*>(phys_to_virt(Format::address(entry, 0))); }

// Fills `mine` (a space's table whose entries span 2^shift bytes from `base`) for the slots
// meeting [start, end): kernel slots get the kernel's entry (from `kernels`, the kernel
// table's table for the same range, or nothing when it has none), mixed slots a private
// table filled the same way. False when out of memory for one.
bool share_entries(uint64_t* mine, const uint64_t* kernels, unsigned shift, uintptr_t base, uintptr_t start,
                   uintptr_t end) {
    size_t span = size_t{1} << shift;
    for (size_t i = 0; i < entries; ++i) {
        uintptr_t s = base + i * span, e = s + span;
        if (e <= start || s >= end) continue;
        uint64_t k = kernels ? kernels[i] : 0;
        Slot slot = classify(s, e);
        if (slot == Slot::kernel) {
            if (mine[i] != k) mine[i] = k;
        } else if (slot == Slot::mixed) {
            if (Format::present(k) && Format::is_leaf(k, shift)) panic("a kernel leaf at %#lx spans application memory", s);
            if (!Format::present(mine[i])) {
                void* fresh = table_memory().alloc_table(nullptr);
                if (!fresh) return false;
                Format::publish();
                mine[i] = Format::make_table(virt_to_phys(fresh));
            }
            if (!share_entries(table_at(mine[i]), Format::present(k) ? table_at(k) : nullptr, shift - level_bits, s,
                               start > s ? start : s, end < e ? end : e)) {
                return false;
            }
        }
    }
    Format::publish();
    return true;
}

// Moves the space's own tables under `table` to `out` and clears their entries: those of
// application slots, and with `mixed_too` the private tables of mixed slots as well (never
// the kernel's).
void collect_tables(uint64_t* table, unsigned shift, uintptr_t base, FreedPages& out, bool mixed_too) {
    if (shift == page_shift) return;
    size_t span = size_t{1} << shift;
    for (size_t i = 0; i < entries; ++i) {
        uint64_t e = table[i];
        if (!Format::present(e) || Format::is_leaf(e, shift)) continue;
        uintptr_t s = base + i * span;
        Slot slot = classify(s, s + span);
        if (slot == Slot::kernel) continue;
        uint64_t* child = table_at(e);
        collect_tables(child, shift - level_bits, s, out, mixed_too);
        if (slot == Slot::application || mixed_too) {
            table[i] = 0;
            out.add(virt_to_phys(child), page_size);
        }
    }
}

// The rest of a destroyed space once no CPU has it loaded: its mixed tables, root and page.
void free_space(Space* s) {
    FreedPages freed;
    {
        sched::SpinGuard guard(vm_lock);
        (s->prev ? s->prev->next : spaces) = s->next;
        if (s->next) s->next->prev = s->prev;
        --live_spaces;
        collect_tables(s->table.root(), Format::top_shift, 0, freed, true);
    }
    freed.add(virt_to_phys(s->table.root()), page_size);
    freed.add(virt_to_phys(s), page_size);  // Table has nothing to destroy; the areas went with destroy_space
    freed.release_all();
}

void destroy_locked(Space* s) {
    // Held like a CPU's reference until the end, so a CPU switching away meanwhile never
    // frees it under us (cpu_state).
    __atomic_fetch_add(&s->cpu_state, 2u, __ATOMIC_ACQ_REL);
    {
        // The caller leaves it; this CPU loads the kernel's table if it had it.
        sched::IrqGuard irqs;
        sched::Thread* self = sched::current();
        if (self && self->space == s) self->space = nullptr;
        if (loaded[arch::cpu_index()] == s) switch_space(nullptr);
    }
    clear_areas(s);
    FreedPages freed;
    {
        sched::SpinGuard guard(vm_lock);
        collect_tables(s->table.root(), Format::top_shift, 0, freed, false);
        __atomic_fetch_or(&s->cpu_state, 1u, __ATOMIC_ACQ_REL);  // faults no longer look at it
        s->areas.~AddressSpace();
    }
    // CPUs that still have it loaded (lazily, running kernel threads) may cache the tables.
    invalidate(0, ~size_t{0});
    freed.release_all();
    // The last of this and the CPUs switching away frees the rest.
    if (__atomic_sub_fetch(&s->cpu_state, 2u, __ATOMIC_ACQ_REL) == 1) free_space(s);
    // Nothing shared any more: the page shares' table goes until the next fork.
    PageShares::Bucket* unused = nullptr;
    {
        sched::SpinGuard guard(vm_lock);
        if (shares.size() == 0) unused = shares.rehash(nullptr, 0);
    }
    if (unused) release(unused);
}

}  // namespace

bool reserve_shares(size_t extra) {
    size_t capacity;
    {
        sched::SpinGuard guard(vm_lock);
        if (shares.fits(extra)) return true;
        capacity = PageShares::capacity_for(shares.size() + extra);
    }
    auto* fresh = static_cast<PageShares::Bucket*>(allocate(capacity * sizeof(PageShares::Bucket), alignof(PageShares::Bucket), 0));
    if (!fresh) return false;
    for (size_t i = 0; i < capacity; ++i) fresh[i] = {0, 0};
    PageShares::Bucket* old;
    {
        sched::SpinGuard guard(vm_lock);  // entries only went away meanwhile (faults): it fits
        old = shares.rehash(fresh, capacity);
    }
    if (old) release(old);
    return true;
}

Space::Space(void* root)
    : table(root, table_memory()), areas(lowest_app_address, arch::traits::app_space_end, {node_alloc, node_free, nullptr}) {}

Space* new_space() {
    void* page = alloc_pages(0);
    void* root = table_memory().alloc_table(nullptr);
    if (!page || !root) {
        if (page) free_pages(page, 0);
        if (root) free_pages(root, 0);
        return nullptr;
    }
    static_assert(sizeof(Space) <= page_size);
    Space* s = new (page) Space(root);
    sched::SpinGuard guard(vm_lock);
    bool ok = share_entries(s->table.root(), kernel_table->root(), Format::top_shift, 0, 0, ~uintptr_t{0});
    for (size_t i = 0; ok && i < kernel_range_count; ++i) {
        const Range& r = kernel_ranges[i];
        if (r.end > lowest_app_address) ok = s->areas.reserve(r.start, r.end - r.start) == 0;
    }
    if (!ok) {
        FreedPages freed;
        collect_tables(s->table.root(), Format::top_shift, 0, freed, true);
        s->areas.~AddressSpace();
        freed.add(virt_to_phys(root), page_size);
        freed.add(virt_to_phys(page), page_size);
        freed.release_all();  // never loaded anywhere: nothing to invalidate
        return nullptr;
    }
    s->next = spaces;
    if (spaces) spaces->prev = s;
    spaces = s;
    ++live_spaces;
    return s;
}

void space_init() {
    kernel_root_phys = virt_to_phys(kernel_table->root());
    initial = new_space();
    if (!initial) panic("out of memory for the initial address space");
    switch_space(initial);
}

size_t space_count() { return live_spaces; }

void add_kernel_range(uintptr_t start, uintptr_t end) {
    if (kernel_range_count == max_kernel_ranges) panic("too many kernel ranges (%zu)", max_kernel_ranges);
    kernel_ranges[kernel_range_count++] = {start, end};
}

void propagate_kernel_entries(uintptr_t start, uintptr_t end) {
    for (Space* s = spaces; s; s = s->next) {
        if (!share_entries(s->table.root(), kernel_table->root(), Format::top_shift, 0, start, end)) {
            panic("out of memory for an address space's kernel tables");
        }
    }
}

void reserve_kernel_range(uintptr_t start, size_t length) {
    uintptr_t end = start + page_round_up(length);
    {
        sched::SpinGuard guard(vm_lock);
        add_kernel_range(start, end);
        for (Space* s = spaces; s; s = s->next) {
            if (s->areas.reserve(start, length) != 0) {
                panic("kernel range %#lx+%#zx overlaps an application area or leaves the address space", start, length);
            }
        }
        // Slots that became the kernel's (or mixed) take the kernel's entries.
        propagate_kernel_entries(start, end);
    }
    // Published before the kernel puts anything there (the caller maps it after this).
    publish_kernel_range(start, end);
}

Space* initial_space() { return initial; }

Space* loaded_space() {
    sched::IrqGuard irqs;
    return loaded[arch::cpu_index()];
}

Space* current_space() {
    sched::Thread* self = sched::current();
    if (self && self->space) return self->space;
    return loaded_space();
}

void switch_space(Space* s) {
    sched::IrqGuard irqs;
    unsigned cpu = arch::cpu_index();
    Space* old = loaded[cpu];
    if (old == s) return;
    if (s) __atomic_fetch_add(&s->cpu_state, 2u, __ATOMIC_ACQ_REL);
    loaded[cpu] = s;
    arch::load_page_table(s ? virt_to_phys(s->table.root()) : kernel_root_phys);
    if (old && __atomic_sub_fetch(&old->cpu_state, 2u, __ATOMIC_ACQ_REL) == 1) {
        free_space(old);  // destroyed while this CPU still had it
    }
}

void set_space(Space* s) {
    sched::IrqGuard irqs;
    if (sched::Thread* self = sched::current()) self->space = s;
    if (s) switch_space(s);
}

Space* create_space() {
    if (!CONFIG_PROCESSES) return nullptr;
    sched::LockGuard op(op_lock);
    return new_space();
}

Space* fork_space(Space* parent) {
    if (!CONFIG_PROCESSES || !parent) return nullptr;
    sched::LockGuard op(op_lock);
    // Shared areas first: every page populated, so parent and child map the same ones.
    bool ok = true;
    parent->areas.for_each([&](const Vma& v) {  // (areas change only under op_lock)
        if (!v.shared || v.kind == VmaKind::reserved) return;
        for (uintptr_t va = v.start; ok && va < v.end; va += page_size) {
            sched::SpinGuard guard(vm_lock);
            if (!parent->table.translate(va).mapped) ok = populate_page(parent, va, v.prot);
        }
    });
    size_t resident;
    {
        sched::SpinGuard guard(vm_lock);
        resident = parent->resident_pages;
    }
    if (!ok || !reserve_shares(resident)) return nullptr;
    Space* child = new_space();
    if (!child) return nullptr;
    {
        sched::SpinGuard guard(vm_lock);
        child->break_start = parent->break_start;
        child->break_end = parent->break_end;
        parent->areas.for_each([&](const Vma& v) {
            if (!ok || v.kind == VmaKind::reserved) return;
            ok = child->areas.map(v.start, v.end - v.start, v.prot, true, v.kind, v.shared) == static_cast<intptr_t>(v.start);
            if (ok && v.pager) ok = child->areas.set_pager(v.start, v.end - v.start, v.pager, v.pager_index) == 0;
            parent->table.for_each_page(v.start, v.end - v.start, [&](uintptr_t va, uintptr_t pa, Attributes a) {
                if (!ok) return;
                // Private pages lose write in both until one writes (break_share in vm.cc).
                int prot = v.shared || !(a.prot & prot_write) ? a.prot : (a.prot & ~prot_write) | prot_read;
                if (prot != a.prot) parent->table.protect(va, page_size, {prot});
                if (child->table.map_page_if_absent(va, pa, {prot}) != 1) {
                    ok = false;
                    return;
                }
                shares.add(pa);
                ++child->resident_pages;
            });
        });
    }
    // The parent's other CPUs drop their writable translations of what is now shared.
    invalidate(0, ~size_t{0});
    if (!ok) {
        destroy_locked(child);
        return nullptr;
    }
    return child;
}

void destroy_space(Space* s) {
    if (!s) return;
    sched::LockGuard op(op_lock);
    if (s == initial) {
        clear_areas(s);
        s->break_start = s->break_end = 0;
        return;
    }
    destroy_locked(s);
}

unsigned page_references(Space* s, uintptr_t address) {
    sched::SpinGuard guard(vm_lock);
    Translation t = s->table.translate(address);
    return t.mapped ? shares.count(t.address & ~(page_size - 1)) : 0;
}

void cpu_starts() {
    if (initial) switch_space(initial);
}

}  // namespace mica::mm::vm
