// Running out of memory (vm.h "can_commit"): the kernel's reserve, the commit check of
// mmap/brk, and the reclaimer it asks before refusing (the page cache's pages nobody maps).
#include <mica/mm/memory.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/vm.h>
#include "vm_internal.h"

namespace mica::mm::vm {

namespace {
// The reserve is a 64th of RAM, at least 256 KiB: room for what the kernel allocates for an
// application between two of its commits (a fork's page tables, stacks and heap objects, a
// lazy stack's growth, page-cache fills). A tiny machine (a few MiB) cannot give 256 KiB of
// its 2 MiB away: there it is a 16th of RAM, at least 128 KiB (a fork takes ~100 KiB).
constexpr size_t min_reserve_pages = 64;       // 256 KiB
constexpr size_t tiny_min_reserve_pages = 32;  // 128 KiB
constexpr size_t reserve_fraction = 64, tiny_reserve_fraction = 16;  // of all RAM
}  // namespace

size_t kernel_reserve_pages() {
    size_t total = pages().total_pages(), fraction = total / reserve_fraction;
    if (fraction >= min_reserve_pages) return fraction;
    size_t tiny = total / tiny_reserve_fraction;
    if (tiny < tiny_min_reserve_pages) return tiny_min_reserve_pages;
    return tiny < min_reserve_pages ? tiny : min_reserve_pages;
}

namespace {
// Owned by whoever set it at boot (the disk root's page cache): asked for pages back when a
// request would fail.
size_t (*reclaimer)(size_t pages) = nullptr;

bool fits(size_t wanted) {
    size_t free = pages().free_pages(), reserve = kernel_reserve_pages();
    return free > reserve && wanted <= free - reserve;
}
}  // namespace

void set_reclaimer(size_t (*reclaim)(size_t pages)) { reclaimer = reclaim; }

bool can_commit(size_t wanted) {
    if (fits(wanted)) return true;
    if (!reclaimer) return false;
    size_t free = pages().free_pages(), needed = wanted + kernel_reserve_pages() + 1;
    reclaimer(needed > free ? needed - free : 1);
    return fits(wanted);
}

}  // namespace mica::mm::vm
