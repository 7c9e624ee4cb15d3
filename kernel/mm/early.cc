#include <mica/mm/early.h>
#include <mica/mm/page_allocator.h>
#include <mica/panic.h>
#include <string.h>

namespace mica::mm {
namespace {
// Owned here; only used on the boot CPU before the page allocator exists.
uintptr_t next = 0;
uintptr_t limit = 0;
}  // namespace

void early_init(uintptr_t start, uintptr_t end) {
    next = (start + page_size - 1) & ~(page_size - 1);
    limit = end;
}

void* early_alloc(size_t bytes, bool zero) {
    bytes = (bytes + page_size - 1) & ~(page_size - 1);
    if (next + bytes > limit || next + bytes < next) {
        panic("early boot memory exhausted: %zu bytes wanted, %zu left", bytes,
              static_cast<size_t>(limit > next ? limit - next : 0));
    }
    void* p = reinterpret_cast<void*>(next);
    next += bytes;
    if (zero) memset(p, 0, bytes);
    return p;
}

uintptr_t early_end() { return next; }

}  // namespace mica::mm
