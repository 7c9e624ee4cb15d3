// QEMU isa-debugcon (port 0xe9): every byte written appears on the host, no status to poll.
#include <arch/x86_64/io.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>

namespace mica::drivers {
namespace {
constexpr uint16_t port = 0xe9;
constexpr uint8_t present_signature = 0xe9;  // QEMU reads back the port number

void write(const char* text, size_t length) {
    for (size_t i = 0; i < length; ++i) x86::outb(port, static_cast<uint8_t>(text[i]));
}

console::Driver console_driver{"debugcon", write};

bool init() {
    if (x86::inb(port) != present_signature) return false;
    console::register_driver(console_driver);
    return true;
}
}  // namespace

extern const Driver debugcon_driver{"debugcon", Phase::console, init};

}  // namespace mica::drivers
