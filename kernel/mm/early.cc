#include <mica/boot.h>
#include <mica/mm/early.h>
#include <mica/mm/exhaustion.h>
#include <mica/mm/page_allocator.h>
#include <mica/mm/phys.h>
#include <string.h>

namespace mica::mm {
namespace {
// Owned here; only used on the boot CPU before the page allocator exists. Physical
// addresses; callers get direct-map addresses.
uintptr_t next = 0;
uintptr_t limit = 0;
}  // namespace

void early_init(const BootInfo& boot, uint64_t accessible_limit) {
    uint64_t image_end = virt_to_phys(_kernel_end);
    uint64_t end = image_end;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].base <= image_end && image_end < boot.ram[i].end()) end = boot.ram[i].end();
    }
    for (size_t i = 0; i < boot.reserved_count; ++i) {
        if (boot.reserved[i].base >= image_end && boot.reserved[i].base < end) end = boot.reserved[i].base;
    }
    if (end > accessible_limit) end = accessible_limit;
    next = (image_end + page_size - 1) & ~(page_size - 1);
    limit = end > next ? end : next;  // nothing after the image when it is not in RAM
    note_ram_bytes(boot.ram_bytes());
}

void* early_alloc(size_t bytes, bool zero) {
    bytes = (bytes + page_size - 1) & ~(page_size - 1);
    if (next + bytes > limit || next + bytes < next) {
        // The page map and the kernel's page tables come first, right after the image:
        // anything the rest of boot needs must fit after them too.
        boot_memory_short("RAM after the kernel image for its page tables and page map",
                          (next - virt_to_phys(_kernel_end)) + bytes + boot_reserve_bytes(1), limit - next);
    }
    void* p = phys_to_virt(next);
    next += bytes;
    if (zero) memset(p, 0, bytes);
    return p;
}

uintptr_t early_end() { return next; }

}  // namespace mica::mm
