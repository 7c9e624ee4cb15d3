// The ARM PL031 real-time clock named in the device tree (QEMU virt: 0x9010000): its data
// register counts seconds since the Unix epoch. Read once at boot for the wall clock.
#include <arch/arch.h>
#include <mica/clock.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uint64_t reg_data = 0x000;

bool init() {
    const fdt::Tree* tree = device_tree();
    if (!tree) return false;
    fdt::Node node = tree->find_compatible("arm,pl031");
    uint64_t address, size;
    if (!node.valid || !tree->reg(node, 0, address, size)) return false;
    uint32_t seconds = *reinterpret_cast<volatile uint32_t*>(address + reg_data);
    clock::set_wall_clock(seconds, arch::cycles(), "pl031");
    return true;
}
}  // namespace

extern const Driver pl031_driver{"pl031", Phase::bus, init};

}  // namespace mica::drivers
