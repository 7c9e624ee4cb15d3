// PSCI SYSTEM_OFF as an exit method (QEMU and Firecracker stop the VM; the host sees 0).
// The conduit (hvc or smc) comes from the device tree's /psci node.
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/power.h>
#include <string.h>

namespace mica::drivers {
namespace {
constexpr uint64_t psci_system_off = 0x84000008;
bool use_smc = false;  // set once by init

void system_off(int) {
    register uint64_t x0 asm("x0") = psci_system_off;
    if (use_smc) asm volatile("smc #0" : "+r"(x0)::"memory");
    else asm volatile("hvc #0" : "+r"(x0)::"memory");
}

power::ExitMethod method{"psci system-off", system_off, false};

bool init() {
    const fdt::Tree* tree = device_tree();
    if (!tree) return false;
    fdt::Node node = tree->find_compatible("arm,psci-0.2");
    if (!node.valid) node = tree->find_compatible("arm,psci");
    if (!node.valid) return false;
    const char* conduit = tree->property(node, "method").string();
    if (strcmp(conduit, "smc") != 0 && strcmp(conduit, "hvc") != 0) return false;
    use_smc = strcmp(conduit, "smc") == 0;
    power::register_exit_method(method);
    return true;
}
}  // namespace

extern const Driver psci_driver{"psci", Phase::platform, init};

}  // namespace mica::drivers
