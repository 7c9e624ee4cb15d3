// Stopping the machine and reporting an exit status to the host.
//
// Exit statuses (docs/architecture.md "Exit status"): 0 success, 1 in-guest tests failed,
// 64 bad command line (EX_USAGE), 70 kernel panic (EX_SOFTWARE), 71 not enough memory or
// too many CPUs (EX_OSERR). With QEMU's isa-debug-exit the host sees
// (status << 1) | 1; tools/run turns that back into `status`, and accepts it only when the
// console carried the same status in the announcement below (QEMU's own failure status 1
// reads as the guest's 0 otherwise).
#pragma once

namespace mica::power {

namespace exit_status {
inline constexpr int success = 0;
inline constexpr int tests_failed = 1;
inline constexpr int usage = 64;
inline constexpr int panic = 70;
// The machine lacks what the kernel needs to boot: memory, or it has more CPUs than the
// kernel supports (EX_OSERR). The console says what would do.
inline constexpr int resources = 71;
}  // namespace exit_status

// Printed as "mica: exit status N" on a line of its own before the machine stops.
inline constexpr const char* exit_announcement = "mica: exit status ";

struct ExitMethod {
    const char* name;
    // Tries to stop the machine with `status`; returns only if that did not work.
    void (*exit)(int status);
    bool reports_status;  // whether the host can read `status` through this method
    ExitMethod* next = nullptr;
};

// Methods are tried in registration order; the arch's halt() is the last resort.
void register_exit_method(ExitMethod& method);
[[noreturn]] void shutdown(int status);

}  // namespace mica::power
