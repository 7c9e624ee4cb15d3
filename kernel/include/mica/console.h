// The kernel console: drivers register an output function, kprintf formats into all of them.
// Serial drivers that can also receive pass what arrives to the input handler (the Linux
// layer's terminal, libc/linux/tty.cc).
#pragma once

#include <stddef.h>

namespace mica::console {

struct Driver {
    const char* name;
    void (*write)(const char* text, size_t length);
    Driver* next = nullptr;
};

// Adds an output; the first registered is the primary console. Until one exists output is
// kept in a small buffer and replayed on registration, so early messages are not lost.
void register_driver(Driver& driver);
void write(const char* text, size_t length);
// Whether the last character written ended a line (or nothing was written yet): a message
// that must start a line of its own (the exit status) adds a line break when not.
bool at_line_start();
// For serial drivers: sends `text` through `put`, turning "\n" into "\r\n" for terminals.
void write_crlf(const char* text, size_t length, void (*put)(char));

// Input. A driver whose device can receive calls set_input_driver() once its receive
// interrupt is attached, and receive() from its interrupt handler with the bytes that
// arrived. They go to the input handler, or are dropped while there is none. The handler
// runs in interrupt context: it must not sleep (it may take spinlocks, echo with write()).
using InputHandler = void (*)(const char* bytes, size_t length);
void set_input_handler(InputHandler handler);
void set_input_driver(const char* name);
// The driver that delivers input, or nullptr: a console without input (debugcon, or no
// interrupt line) never receives anything.
const char* input_driver();
void receive(const char* bytes, size_t length);

}  // namespace mica::console

namespace mica {
int kprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));
}
