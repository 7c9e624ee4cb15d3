#include <arch/arch.h>
#include <mica/bootchart.h>
#include <mica/console.h>

namespace mica::bootchart {
namespace {
struct Mark {
    const char* phase;
    uint64_t cycles;
};
// Owned here, written only by the boot CPU during boot.
constexpr int max_marks = 32;
Mark marks[max_marks];
int mark_count = 0;
uint64_t origin = 0;

uint64_t to_ns(uint64_t cycles) {
    uint64_t hz = arch::cycles_per_second();
    if (!hz) return 0;
    // Split to avoid overflowing 64 bits for long uptimes at GHz rates.
    return cycles / hz * 1000000000ull + cycles % hz * 1000000000ull / hz;
}
}  // namespace

void set_origin(uint64_t entry_cycles) { origin = entry_cycles; }
uint64_t origin_cycles() { return origin; }

void mark(const char* phase) {
    if (mark_count < max_marks) marks[mark_count++] = Mark{phase, arch::cycles()};
}

uint64_t ns_since_entry() { return to_ns(arch::cycles() - origin); }

void print() {
    kprintf("bootchart: phases from the first kernel instruction (clock: %s)\n", arch::clock_source());
    uint64_t previous = origin;
    for (int i = 0; i < mark_count; ++i) {
        uint64_t at = to_ns(marks[i].cycles - origin) / 1000;
        uint64_t took = to_ns(marks[i].cycles - previous) / 1000;
        kprintf("  %-22s at %4llu.%03llu ms  (+%llu.%03llu ms)\n", marks[i].phase,
                (unsigned long long)(at / 1000), (unsigned long long)(at % 1000),
                (unsigned long long)(took / 1000), (unsigned long long)(took % 1000));
        previous = marks[i].cycles;
    }
}

}  // namespace mica::bootchart
