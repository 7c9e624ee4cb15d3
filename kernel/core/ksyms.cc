#include <mica/ksyms.h>

// Layout written by tools/gen-ksyms.py into the .ksyms section (empty in the first link):
//   uint64 count; { uint64 address; uint64 name_offset; } [count] sorted by address;
//   then the NUL-terminated names, name_offset counted from the first name.
extern "C" const uint64_t mica_ksyms[];

namespace mica::ksyms {
namespace {
struct Entry {
    uint64_t address;
    uint64_t name_offset;
};
const Entry* entries() { return reinterpret_cast<const Entry*>(&mica_ksyms[1]); }
const char* names() { return reinterpret_cast<const char*>(entries() + mica_ksyms[0]); }
}  // namespace

size_t count() { return mica_ksyms[0]; }

Symbol lookup(uintptr_t address) {
    size_t lo = 0, hi = count();
    while (lo < hi) {  // last entry with entry.address <= address
        size_t mid = (lo + hi) / 2;
        if (entries()[mid].address <= address) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return {nullptr, 0};
    const Entry& e = entries()[lo - 1];
    return {names() + e.name_offset, address - e.address};
}

}  // namespace mica::ksyms
