#include <mica/format.h>
#include <mica/linux/procfs_format.h>
#include <stdarg.h>
#include <string.h>

namespace mica::abi {

void Text::append(const char* format, ...) {
    va_list args;
    va_start(args, format);
    size_t room = capacity_ - length_;
    int n = fmt::vsnprintf(buffer_ + length_, room, format, args);
    va_end(args);
    if (n < 0) return;
    if (static_cast<size_t>(n) >= room) {
        overflowed_ = true;
        length_ = capacity_ ? capacity_ - 1 : 0;
    } else {
        length_ += static_cast<size_t>(n);
    }
    // Track where the current line starts, for pad_to.
    for (size_t i = length_; i > line_start_; --i) {
        if (buffer_[i - 1] == '\n') {
            line_start_ = i;
            break;
        }
    }
}

void Text::pad_to(size_t column) {
    size_t current = length_ - line_start_;
    if (current < column) append("%*s", static_cast<int>(column - current), "");
}

void format_meminfo(Text& out, const MemInfo& info) {
    struct Row {
        const char* name;
        uint64_t bytes;
    };
    const Row rows[] = {
        {"MemTotal", info.total},     {"MemFree", info.free},       {"MemAvailable", info.available},
        {"Buffers", 0},               {"Cached", 0},                {"SwapCached", 0},
        {"Active", info.anonymous},   {"Inactive", 0},              {"SwapTotal", 0},
        {"SwapFree", 0},              {"Dirty", 0},                 {"Writeback", 0},
        {"AnonPages", info.anonymous}, {"Mapped", 0},               {"Shmem", 0},
    };
    // Linux's show_val_kb: the name and colon left-aligned in 16 columns, the number right-
    // aligned in 8 (wider numbers push the line), then " kB".
    char label[32];
    for (const Row& row : rows) {
        fmt::snprintf(label, sizeof(label), "%s:", row.name);
        out.append("%-16s%8llu kB\n", label, static_cast<unsigned long long>(row.bytes / 1024));
    }
}

void format_maps_line(Text& out, const MapsLine& line) {
    out.append("%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu ", static_cast<unsigned long long>(line.start),
               static_cast<unsigned long long>(line.end), line.read ? 'r' : '-', line.write ? 'w' : '-',
               line.execute ? 'x' : '-', line.shared ? 's' : 'p', 0ull, 0u, 0u, 0ull);
    if (line.name) {
        // seq_setwidth(25 + 6 * sizeof(void*) - 1) then seq_pad(' '): column 72, a space.
        out.pad_to(72);
        out.append(" %s", line.name);
    }
    out.append("\n");
}

void format_cpuinfo(Text& out, unsigned processor, const char* model) {
    out.append("processor\t: %u\n", processor);
    out.append("model name\t: %s\n\n", model && *model ? model : "unknown");
}

}  // namespace mica::abi
