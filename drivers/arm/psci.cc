// PSCI SYSTEM_OFF as an exit method (QEMU and Firecracker stop the VM; the host sees 0).
// The conduit (hvc or smc) comes from the device tree's /psci node.
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/power.h>
#include <string.h>

namespace mica::drivers {
namespace {
constexpr uint64_t psci_system_off = 0x84000008, psci_cpu_on64 = 0xc4000003;
constexpr int64_t psci_not_present = -1;  // PSCI's NOT_SUPPORTED
bool use_smc = false;  // set once by init
bool present = false;

int64_t call(uint64_t function, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0) {
    register uint64_t x0 asm("x0") = function;
    register uint64_t x1 asm("x1") = a1;
    register uint64_t x2 asm("x2") = a2;
    register uint64_t x3 asm("x3") = a3;
    if (use_smc) asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"memory");
    else asm volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"memory");
    return static_cast<int64_t>(x0);
}

void system_off(int) { call(psci_system_off); }

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
    present = true;
    power::register_exit_method(method);
    return true;
}
}  // namespace

int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context) {
    return present ? call(psci_cpu_on64, mpidr, entry, context) : psci_not_present;
}

extern const Driver psci_driver{"psci", Phase::platform, init};

}  // namespace mica::drivers
