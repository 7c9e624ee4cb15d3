// x86_64 secondary CPUs (INIT/SIPI) are not started yet: the boot CPU runs alone.
#include <arch/arch.h>

namespace mica::arch {

bool start_cpu(unsigned, uint64_t, uintptr_t, uintptr_t) { return false; }
void clock_init_cpu() {}

}  // namespace mica::arch
