// QEMU isa-debug-exit at port 0xf4: writing v makes QEMU exit with (v << 1) | 1. Without
// the device the write is ignored and the next exit method runs. A process exit status has
// 8 bits, so only statuses up to 127 survive that encoding; the whole status is in the
// "mica: exit status N" line power::shutdown prints first, which tools/run reads back.
#include <arch/x86_64/io.h>
#include <mica/drivers/registry.h>
#include <mica/power.h>

namespace mica::drivers {
namespace {
constexpr uint16_t port = 0xf4;

constexpr int largest_encodable = 127;

power::ExitMethod method{"isa-debug-exit",
                         [](int status) { x86::outl(port, static_cast<uint32_t>(status & largest_encodable)); },
                         true};

bool init() {
    power::register_exit_method(method);
    return true;  // write-only device: presence cannot be probed
}
}  // namespace

extern const Driver isa_debug_exit_driver{"isa-debug-exit", Phase::platform, init};

}  // namespace mica::drivers
