// Reset through the i8042 keyboard controller (command 0xfe pulses the reset line). QEMU
// with -no-reboot and Firecracker both stop the VM on it; the exit status is lost (host 0).
#include <arch/x86_64/io.h>
#include <mica/drivers/registry.h>
#include <mica/power.h>

namespace mica::drivers {
namespace {
constexpr uint16_t command_port = 0x64;
constexpr uint8_t status_input_full = 0x02;
constexpr uint8_t command_reset = 0xfe;
constexpr int max_wait = 100000;

void reset(int) {
    for (int i = 0; i < max_wait && (x86::inb(command_port) & status_input_full); ++i) {
    }
    x86::outb(command_port, command_reset);
}

power::ExitMethod method{"i8042 reset", reset, false};

bool init() {
    power::register_exit_method(method);
    return true;
}
}  // namespace

extern const Driver i8042_reset_driver{"i8042-reset", Phase::platform, init};

}  // namespace mica::drivers
