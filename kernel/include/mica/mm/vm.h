// Virtual memory: the kernel page table after boot, and application address spaces with
// demand paging and copy-on-write. The application runs in the kernel's address space at the
// kernel's privilege, so "application memory" is the part of it that vma.h's AddressSpace
// manages: everything the kernel does not use (traits.h lists the layout), with the kernel's
// own ranges reserved. Each process may have its own such space (Space below): its own page
// tables for the application's ranges, the kernel's entries shared. Anonymous memory is
// populated on first touch: a fault inside an area that allows the access maps a zeroed
// page, a write to a page shared copy-on-write copies it; any other fault is reported.
//
// Every call below that does not take a Space acts on the current one: the calling thread's
// (sched::Thread::space), or for a kernel thread whatever space its CPU has loaded (after
// boot: the initial space, where the first application runs).
#pragma once

#include <mica/mm/vma.h>
#include <stddef.h>
#include <stdint.h>

namespace mica {
struct BootInfo;
}

namespace mica::mm::vm {

inline constexpr int errno_fault = 14;
inline constexpr uintptr_t lowest_app_address = 0x10000;  // Linux's default vm.mmap_min_addr

// After mm::init (kernel stacks need the page table); enable_shootdowns once interrupts
// can be attached (after sched::init), before other CPUs start.
void init(const BootInfo& boot);
void enable_shootdowns();
bool initialized();
// The scheduler's calls when a CPU switches to or from its idle thread: shootdowns skip
// idle CPUs, which flush their TLB on the way out if they missed one.
void cpu_enters_idle(unsigned cpu);
void cpu_leaves_idle(unsigned cpu);

// Kernel virtual memory outside the direct map (the stack area): maps `page` (from
// alloc_pages) at `va`, read-write. False when out of memory for page tables.
bool map_kernel_page(uintptr_t va, void* page);
// The same from the page-fault handler (lazy stacks), with a fresh zeroed page: interrupts
// are off and the faulting code may itself hold the locks involved, so it never waits
// indefinitely; false when it could not (or memory ran out).
bool map_kernel_page_from_fault(uintptr_t va);

// Device memory (MMIO registers, PCI BARs, ECAM) at physical `phys`: a kernel address for
// it, uncached (x86) / Device-nGnRE (aarch64). Inside the identity-mapped device window
// (traits.h) that is the identity address, unless `identity_ok` is false (tests); anything
// else gets a fresh range of the device-mapping area. Mappings are permanent (devices are
// never unplugged). nullptr for size 0, a range that wraps, or when the area or page-table
// memory is exhausted.
void* map_device(uint64_t phys, size_t size, bool identity_ok = true);

// Address spaces (docs/architecture.md "Address spaces and processes"). A thread's space is
// its sched::Thread::space, inherited from the thread that created it (kernel threads: the
// initial space; nullptr only for idle threads, which run in whatever space their CPU has
// loaded, as Linux's lazy TLB); the scheduler loads the incoming thread's space when it
// differs from the CPU's. With CONFIG_PROCESSES=n there is only the initial space:
// create_space and fork_space return nullptr and the scheduler never switches.
struct Space;
// The space the first application runs in (created by init, loaded on every CPU at start).
Space* initial_space();
// The calling thread's space (see above).
Space* current_space();
// An empty space: no application areas, the kernel's ranges reserved. nullptr when out of
// memory.
Space* create_space();
// A copy of `parent` (fork): the same areas and break; private pages become read-only in
// both and are copied on the first write by either (a write to a page only one space still
// maps just makes it writable again); pages of shared areas (map_anonymous' `shared`) are
// populated first and stay shared and writable. nullptr when out of memory (nothing
// changed in the parent then, apart from populated shared pages).
Space* fork_space(Space* parent);
// Frees every page (the ones another space still shares only lose a reference) and table
// of `space`. No thread may have it as its space any more, except the caller, which then
// has none (it runs on in the kernel's table until it sets one). A CPU that still has it
// loaded (its idle thread runs there) keeps its kernel-part tables until it switches away.
// The initial space is only emptied (its areas and break go): kernel threads run in it.
void destroy_space(Space* space);
// Loads `space` on this CPU (nullptr: the kernel's own table, which has no application
// memory). The scheduler's call; threads use set_space.
void switch_space(Space* space);
// A secondary CPU's first call (sched): loads the initial space, as the boot CPU has.
void cpu_starts();
// Makes `space` the calling thread's and loads it (nullptr: none, keeping what is loaded).
void set_space(Space* space);
// References to the page mapped at `address` in `space`: 0 when none is mapped, 1 when
// only this mapping has it, more when it is shared (copy-on-write or a shared area).
unsigned page_references(Space* space, uintptr_t address);

// Application memory with Linux semantics; results are addresses or -errno. A `shared`
// area (MAP_SHARED | MAP_ANONYMOUS) keeps its pages shared with the spaces forked from it.
intptr_t map_anonymous(uintptr_t hint, size_t length, int prot, bool fixed, VmaKind kind = VmaKind::anonymous,
                       bool shared = false);
int unmap(uintptr_t start, size_t length);
int protect(uintptr_t start, size_t length, int prot);
// File pages mapped where they are (ramfs keeps file data in whole pages; the loader and
// mmap map them instead of copying): maps page i of [start, start + pages * 4 KiB) of the
// current space's existing areas to page_at(i, context), a kernel address of a page a file
// owns (nullptr: leave that page to demand paging). Each mapped page gains a reference (the
// file keeps its own, release_file_page below) and is mapped without write whatever its
// area allows, so the first write copies it (copy-on-write, as after fork): a private
// mapping sees the file's later writes until it writes the page itself, as on Linux.
// page_at is called with the VM spinlock held: it must not sleep or fault (the caller holds
// the file system's lock so the pages stay put). Pages already mapped and pages whose area
// went meanwhile are skipped. 0, or -ENOMEM when memory for the page tables or the share
// counts ran out (pages mapped so far stay).
int map_file_pages(uintptr_t start, size_t pages, void* (*page_at)(size_t index, void* context), void* context);
// A file gives up a page (truncation, deletion): freed now unless mappings still share it,
// in which case the last of them frees it.
void release_file_page(void* page);
// Whether an application maps the file page now (the page cache keeps those).
bool file_page_mapped(const void* page);
// madvise(MADV_DONTNEED): drops the pages; the next touch sees zeros. -ENOMEM if part of
// the range is not mapped.
int discard(uintptr_t start, size_t length);
// The protection of [start, start + length) when it lies in what Linux would call one
// mapping (mremap's old range): application areas without a hole and with one protection
// (areas are not merged here); -EFAULT otherwise.
int area_protection(uintptr_t start, size_t length, int* prot);
// Touches every page of the range now (MAP_POPULATE). -ENOMEM up front when the range has
// more pages than are free, or when memory runs out part way.
int populate(uintptr_t start, size_t length);

// The program break (brk). set_break_area makes the heap area start at `start` (page
// aligned, just past the loaded image); set_break returns the new break, or the current one
// when the request cannot be honoured (Linux's brk system call semantics).
void set_break_area(uintptr_t start);
uintptr_t set_break(uintptr_t requested);

// Memory for applications, and what happens when it runs out (Linux's heuristic
// overcommit, as it was before 2.6): a request for writable private memory (mmap, brk,
// mremap growing) fails with ENOMEM when it is larger than the free memory left after the
// kernel's reserve; memory is still only taken when touched. The reserve (1/64 of RAM, at
// least 512 KiB) is never given to application page faults, so a program that fills memory
// is stopped (killed, with a message) while the kernel still has room to report it.
size_t kernel_reserve_pages();
bool can_commit(size_t pages);
// Memory the kernel can give back on request (the page cache's pages nobody maps):
// can_commit calls `reclaim` (with how many pages it lacks) before it refuses, and the
// reclaimer returns the pages it freed. Called in thread context with no VM lock held; it
// must not block on a lock a caller of can_commit may hold (the page cache only try-locks).
void set_reclaimer(size_t (*reclaim)(size_t pages));

enum class Access : uint8_t { read, write, execute };
// Page-fault entry from the architecture's trap handler (interrupts off; never sleeps).
// True when the fault was demand paging and the access can be retried.
// `pc` is the faulting instruction (for the mm.fault tracepoint).
bool handle_fault(uintptr_t address, Access access, uintptr_t pc = 0);
// The mm.fault tracepoint's access and result codes (docs/tracing.md).
enum class FaultResult : uint8_t { mapped = 0, copy_on_write = 1, file_page_deferred = 2, signal = 3 };
inline constexpr uint64_t fault_access_code(Access access) {
    return access == Access::write ? 1 : access == Access::execute ? 2 : 0;
}
// Whether a fault that handle_fault could not resolve was an allowed access that found no
// free page (the application has used up memory), rather than a bad access.
bool fault_for_lack_of_memory(uintptr_t address, Access access);
// Describes why `address` faulted for the report ("no mapping", "area is read-only", ...).
const char* describe_fault(uintptr_t address, Access access);
// Where a fault at `pc` resumes instead of being fatal (the copy routines below), or 0:
// page faults, and on x86_64 general protection faults (non-canonical addresses).
uintptr_t fixup_for(uintptr_t pc);

// The kernel's own ranges inside the application's address range (init reserves the image,
// the device window and the stack area; a driver mapping a window there later calls it
// before mapping): the application can neither map there nor have a system call touch it.
// Panics if the range overlaps an application area (a kernel bug).
void reserve_kernel_range(uintptr_t start, size_t length);

// What a system call may touch on the calling application thread's behalf (app_ranges.h).
// access_ok is Linux's up-front check (no wrap, ends inside the application's range);
// is_app_memory is exact (also clear of every kernel range). On kernel threads, which call
// the system-call handlers with kernel buffers (guest tests), both are true.
bool access_ok(uintptr_t address, size_t length);
bool is_app_memory(uintptr_t address, size_t length);

// Copies to or from application memory: -EFAULT instead of a crash when part of the range
// is not the application's (is_app_memory, checked first) or not accessible (a fault in the
// copy resumes at its fix-up: unmapped, PROT_NONE, read-only for a write, non-canonical).
// The syscall layer's only way to touch application pointers. Nothing is touched for length 0.
int copy_from_app(void* dst, const void* app_src, size_t length);
int copy_to_app(void* app_dst, const void* src, size_t length);
// Copies a NUL-terminated string of at most `capacity` bytes counting the NUL: its length,
// -EFAULT, or -ENAMETOOLONG (errno 36) when no NUL comes within `capacity` bytes.
int64_t copy_string_from_app(char* dst, const char* app_src, size_t capacity);

// Removes every application area (execve).
void unmap_all();

struct Stats {
    size_t resident_pages;  // application pages populated (in the current space)
    size_t areas;           // application areas (reserved ones excluded)
    uint64_t faults;        // demand-paging and copy-on-write faults resolved (current space)
    uint64_t shootdowns;    // cross-CPU TLB invalidations sent (all spaces)
    size_t shared_pages;    // physical pages mapped more than once (all spaces)
    uint64_t copies;        // copy-on-write copies made (all spaces)
    size_t spaces;          // spaces not yet freed
};
Stats stats();
// Calls f for each application area under the VM spinlock: f must not sleep or fault.
void for_each_area(void (*f)(const Vma& area, void* context), void* context);

}  // namespace mica::mm::vm
