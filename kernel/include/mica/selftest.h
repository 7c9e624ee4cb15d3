// Boot-time self tests (CONFIG_TEST_OPTIONS), driven by the boot tests in tests/boot.
#pragma once

namespace mica::selftest {

// Crashes the kernel the way `kind` names (arch fault kinds, "panic", "heap-double-free").
[[noreturn]] void fault(const char* kind);
// Arms a 1 ms one-shot timer interrupt and waits for it; true when it arrived in time.
bool timer_interrupt();

}  // namespace mica::selftest
