// 16550 UART on COM1, output only (polled). Newlines become CR LF for terminals.
#include <arch/x86_64/io.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uint16_t com1 = 0x3f8;
constexpr uint16_t reg_data = 0, reg_int_enable = 1, reg_fifo = 2, reg_line_ctrl = 3, reg_modem_ctrl = 4,
                   reg_line_status = 5, reg_scratch = 7;
constexpr uint8_t line_status_thr_empty = 0x20;
constexpr uint8_t line_ctrl_dlab = 0x80, line_ctrl_8n1 = 0x03;
constexpr int max_wait = 100000;  // polls before giving up on a stuck transmitter

void put(char c) {
    for (int i = 0; i < max_wait && !(x86::inb(com1 + reg_line_status) & line_status_thr_empty); ++i) {
    }
    x86::outb(com1 + reg_data, static_cast<uint8_t>(c));
}

void write(const char* text, size_t length) { console::write_crlf(text, length, put); }

console::Driver console_driver{"uart16550", write};

bool init() {
    // A missing UART reads back 0xff; the scratch register tells us it is there.
    x86::outb(com1 + reg_scratch, 0x5a);
    if (x86::inb(com1 + reg_scratch) != 0x5a) return false;
    x86::outb(com1 + reg_int_enable, 0);
    x86::outb(com1 + reg_line_ctrl, line_ctrl_dlab);
    x86::outb(com1 + reg_data, 1);  // divisor 1: 115200 baud
    x86::outb(com1 + reg_int_enable, 0);
    x86::outb(com1 + reg_line_ctrl, line_ctrl_8n1);
    x86::outb(com1 + reg_fifo, 0xc7);        // enable and clear FIFOs
    x86::outb(com1 + reg_modem_ctrl, 0x03);  // DTR | RTS
    console::register_driver(console_driver);
    return true;
}
}  // namespace

extern const Driver uart16550_driver{"uart16550", Phase::console, init};

}  // namespace mica::drivers
