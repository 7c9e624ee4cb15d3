// The trace file encoder (format.h). No kernel dependencies: also compiled for the host tests.
#include <mica/trace/format.h>
#include <string.h>

namespace mica::trace {
namespace {

constexpr uint32_t crc_polynomial = 0xedb88320;  // zlib's (reflected 0x04c11db7)

struct CrcTable {
    uint32_t entry[256];
    constexpr CrcTable() : entry() {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? crc_polynomial ^ (c >> 1) : c >> 1;
            entry[i] = c;
        }
    }
};
constexpr CrcTable crc_table;

size_t pad8(size_t n) { return (n + record_align - 1) & ~(record_align - 1); }

bool has_backtrace(const RecordHeader& h, bool backtraces, uint16_t sample_id) {
    return backtraces || h.id == sample_id;
}

// The length of string field `i` of a ring record (its word), cut to max_string.
size_t string_length(uint64_t word) { return word > max_string ? max_string : static_cast<size_t>(word); }

}  // namespace

uint32_t crc32(uint32_t crc, const void* data, size_t size) {
    auto* p = static_cast<const uint8_t*>(data);
    crc = ~crc;
    for (size_t i = 0; i < size; ++i) crc = crc_table.entry[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

void Sink::str(const char* s) {
    size_t n = strlen(s);
    if (n > 0xffff) n = 0xffff;
    u16(static_cast<uint16_t>(n));
    bytes(s, n);
}

uint64_t Clock::ns(uint64_t cycles) const {
    uint64_t c = cycles > origin_cycles ? cycles - origin_cycles : 0;
    if (!cycles_per_second) return 0;
    constexpr uint64_t ns_per_s = 1000000000;
    return c / cycles_per_second * ns_per_s + c % cycles_per_second * ns_per_s / cycles_per_second;
}

void write_header(Sink& out, const FileHeader& h, const Descriptor* points, size_t point_count) {
    out.bytes(file_magic, sizeof file_magic);
    out.u32(file_version);
    out.u32(h.cpu_count);
    out.u64(1);  // ns_per_tick: timestamps are already in ns
    out.u64(1);
    out.u64(h.boot_wall_ns);
    char arch[arch_name_size] = {};
    memcpy(arch, h.arch, strnlen(h.arch, sizeof arch - 1));
    out.bytes(arch, sizeof arch);
    out.u64(h.kernel_load_bias);
    out.u32(h.flags);
    out.u32(0);
    out.u32(static_cast<uint32_t>(point_count));
    for (size_t i = 0; i < point_count; ++i) {
        const Descriptor& d = points[i];
        out.u16(static_cast<uint16_t>(i));
        out.u8(d.field_count);
        out.u8(0);
        out.str(d.name);
        for (unsigned f = 0; f < d.field_count; ++f) {
            out.u8(static_cast<uint8_t>(d.fields[f].type));
            out.str(d.fields[f].name);
        }
    }
}

size_t ring_record_size(const Descriptor& d, const size_t* string_lengths, bool with_backtrace, size_t depth) {
    size_t size = sizeof(RecordHeader) + d.field_count * sizeof(uint64_t);
    if (with_backtrace) size += sizeof(uint64_t) * (1 + depth);
    size_t s = 0;
    for (unsigned f = 0; f < d.field_count; ++f) {
        if (d.fields[f].type == FieldType::string) size += pad8(string_lengths[s++]);
    }
    return size;
}

bool next_ring_record(const uint8_t* bytes, size_t size, size_t& offset, const Descriptor* points,
                      size_t point_count, bool backtraces, uint16_t sample_id, RecordView& view) {
    if (offset + sizeof(RecordHeader) > size) return false;
    auto* h = reinterpret_cast<const RecordHeader*>(bytes + offset);
    if (h->id >= point_count || h->size < sizeof(RecordHeader) || h->size % record_align || offset + h->size > size) {
        return false;
    }
    const Descriptor& d = points[h->id];
    auto* words = reinterpret_cast<const uint64_t*>(h + 1);
    size_t need = sizeof(RecordHeader) + d.field_count * sizeof(uint64_t);
    if (need > h->size) return false;
    view.header = h;
    view.words = words;
    view.backtrace_depth = 0;
    view.backtrace = nullptr;
    if (has_backtrace(*h, backtraces, sample_id)) {
        if (need + sizeof(uint64_t) > h->size) return false;
        uint64_t depth = words[d.field_count];
        if (depth > max_backtrace || need + sizeof(uint64_t) * (1 + depth) > h->size) return false;
        view.backtrace_depth = depth;
        view.backtrace = words + d.field_count + 1;
        need += sizeof(uint64_t) * (1 + depth);
    }
    view.strings = reinterpret_cast<const char*>(bytes + offset + need);
    for (unsigned f = 0; f < d.field_count; ++f) {
        if (d.fields[f].type == FieldType::string) need += pad8(string_length(words[f]));
    }
    if (need != h->size) return false;
    offset += h->size;
    return true;
}

size_t write_cpu_section(Sink& out, const SectionInput& in, const Descriptor* points, size_t point_count,
                         const Clock& clock) {
    // Pass 1: the sizes of the string table and the records, and where the valid ones end.
    uint64_t string_bytes = 0, record_bytes = 0;
    size_t records = 0, offset = 0;
    RecordView v;
    while (next_ring_record(in.bytes, in.size, offset, points, point_count, in.backtraces, in.sample_id, v)) {
        const Descriptor& d = points[v.header->id];
        for (unsigned f = 0; f < d.field_count; ++f) {
            if (d.fields[f].type == FieldType::string) string_bytes += string_length(v.words[f]) + 1;
        }
        record_bytes += sizeof(RecordHeader) + d.field_count * sizeof(uint64_t);
        if (v.backtrace) record_bytes += sizeof(uint64_t) * (1 + v.backtrace_depth);
        ++records;
    }
    size_t valid = offset;
    out.u32(cpu_tag);
    out.u32(in.cpu);
    out.u64(in.lost);
    // Pass 2: the string table (each string NUL-terminated), in record order.
    out.u64(string_bytes);
    for (offset = 0; offset < valid;) {
        next_ring_record(in.bytes, valid, offset, points, point_count, in.backtraces, in.sample_id, v);
        const Descriptor& d = points[v.header->id];
        const char* s = v.strings;
        for (unsigned f = 0; f < d.field_count; ++f) {
            if (d.fields[f].type != FieldType::string) continue;
            size_t n = string_length(v.words[f]);
            out.bytes(s, n);
            out.u8(0);
            s += pad8(n);
        }
    }
    // Pass 3: the records, strings replaced by their offsets.
    out.u64(record_bytes);
    uint64_t string_offset = 0;
    for (offset = 0; offset < valid;) {
        next_ring_record(in.bytes, valid, offset, points, point_count, in.backtraces, in.sample_id, v);
        const Descriptor& d = points[v.header->id];
        RecordHeader h = *v.header;
        h.timestamp = clock.ns(h.timestamp);
        h.size = static_cast<uint16_t>(sizeof(RecordHeader) + d.field_count * sizeof(uint64_t) +
                                       (v.backtrace ? sizeof(uint64_t) * (1 + v.backtrace_depth) : 0));
        out.bytes(&h, sizeof h);
        for (unsigned f = 0; f < d.field_count; ++f) {
            if (d.fields[f].type == FieldType::string) {
                out.u64(string_offset);
                string_offset += string_length(v.words[f]) + 1;
            } else {
                out.u64(v.words[f]);
            }
        }
        if (v.backtrace) {
            out.u64(v.backtrace_depth);
            out.bytes(v.backtrace, v.backtrace_depth * sizeof(uint64_t));
        }
    }
    return records;
}

void write_end(Sink& out) {
    uint32_t crc = out.crc();
    out.u32(end_tag);
    out.u32(crc);
}

}  // namespace mica::trace
