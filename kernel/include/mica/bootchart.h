// Boot phases with their cycle-counter stamps, printed by --bootchart in milliseconds from
// the kernel's first instruction.
#pragma once

#include <stdint.h>

namespace mica::bootchart {

// Records that `phase` (a string literal) has just finished.
void mark(const char* phase);
void set_origin(uint64_t entry_cycles);
// The cycle counter at the first instruction (the origin of ns_since_entry).
uint64_t origin_cycles();
// Nanoseconds from the first instruction to now (valid after arch::clock_init()).
uint64_t ns_since_entry();
void print();

}  // namespace mica::bootchart
