// ARM PL011 UART, output only (polled), found through the device tree.
#include <mica/console.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uintptr_t reg_data = 0x00, reg_flags = 0x18;
constexpr uint32_t flag_tx_full = 1 << 5;
constexpr int max_wait = 100000;

volatile uint32_t* base = nullptr;  // set once by init

void put(char c) {
    for (int i = 0; i < max_wait && (base[reg_flags / 4] & flag_tx_full); ++i) {
    }
    base[reg_data / 4] = static_cast<uint8_t>(c);
}

void write(const char* text, size_t length) { console::write_crlf(text, length, put); }

console::Driver console_driver{"pl011", write};

bool init() {
    const fdt::Tree* tree = device_tree();
    if (!tree) return false;
    fdt::Node node = tree->find_compatible("arm,pl011");
    uint64_t address, size;
    if (!node.valid || !tree->reg(node, 0, address, size)) return false;
    base = reinterpret_cast<volatile uint32_t*>(address);
    console::register_driver(console_driver);
    return true;
}
}  // namespace

extern const Driver pl011_driver{"pl011", Phase::console, init};

}  // namespace mica::drivers
