// Exit status to the host through Arm semihosting (SYS_EXIT_EXTENDED): QEMU exits with the
// status itself. Works only when QEMU runs with -semihosting-config enable=on (tools/run adds
// it); otherwise the HLT traps, arch code resumes with -1, and the next exit method runs.
#include <mica/drivers/registry.h>
#include <mica/power.h>
#include <stdint.h>

extern "C" uint64_t mica_semihosting_call(uint64_t op, const void* arg);

namespace mica::drivers {
namespace {
constexpr uint64_t sys_exit_extended = 0x20;
constexpr uint64_t adp_stopped_application_exit = 0x20026;

void exit(int status) {
    const uint64_t block[2] = {adp_stopped_application_exit, static_cast<uint64_t>(status)};
    mica_semihosting_call(sys_exit_extended, block);
}

power::ExitMethod method{"semihosting", exit, true};

bool init() {
    power::register_exit_method(method);
    return true;  // whether QEMU listens is only known when exiting
}
}  // namespace

extern const Driver semihosting_exit_driver{"semihosting-exit", Phase::platform, init};

}  // namespace mica::drivers
