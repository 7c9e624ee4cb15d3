// Demand paging of file mappings: an area of a file that lives in the page cache (squashfs on
// a disk) maps its pages when the application first touches them, not at mmap or exec, so a
// 2 MB program costs the pages it runs. ramfs files need none of this: their pages exist
// already and are mapped whole (map_file_pages).
//
// A page fault cannot read a disk: the handler runs with interrupts off, possibly on a
// per-CPU exception stack. So a fault on a file page not yet mapped is deferred: the handler
// records it for the thread and marks the thread interrupted; the thread's way back to the
// application (the signal delivery point) reads the pages in with interrupts on, maps them,
// and returns to the faulting instruction, which then finds its page. The kernel's own copies
// to and from application memory (system calls) fill the file pages of their range and copy
// again when the first attempt faults.
//
// Locks: the pager's lock (held while it hands out pages), then op_lock, then vm_lock.
// Nothing may hold op_lock or vm_lock and then ask a pager for pages.
#pragma once

#include <mica/mm/vma.h>
#include <mica/mm/vm.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

class FilePager {
public:
    using Use = void (*)(void* const* pages, size_t count, void* context);
    // Calls `use` with the kernel addresses of pages [first, first + count) of the file,
    // which stay valid until `use` returns: read in first when `read` (nullptr past the end),
    // else only those already in memory (nullptr for the others). Thread context (interrupts
    // may be off: a deferred fault); may sleep; must not need the VFS lock (a copy from application memory may fault
    // while it is held). 0 or -errno (-EIO, -ENOMEM).
    virtual int with_pages(uint64_t first, size_t count, bool read, Use use, void* context) = 0;
    // Pages in the file (its size rounded up); constant (read-only files). Called from the
    // fault handler: a plain read.
    virtual uint64_t page_count() const = 0;

protected:
    ~FilePager() = default;
};

namespace vm {

// A deferred fault reads its own page, and maps with it the pages around it (an aligned
// window of this many, inside the area and the file) that are in memory already: fewer
// faults for code run in order, and no memory spent on pages the program never touches
// (Linux's fault-around does the same).
inline constexpr size_t fault_around_pages = 16;

// Pages [start, start + length) of the current space's areas (private mappings) come from
// page `first_index` on of `pager`'s file, on demand. 0 or -errno (vma.h set_pager).
int attach_pager(uintptr_t start, size_t length, FilePager* pager, uint64_t first_index);

// Page-fault handlers, for faults in application code (interrupts off, never sleeps): true
// when the fault at `address` is a file page not read in yet; it is then recorded for the
// thread, which is marked interrupted so that it goes back to the application through
// complete_file_fault (or the page was mapped meanwhile by another thread: the access just
// runs again).
bool defer_file_fault(uintptr_t address, Access access, uintptr_t pc = 0);

// At the delivery point on the way back to the application (interrupts off; the thread may
// sleep while the disk reads): the deferred fault's pages read and mapped. 0 when none
// was pending, 1 when mapped, -EIO when the file cannot be read (the application gets
// SIGBUS, as on Linux), -ENOMEM. *address gets the faulting address.
int complete_file_fault(uintptr_t* address);

// The kernel's copies (thread context, interrupts on): maps the file pages of
// [start, start + length) that areas page on demand and are not mapped yet. The pages mapped
// (0: none to map), or -errno.
int fill_file_pages(uintptr_t start, size_t length);

// Whether `area` pages `address` from a file and the page lies inside the file (past its end
// the area is ordinary zero-filled memory, as Linux would give SIGBUS there).
bool pages_from_file(const Vma& area, uintptr_t address);

}  // namespace vm
}  // namespace mica::mm
