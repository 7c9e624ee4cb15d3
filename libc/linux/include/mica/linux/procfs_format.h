// Text of the /proc files, in Linux's formats: pure formatting into caller buffers, so it is
// host-tested; procfs.cc gathers the numbers in the kernel. Each function appends to a Text
// and never writes past its capacity (overflowed() says the output was cut).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::abi {

class Text {
public:
    Text(char* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {
        if (capacity_) buffer_[0] = '\0';
    }
    void append(const char* format, ...) __attribute__((format(printf, 2, 3)));
    void pad_to(size_t column);  // spaces up to `column` of the current line
    const char* data() const { return buffer_; }
    size_t length() const { return length_; }
    bool overflowed() const { return overflowed_; }

private:
    char* buffer_;
    size_t capacity_;
    size_t length_ = 0;
    size_t line_start_ = 0;
    bool overflowed_ = false;
};

// /proc/meminfo: sizes in bytes, printed in kB as "MemTotal:       1234 kB".
struct MemInfo {
    uint64_t total;
    uint64_t free;
    uint64_t available;
    uint64_t anonymous;  // application pages populated (AnonPages)
};
void format_meminfo(Text& out, const MemInfo& info);

// One /proc/self/maps line: "start-end perms offset dev inode", the name padded to
// column 73 as Linux's show_map_vma does. `name` may be nullptr (anonymous memory).
struct MapsLine {
    uint64_t start, end;
    bool read, write, execute, shared;
    const char* name;
};
void format_maps_line(Text& out, const MapsLine& line);

// One /proc/cpuinfo block (followed by a blank line).
void format_cpuinfo(Text& out, unsigned processor, const char* model);

}  // namespace mica::abi
