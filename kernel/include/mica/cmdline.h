// Kernel command line: `--option[=value] ... [--] application arguments`.
// Words are separated by blanks; single or double quotes group words and a backslash escapes
// the next character. Options come first; the first word that does not start with "--" (or
// the word after a bare "--") starts the application's arguments. Host-testable: no globals,
// no allocation (the text is split in place).
//
// Hypervisor words: QEMU microvm and Firecracker append words of their own to whatever
// command line they were given (`virtio_mmio.device=512@0xfeb00e00:12`), so they land after
// the application's arguments. Options marked `hypervisor_word` are written `name=value`
// without dashes and are recognised wherever they appear, even after "--"; they are applied
// like options and never reach the application.
#pragma once

#include <stddef.h>

namespace mica::cmdline {

struct Option {
    const char* name;              // without the leading "--"
    const char* value_name;        // nullptr: a flag that takes no value
    const char* help;
    const char* const* choices;    // nullptr-terminated allowed values, or nullptr for any
    // Applies the option; returns nullptr, or a message saying what is wrong with `value`.
    const char* (*apply)(const char* value);
    // A word a hypervisor appends (`name=value`, no dashes, anywhere on the line).
    bool hypervisor_word = false;
};

// Several subsystems contribute options: the parser takes a list of tables, searched in order.
struct OptionTable {
    const Option* options;
    size_t count;
};

struct Result {
    static constexpr size_t max_args = 64;
    static constexpr size_t max_error = 512;
    bool ok = false;
    char error[max_error] = {};
    char* args[max_args + 1] = {};  // application arguments, nullptr-terminated
    size_t arg_count = 0;
};

// Splits `text` in place and applies every option in order, stopping at the first problem.
void parse(char* text, const OptionTable* tables, size_t table_count, Result& result);
inline void parse(char* text, const Option* options, size_t option_count, Result& result) {
    const OptionTable table{options, option_count};
    parse(text, &table, 1, result);
}

// Writes the option list, one per line, through `out` (a printf-like function).
void print_help(const OptionTable* tables, size_t table_count, int (*out)(const char* format, ...));
inline void print_help(const Option* options, size_t option_count, int (*out)(const char* format, ...)) {
    const OptionTable table{options, option_count};
    print_help(&table, 1, out);
}

}  // namespace mica::cmdline
