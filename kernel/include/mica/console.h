// The kernel console: drivers register an output function, kprintf formats into all of them.
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

}  // namespace mica::console

namespace mica {
int kprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));
}
