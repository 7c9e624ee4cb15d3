// Shared between the parts of mm::vm (vm.cc: operations on the current address space and
// faults; space.cc: creating, forking, switching and destroying spaces; clear_space.cc; and
// app_copy.cc): not part of the interface.
#pragma once

#include <arch/traits.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/page_shares.h>
#include <mica/mm/page_table.h>
#include <mica/mm/vm.h>
#include <mica/mm/vma.h>
#include <mica/sched/spinlock.h>
#include <mica/sched/sync.h>
#include <stdint.h>

namespace mica::mm::vm {

using Table = PageTable<arch::traits::PageFormat>;

// One application address space (vm.h "Address spaces"). Lives in a page of its own (freed
// from the scheduler's switch path, where only the page allocator may be used).
struct Space {
    Space(void* root);
    Table table;        // root and the tables under it that mix kernel and application ranges are private
    AddressSpace areas;  // the application's areas, with the kernel's ranges reserved
    uintptr_t break_start = 0, break_end = 0;
    size_t resident_pages = 0;  // application pages its table maps (shared ones included)
    uint64_t faults = 0;        // demand-paging and copy-on-write faults resolved
    // 2 x the CPUs whose page-table root it is, | 1 once destroyed: the last of the two
    // (destroy_space, or a CPU switching away) frees its remaining tables.
    uint32_t cpu_state = 0;
    Space* next = nullptr;  // every space not yet freed, for the kernel's entries (space.cc)
    Space* prev = nullptr;
};

// Locks (vm.cc's header comment): vm_lock covers every space's areas and tables, the kernel
// table, the page shares and the list of spaces; op_lock serialises the operations that
// change mappings (and wait for other CPUs).
extern sched::Mutex op_lock;
extern sched::Spinlock vm_lock;
extern Table* kernel_table;  // the kernel's own table (boot's root): kernel mappings only
extern PageShares shares;    // pages mapped by more than one space (or twice in one)
extern uint64_t shootdowns;  // statistics, under op_lock
Table::Memory table_memory();

// The calling thread's space, or (kernel threads) whatever this CPU has loaded.
Space* current_space();
// What this CPU's page-table root holds (interrupts off, or a thread with a space of its own).
Space* loaded_space();

// Pages removed from a page table, chained through their own first word until the
// translations are gone everywhere.
struct FreedPages {
    void* head = nullptr;
    size_t count = 0;
    void add(uintptr_t pa, size_t size);
    void release_all();
};
// Removes the pages of [start, start + length) from `space`'s table (vm_lock held); the
// ones no other mapping shares go to `freed`. The caller invalidates, then releases.
void take_pages(Space* space, uintptr_t start, size_t length, FreedPages& freed);
// Maps a zeroed page at the page holding `address` with `prot`; vm_lock held. True if
// mapped (or another CPU mapped it meanwhile). Never takes the kernel's reserve.
bool populate_page(Space* space, uintptr_t address, int prot);
// Drops stale translations of the range on every CPU that may hold them.
void invalidate(uintptr_t start, size_t length);
inline size_t page_round_up(size_t n) { return (n + page_size - 1) & ~(page_size - 1); }
// Removes every application area of `space` and its pages; op_lock held.
void clear_areas(Space* space);

// Grows the page shares so that `extra` more entries fit (false when out of memory);
// op_lock held, vm_lock not.
bool reserve_shares(size_t extra);

// space.cc: a new space with the kernel's entries (vm_lock not held; nullptr when out of
// memory), the initial one, the kernel's ranges, and their propagation to every space.
Space* new_space();
void space_init();
size_t space_count();  // vm_lock held
void add_kernel_range(uintptr_t start, uintptr_t end);  // vm_lock held
// Points every space's entries for [start, end) where the kernel table's are, after the
// kernel table changed there (vm_lock held). Allocates nothing once every space has its
// private tables, so the page-fault path may call it.
void propagate_kernel_entries(uintptr_t start, uintptr_t end);

// Adds [start, end) to the ranges copies refuse (app_copy.cc). Only reserve_kernel_range
// calls it, once the area tree has the range; panics when the list is full.
void publish_kernel_range(uintptr_t start, uintptr_t end);
}  // namespace mica::mm::vm
