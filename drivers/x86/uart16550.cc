// 16550 UART on COM1: polled output (newlines become CR LF for terminals) from the console
// phase on, and interrupt-driven input from the devices phase, once the I/O APIC routes
// ISA IRQ 4: the handler drains the receive FIFO into console::receive().
#include <arch/x86_64/io.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>
#include <mica/irq.h>
#include "isa_irq.h"

namespace mica::drivers {
namespace {
constexpr uint16_t com1 = 0x3f8;
constexpr uint16_t reg_data = 0, reg_int_enable = 1, reg_fifo = 2, reg_line_ctrl = 3, reg_modem_ctrl = 4,
                   reg_line_status = 5, reg_scratch = 7;
constexpr uint8_t line_status_data_ready = 0x01, line_status_thr_empty = 0x20;
constexpr uint8_t int_enable_received = 0x01;
constexpr uint8_t fifo_enable_clear_trigger1 = 0x07;   // FIFOs on and cleared, receive interrupt per byte
constexpr uint8_t modem_dtr_rts = 0x03, modem_out2 = 0x08;  // OUT2 gates the interrupt on PCs
constexpr unsigned com1_isa_irq = 4;
constexpr size_t max_drain = 64;  // bytes per console::receive call (the FIFO holds 16)

constexpr uint8_t line_ctrl_dlab = 0x80, line_ctrl_8n1 = 0x03;
constexpr int max_wait = 100000;  // polls before giving up on a stuck transmitter

void put(char c) {
    for (int i = 0; i < max_wait && !(x86::inb(com1 + reg_line_status) & line_status_thr_empty); ++i) {
    }
    x86::outb(com1 + reg_data, static_cast<uint8_t>(c));
}

void write(const char* text, size_t length) { console::write_crlf(text, length, put); }

console::Driver console_driver{"uart16550", write};
bool present = false;  // set once by init

bool init() {
    // A missing UART reads back 0xff; the scratch register tells us it is there.
    x86::outb(com1 + reg_scratch, 0x5a);
    if (x86::inb(com1 + reg_scratch) != 0x5a) return false;
    x86::outb(com1 + reg_int_enable, 0);
    x86::outb(com1 + reg_line_ctrl, line_ctrl_dlab);
    x86::outb(com1 + reg_data, 1);  // divisor 1: 115200 baud
    x86::outb(com1 + reg_int_enable, 0);
    x86::outb(com1 + reg_line_ctrl, line_ctrl_8n1);
    x86::outb(com1 + reg_fifo, fifo_enable_clear_trigger1);
    x86::outb(com1 + reg_modem_ctrl, modem_dtr_rts);
    console::register_driver(console_driver);
    present = true;
    return true;
}

// Receive: until the FIFO is empty, in pieces of up to max_drain bytes. The line is
// edge-triggered, so the interrupt must not end with bytes left (no new edge would come).
void receive_interrupt(unsigned, void*) {
    for (;;) {
        char bytes[max_drain];
        size_t n = 0;
        while (n < max_drain && (x86::inb(com1 + reg_line_status) & line_status_data_ready)) {
            bytes[n++] = static_cast<char>(x86::inb(com1 + reg_data));
        }
        if (n == 0) return;
        console::receive(bytes, n);
    }
}

irq::Binding binding;  // set once by init_input

bool init_input() {
    if (!present) return false;
    irq::LineConfig config{irq::Trigger::edge, irq::Polarity::high};
    unsigned line = x86_isa::gsi(com1_isa_irq, config);
    if (int e = irq::attach_line(line, config, receive_interrupt, nullptr, binding)) {
        if (verbose()) kprintf("mica: uart16550: no receive interrupt (GSI %u: error %d): console input off\n", line, -e);
        return false;
    }
    // Bytes that arrived before this raise the interrupt as soon as it is enabled.
    x86::outb(com1 + reg_modem_ctrl, modem_dtr_rts | modem_out2);
    x86::outb(com1 + reg_int_enable, int_enable_received);
    console::set_input_driver("uart16550");
    return true;
}
}  // namespace

extern const Driver uart16550_driver{"uart16550", Phase::console, init};
extern const Driver uart16550_input_driver{"uart16550-input", Phase::devices, init_input};

}  // namespace mica::drivers
