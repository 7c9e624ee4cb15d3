// Shared between vm.cc (the address space) and app_copy.cc (the checked copies): not part
// of the interface.
#pragma once

#include <stdint.h>

namespace mica::mm::vm {
// Adds [start, end) to the ranges copies refuse (app_copy.cc). Only reserve_kernel_range
// calls it, once the area tree has the range; panics when the list is full.
void publish_kernel_range(uintptr_t start, uintptr_t end);
}  // namespace mica::mm::vm
