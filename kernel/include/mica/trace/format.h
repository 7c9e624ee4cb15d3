// The trace file (docs/tracing.md "The trace file") and the way ring records become it.
// Host-testable: tests/unit/test_trace_format.cc builds files and decodes them again.
//
// A record in a ring is the file's record with two differences: its timestamp is in cycles,
// and a string field holds the string's length while the bytes follow the record's words
// (and backtrace), padded to 8. The encoder moves the strings into the CPU section's string
// table, rewrites the field as the string's offset there and the timestamp in ns.
#pragma once

#include <mica/trace/ring.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::trace {

enum class FieldType : uint8_t { u64 = 1, s64 = 2, hex = 3, string = 4, result = 5 };

inline constexpr unsigned max_fields = 8;
inline constexpr unsigned max_string = 255;      // longer strings are cut
inline constexpr unsigned max_backtrace = 16;    // frames kept per record

struct Field {
    FieldType type;
    const char* name;
};

struct Descriptor {
    const char* name;       // dotted: "sched.switch"
    uint8_t field_count;
    Field fields[max_fields];
};

inline constexpr char file_magic[8] = {'M', 'I', 'C', 'A', 'T', 'R', 'C', '1'};
inline constexpr uint32_t file_version = 1;
inline constexpr uint32_t cpu_tag = 0x00555043;  // "CPU\0"
inline constexpr uint32_t end_tag = 0x00444e45;  // "END\0"
inline constexpr uint32_t flag_backtraces = 1u << 0;
inline constexpr uint32_t flag_profile = 1u << 1;
inline constexpr size_t arch_name_size = 16;

// zlib's CRC-32 (the trace file's end, the console frames).
uint32_t crc32(uint32_t crc, const void* data, size_t size);

// Writes bytes somewhere (the console frames, a host buffer), keeping the CRC and the count.
class Sink {
public:
    using Write = void (*)(void* context, const void* data, size_t size);
    Sink(Write write, void* context) : write_(write), context_(context) {}
    void bytes(const void* data, size_t size) {
        crc_ = crc32(crc_, data, size);
        count_ += size;
        write_(context_, data, size);
    }
    void u8(uint8_t v) { bytes(&v, 1); }
    void u16(uint16_t v) { bytes(&v, 2); }
    void u32(uint32_t v) { bytes(&v, 4); }
    void u64(uint64_t v) { bytes(&v, 8); }
    void str(const char* s);
    uint32_t crc() const { return crc_; }
    uint64_t count() const { return count_; }

private:
    Write write_;
    void* context_;
    uint32_t crc_ = 0;
    uint64_t count_ = 0;
};

struct FileHeader {
    uint32_t cpu_count;
    uint64_t boot_wall_ns;
    const char* arch;
    uint64_t kernel_load_bias;
    uint32_t flags;
};
void write_header(Sink& out, const FileHeader& header, const Descriptor* points, size_t point_count);

// Converts ring timestamps (cycles) to ns since kernel entry.
struct Clock {
    uint64_t origin_cycles;
    uint64_t cycles_per_second;
    uint64_t ns(uint64_t cycles) const;
};

// One CPU's section from `bytes` (a ring snapshot: whole records, oldest first). Records with
// an unknown id or a size that does not add up end the section (they cannot come from the
// writer; a damaged buffer is cut there, never decoded). `backtraces`: the ring records carry
// a backtrace (the file's flag bit 0); profile samples (`sample_id`) always do.
struct SectionInput {
    uint32_t cpu;
    uint64_t lost;
    const uint8_t* bytes;
    size_t size;
    bool backtraces;
    uint16_t sample_id;
};
// Returns the number of records written.
size_t write_cpu_section(Sink& out, const SectionInput& in, const Descriptor* points, size_t point_count,
                         const Clock& clock);
void write_end(Sink& out);

// The size of a ring record of tracepoint `d` with `string_lengths` (each already cut to
// max_string) and a backtrace of `depth` frames when `with_backtrace`.
size_t ring_record_size(const Descriptor& d, const size_t* string_lengths, bool with_backtrace, size_t depth);

// Walks a ring snapshot's records, checking each against the descriptors; false at the end
// or at the first record that is not whole and valid.
struct RecordView {
    const RecordHeader* header;
    const uint64_t* words;      // field_count words
    size_t backtrace_depth;     // 0 when there is none
    const uint64_t* backtrace;
    const char* strings;        // the inline string bytes (each padded to 8)
};
bool next_ring_record(const uint8_t* bytes, size_t size, size_t& offset, const Descriptor* points,
                      size_t point_count, bool backtraces, uint16_t sample_id, RecordView& view);

}  // namespace mica::trace
