// ARM PL011 UART, found through the device tree: polled output from the console phase on,
// and interrupt-driven input from the devices phase, once the GIC routes the node's SPI: the
// handler drains the receive FIFO into console::receive().
#include <mica/console.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/irq.h>
#include <mica/pci/fdt_host.h>

namespace mica::drivers {
namespace {
constexpr uintptr_t reg_data = 0x00, reg_flags = 0x18, reg_int_mask = 0x38, reg_int_clear = 0x44;
constexpr uint32_t flag_rx_empty = 1 << 4, flag_tx_full = 1 << 5;
constexpr uint32_t int_rx = 1 << 4, int_rx_timeout = 1 << 6;
constexpr uint32_t data_byte = 0xff;        // the rest are error flags
constexpr size_t max_drain = 64;            // bytes per console::receive call
constexpr uint32_t gic_interrupt_cells = 3;
constexpr int max_wait = 100000;

volatile uint32_t* base = nullptr;  // set once by init
fdt::Node uart_node;                // the same

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
    uart_node = node;
    console::register_driver(console_driver);
    return true;
}

// Receive: until the FIFO is empty (the interrupt is level-triggered and drops with it).
void receive_interrupt(unsigned, void*) {
    for (;;) {
        char bytes[max_drain];
        size_t n = 0;
        while (n < max_drain && !(base[reg_flags / 4] & flag_rx_empty)) {
            bytes[n++] = static_cast<char>(base[reg_data / 4] & data_byte);
        }
        base[reg_int_clear / 4] = int_rx | int_rx_timeout;
        if (n == 0) return;
        console::receive(bytes, n);
    }
}

irq::Binding binding;  // set once by init_input

bool init_input() {
    const fdt::Tree* tree = device_tree();
    if (!base || !tree) return false;
    fdt::Property irqs = tree->property(uart_node, "interrupts");
    unsigned line;
    irq::LineConfig config;
    if (irqs.length != gic_interrupt_cells * 4 ||
        !pci::decode_gic_interrupt(irqs.u32(0), irqs.u32(1), irqs.u32(2), line, config)) {
        if (verbose()) kprintf("mica: pl011: no usable interrupts property: console input off\n");
        return false;
    }
    if (int e = irq::attach_line(line, config, receive_interrupt, nullptr, binding)) {
        if (verbose()) kprintf("mica: pl011: no receive interrupt (SPI %u: error %d): console input off\n", line, -e);
        return false;
    }
    // Bytes that arrived before this raise the interrupt as soon as it is unmasked.
    base[reg_int_mask / 4] = int_rx | int_rx_timeout;
    console::set_input_driver("pl011");
    return true;
}
}  // namespace

extern const Driver pl011_driver{"pl011", Phase::console, init};
extern const Driver pl011_input_driver{"pl011-input", Phase::devices, init_input};

}  // namespace mica::drivers
