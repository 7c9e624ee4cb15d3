// Copies to and from application memory (vm.h "checked copies"): a range check against the
// application's part of the address space first (the application runs in the kernel's
// address space, where a kernel address would not fault), then mica_copy_checked
// (arch/*/copy.S), whose faults the trap handlers resume at its fix-up with -EFAULT.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/mm/file_pager.h>
#include <mica/mm/app_ranges.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/vm.h>
#include <mica/panic.h>
#include <mica/sched/sched.h>
#include <string.h>
#include "vm_internal.h"

extern "C" long mica_copy_checked(void* dst, const void* src, size_t n);
extern "C" char mica_copy_checked_insn[], mica_copy_checked_fixup[];

namespace mica::mm::vm {
namespace {
// Owned here: what system calls may touch on the application's behalf, the address space's
// bounds minus the kernel's ranges. Written only by publish_kernel_range, read without a
// lock (app_ranges.h says why that is safe).
AppRanges app_ranges(lowest_app_address, arch::traits::app_space_end);

// A system call made by an application thread acts on the application's behalf: its
// pointers must lie in the application's memory. Kernel threads calling the system-call
// handlers directly (the linux_files guest tests) pass kernel buffers; for them only the
// fault fix-up applies.
bool for_application() {
    sched::Thread* self = sched::current();
    return self && self->app;
}
}  // namespace

void publish_kernel_range(uintptr_t start, uintptr_t end) {
    if (!app_ranges.add_kernel_range(start, end)) {
        panic("too many kernel ranges in the application's address space (%zu)", AppRanges::max_kernel_ranges);
    }
}

uintptr_t fixup_for(uintptr_t pc) {
    auto insn = reinterpret_cast<uintptr_t>(mica_copy_checked_insn);
    auto fixup = reinterpret_cast<uintptr_t>(mica_copy_checked_fixup);
    return pc >= insn && pc < fixup ? fixup : 0;
}

bool access_ok(uintptr_t address, size_t length) { return !for_application() || app_ranges.in_bounds(address, length); }

bool is_app_memory(uintptr_t address, size_t length) {
    return !for_application() || app_ranges.contains(address, length);
}

// A copy that faulted may have met file pages not read in yet (file_pager.h): read them in
// and copy again, when this thread may sleep. True when it is worth another try.
bool filled_file_pages(uintptr_t start, size_t length) {
    return for_application() && arch::interrupts_enabled() && fill_file_pages(start, length) > 0;
}

int copy_from_app(void* dst, const void* app_src, size_t length) {
    auto src = reinterpret_cast<uintptr_t>(app_src);
    if (length == 0) return 0;
    if (src + length < src || src < page_size || !is_app_memory(src, length)) return -errno_fault;
    long r = mica_copy_checked(dst, app_src, length);
    if (r != 0 && filled_file_pages(src, length)) r = mica_copy_checked(dst, app_src, length);
    return static_cast<int>(r);
}

int copy_to_app(void* app_dst, const void* src, size_t length) {
    auto dst = reinterpret_cast<uintptr_t>(app_dst);
    if (length == 0) return 0;
    if (dst + length < dst || dst < page_size || !is_app_memory(dst, length)) return -errno_fault;
    long r = mica_copy_checked(app_dst, src, length);
    if (r != 0 && filled_file_pages(dst, length)) r = mica_copy_checked(app_dst, src, length);
    return static_cast<int>(r);
}

int64_t copy_string_from_app(char* dst, const char* app_src, size_t capacity) {
    constexpr int64_t errno_nametoolong = 36;
    auto src = reinterpret_cast<uintptr_t>(app_src);
    size_t done = 0;
    while (done < capacity) {
        // Up to the end of the source page: the next page may not exist past the NUL.
        size_t chunk = page_size - ((src + done) & (page_size - 1));
        if (chunk > capacity - done) chunk = capacity - done;
        if (int r = copy_from_app(dst + done, reinterpret_cast<const void*>(src + done), chunk)) return r;
        if (auto* nul = static_cast<char*>(memchr(dst + done, 0, chunk))) return nul - dst;
        done += chunk;
    }
    return -errno_nametoolong;
}

}  // namespace mica::mm::vm
