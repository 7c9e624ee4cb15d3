// Virtual memory: the kernel page table after boot, and the application's address space
// with demand paging. Mica has one address space (the application runs in the kernel's), so
// "application memory" is the part of it that vma.h's AddressSpace manages: everything the
// kernel does not use (traits.h lists the layout), with the kernel's own ranges reserved.
// Anonymous memory is populated on first touch: a fault inside an area that allows the
// access maps a zeroed page; any other fault is reported (see handle_fault).
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

// Application memory with Linux semantics; results are addresses or -errno.
intptr_t map_anonymous(uintptr_t hint, size_t length, int prot, bool fixed, VmaKind kind = VmaKind::anonymous);
int unmap(uintptr_t start, size_t length);
int protect(uintptr_t start, size_t length, int prot);
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

enum class Access : uint8_t { read, write, execute };
// Page-fault entry from the architecture's trap handler (interrupts off; never sleeps).
// True when the fault was demand paging and the access can be retried.
bool handle_fault(uintptr_t address, Access access);
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

// fork() in one address space (libc/linux/fork.cc): a copy of every application area and
// the contents of its populated pages, taken when a parent forks and put back when its
// child is done. restore_snapshot replaces whatever the application has mapped with the
// snapshot and frees it; discard_snapshot only frees it.
struct Snapshot;
Snapshot* take_snapshot();
void restore_snapshot(Snapshot* snapshot);
void discard_snapshot(Snapshot* snapshot);
// Removes every application area (execve).
void unmap_all();

struct Stats {
    size_t resident_pages;  // application pages populated
    size_t areas;           // application areas (reserved ones excluded)
    uint64_t faults;        // demand-paging faults resolved
    uint64_t shootdowns;    // cross-CPU TLB invalidations sent
};
Stats stats();
// Calls f for each application area under the VM spinlock: f must not sleep or fault.
void for_each_area(void (*f)(const Vma& area, void* context), void* context);

}  // namespace mica::mm::vm
