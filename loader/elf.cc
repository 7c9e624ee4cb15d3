#include <mica/format.h>
#include <mica/loader/elf.h>
#include <stdarg.h>
#include <string.h>

// The structures are read with the host's byte order; both targets (and every host the unit
// tests run on) are little-endian, which is also the only data encoding accepted.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the ELF reader assumes a little-endian CPU");

namespace mica::loader {
namespace {

constexpr uint64_t page_mask = elf_page_size - 1;

bool power_of_two_or_zero(uint64_t v) { return (v & (v - 1)) == 0; }

// [offset, offset + length) lies inside a file of `size` bytes, computed without overflow.
bool inside_file(uint64_t offset, uint64_t length, size_t size) {
    return offset <= size && length <= size - offset;
}

// [start, start + length) lies inside [outer_start, outer_start + outer_length); both ranges
// are known not to wrap.
bool inside_range(uint64_t start, uint64_t length, uint64_t outer_start, uint64_t outer_length) {
    return start >= outer_start && start - outer_start <= outer_length &&
           length <= outer_length - (start - outer_start);
}

int prot_from_flags(uint32_t flags) {
    return ((flags & pf_r) ? prot_read : 0) | ((flags & pf_w) ? prot_write : 0) |
           ((flags & pf_x) ? prot_exec : 0);
}

const char* machine_name(uint16_t machine) {
    switch (machine) {
    case em_x86_64: return "x86_64";
    case em_aarch64: return "aarch64";
    }
    return "other";
}

const char* segment_name(uint32_t type) {
    switch (type) {
    case pt_load: return "PT_LOAD";
    case pt_interp: return "PT_INTERP";
    case pt_phdr: return "PT_PHDR";
    case pt_tls: return "PT_TLS";
    }
    return "segment";
}

using ull = unsigned long long;  // what %llx expects, whatever uint64_t is on this target

__attribute__((format(printf, 2, 3)))
ElfResult fail(ElfError error, const char* format, ...) {
    ElfResult result;
    result.error = error;
    va_list args;
    va_start(args, format);
    fmt::vsnprintf(result.message, sizeof result.message, format, args);
    va_end(args);
    return result;
}

// The checks shared by every segment whose file bytes are read (PT_LOAD, PT_TLS): filesz
// within memsz, file bytes inside the file, alignment a power of two, no address wrap.
ElfResult check_ranges(const Elf64ProgramHeader& ph, size_t index, size_t size) {
    const char* name = segment_name(ph.type);
    if (ph.filesz > ph.memsz)
        return fail(ElfError::filesz_exceeds_memsz, "program header %zu (%s): p_filesz 0x%llx exceeds p_memsz 0x%llx",
                    index, name, ull(ph.filesz), ull(ph.memsz));
    if (!inside_file(ph.offset, ph.filesz, size))
        return fail(ElfError::segment_out_of_file,
                    "program header %zu (%s): file bytes at offset 0x%llx, size 0x%llx, lie outside the %zu-byte file",
                    index, name, ull(ph.offset), ull(ph.filesz), size);
    if (!power_of_two_or_zero(ph.align))
        return fail(ElfError::bad_alignment, "program header %zu (%s): p_align 0x%llx is not a power of two",
                    index, name, ull(ph.align));
    if (ph.vaddr > max_user_address || ph.memsz > max_user_address - ph.vaddr)
        return fail(ElfError::address_overflow,
                    "program header %zu (%s): p_vaddr 0x%llx + p_memsz 0x%llx ends beyond the user address limit 0x%llx",
                    index, name, ull(ph.vaddr), ull(ph.memsz), ull(max_user_address));
    return {};
}

ElfResult add_load_segment(const Elf64ProgramHeader& ph, size_t index, size_t size, LoadPlan& plan) {
    if (ElfResult r = check_ranges(ph, index, size); !r.ok()) return r;
    // mmap maps whole pages: the byte at p_offset must land at p_vaddr within its page.
    if (((ph.vaddr - ph.offset) & page_mask) != 0)
        return fail(ElfError::misaligned_segment,
                    "program header %zu (PT_LOAD): p_vaddr 0x%llx and p_offset 0x%llx differ modulo the page size 0x%llx",
                    index, ull(ph.vaddr), ull(ph.offset), ull(elf_page_size));
    if (plan.segment_count > 0) {
        // Sorted (the ELF specification requires it) and disjoint, so the span is simply
        // first-to-last and no segment's bytes are overwritten by another's. Two segments may
        // share a page (the loader then maps it with both protections).
        const LoadSegment& previous = plan.segments[plan.segment_count - 1];
        if (ph.vaddr < previous.vaddr)
            return fail(ElfError::segments_unordered,
                        "program header %zu (PT_LOAD): p_vaddr 0x%llx is below the previous PT_LOAD's 0x%llx (not sorted)",
                        index, ull(ph.vaddr), ull(previous.vaddr));
        if (ph.vaddr < previous.vaddr + previous.memsz)
            return fail(ElfError::segments_unordered,
                        "program header %zu (PT_LOAD): p_vaddr 0x%llx overlaps the previous PT_LOAD [0x%llx, 0x%llx)",
                        index, ull(ph.vaddr), ull(previous.vaddr), ull(previous.vaddr + previous.memsz));
    }
    if (plan.segment_count == max_load_segments)
        return fail(ElfError::too_many_load_segments, "more than %zu PT_LOAD segments", max_load_segments);
    plan.segments[plan.segment_count++] = {ph.vaddr, ph.memsz, ph.offset, ph.filesz, ph.align, prot_from_flags(ph.flags)};
    return {};
}

ElfResult set_interpreter(const Elf64ProgramHeader& ph, size_t index, const uint8_t* file, size_t size,
                          size_t available, LoadPlan& plan) {
    if (plan.interpreter)
        return fail(ElfError::bad_interpreter, "program header %zu: a second PT_INTERP", index);
    if (!inside_file(ph.offset, ph.filesz, size))
        return fail(ElfError::bad_interpreter,
                    "program header %zu (PT_INTERP): path at offset 0x%llx, size 0x%llx, lies outside the %zu-byte file",
                    index, ull(ph.offset), ull(ph.filesz), size);
    if (ph.filesz < 2 || ph.filesz > max_interpreter_path)
        return fail(ElfError::bad_interpreter, "program header %zu (PT_INTERP): path size %llu is not within 2..%zu",
                    index, ull(ph.filesz), max_interpreter_path);
    if (!inside_file(ph.offset, ph.filesz, available))
        return fail(ElfError::headers_beyond_prefix,
                    "program header %zu (PT_INTERP): path at offset 0x%llx lies beyond the first %zu bytes read",
                    index, ull(ph.offset), available);
    auto* path = reinterpret_cast<const char*>(file + ph.offset);
    size_t length = strnlen(path, ph.filesz);
    if (length != ph.filesz - 1)
        return fail(ElfError::bad_interpreter,
                    length == ph.filesz ? "program header %zu (PT_INTERP): path is not NUL-terminated"
                                        : "program header %zu (PT_INTERP): path has a NUL before its end",
                    index);
    plan.interpreter = path;
    plan.interpreter_length = length;
    return {};
}

ElfResult set_tls(const Elf64ProgramHeader& ph, size_t index, size_t size, LoadPlan& plan) {
    if (plan.tls.present) return fail(ElfError::bad_tls_segment, "program header %zu: a second PT_TLS", index);
    if (ElfResult r = check_ranges(ph, index, size); !r.ok()) {
        r.error = ElfError::bad_tls_segment;
        return r;
    }
    plan.tls = {true, ph.vaddr, ph.filesz, ph.memsz, ph.align};
    return {};
}

ElfResult check_header(const Elf64Header& h, size_t size, size_t available, uint16_t expected_machine) {
    if (memcmp(h.ident, elf_magic, sizeof elf_magic) != 0)
        return fail(ElfError::bad_magic, "bad magic %02x %02x %02x %02x (expected 7f 'E' 'L' 'F')",
                    h.ident[0], h.ident[1], h.ident[2], h.ident[3]);
    if (h.ident[ei_class] != elfclass64)
        return fail(ElfError::not_elf64, "EI_CLASS is %u, not ELFCLASS64 (%u)", h.ident[ei_class], elfclass64);
    if (h.ident[ei_data] != elfdata2lsb)
        return fail(ElfError::not_little_endian, "EI_DATA is %u, not ELFDATA2LSB (%u, little-endian)",
                    h.ident[ei_data], elfdata2lsb);
    if (h.ident[ei_version] != ev_current || h.version != ev_current)
        return fail(ElfError::bad_version, "EI_VERSION %u / e_version %u, expected %u", h.ident[ei_version],
                    h.version, ev_current);
    if (h.machine != expected_machine)
        return fail(ElfError::wrong_machine, "e_machine is %u (%s), this kernel runs %u (%s)", h.machine,
                    machine_name(h.machine), expected_machine, machine_name(expected_machine));
    if (h.type != et_exec && h.type != et_dyn)
        return fail(ElfError::not_executable, "e_type is %u, neither ET_EXEC (%u) nor ET_DYN (%u)", h.type, et_exec,
                    et_dyn);
    if (h.phnum > max_program_headers)
        return fail(ElfError::too_many_program_headers, "e_phnum is %u, more than the %zu accepted", h.phnum,
                    max_program_headers);
    if (h.phentsize != sizeof(Elf64ProgramHeader))
        return fail(ElfError::bad_phentsize, "e_phentsize is %u, expected %zu", h.phentsize,
                    sizeof(Elf64ProgramHeader));
    // phnum * phentsize is small (capped above), so only the offset can overflow.
    uint64_t table_size = uint64_t{h.phnum} * h.phentsize;
    if (!inside_file(h.phoff, table_size, size))
        return fail(ElfError::program_headers_out_of_file,
                    "program header table at offset 0x%llx, size 0x%llx, lies outside the %zu-byte file",
                    ull(h.phoff), ull(table_size), size);
    if (!inside_file(h.phoff, table_size, available))
        return fail(ElfError::headers_beyond_prefix,
                    "program header table at offset 0x%llx, size 0x%llx, lies beyond the first %zu bytes read",
                    ull(h.phoff), ull(table_size), available);
    return {};
}

// AT_PHDR: PT_PHDR's address when there is one (it must be loaded), else the address where
// the PT_LOAD holding the table's file bytes puts it, else 0.
ElfResult locate_program_headers(bool has_phdr_segment, uint64_t phdr_vaddr, size_t phdr_index, LoadPlan& plan) {
    uint64_t table_size = uint64_t{plan.phnum} * plan.phentsize;
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const LoadSegment& s = plan.segments[i];
        if (has_phdr_segment) {
            if (inside_range(phdr_vaddr, table_size, s.vaddr, s.filesz)) {
                plan.phdr_address = phdr_vaddr;
                return {};
            }
        } else if (inside_range(plan.phdr_offset, table_size, s.offset, s.filesz)) {
            plan.phdr_address = s.vaddr + (plan.phdr_offset - s.offset);
            return {};
        }
    }
    if (has_phdr_segment)
        return fail(ElfError::bad_phdr_segment,
                    "program header %zu (PT_PHDR): table at 0x%llx, size 0x%llx, is not inside a PT_LOAD's file bytes",
                    phdr_index, ull(phdr_vaddr), ull(table_size));
    plan.phdr_address = 0;
    return {};
}

}  // namespace

const char* kind_name(ElfKind kind) {
    switch (kind) {
    case ElfKind::static_executable: return "static executable";
    case ElfKind::static_pie: return "static PIE";
    case ElfKind::dynamic: return "dynamic";
    }
    return "unknown";
}

const char* error_name(ElfError error) {
    switch (error) {
    case ElfError::none: return "no error";
    case ElfError::null_file: return "no file";
    case ElfError::truncated_header: return "file shorter than the ELF header";
    case ElfError::bad_magic: return "not an ELF file";
    case ElfError::not_elf64: return "not a 64-bit ELF file";
    case ElfError::not_little_endian: return "not little-endian";
    case ElfError::bad_version: return "unknown ELF version";
    case ElfError::wrong_machine: return "wrong machine";
    case ElfError::not_executable: return "not an executable (ET_EXEC or ET_DYN)";
    case ElfError::bad_phentsize: return "wrong program header size";
    case ElfError::program_headers_out_of_file: return "program header table outside the file";
    case ElfError::too_many_program_headers: return "too many program headers";
    case ElfError::no_load_segment: return "no PT_LOAD segment";
    case ElfError::too_many_load_segments: return "too many PT_LOAD segments";
    case ElfError::filesz_exceeds_memsz: return "segment file size exceeds its memory size";
    case ElfError::segment_out_of_file: return "segment outside the file";
    case ElfError::segments_unordered: return "PT_LOAD segments unsorted or overlapping";
    case ElfError::bad_alignment: return "segment alignment not a power of two";
    case ElfError::misaligned_segment: return "segment address and offset differ within a page";
    case ElfError::address_overflow: return "segment address range overflows";
    case ElfError::entry_not_executable: return "entry point outside the executable segments";
    case ElfError::bad_interpreter: return "bad PT_INTERP";
    case ElfError::bad_phdr_segment: return "bad PT_PHDR";
    case ElfError::bad_tls_segment: return "bad PT_TLS";
    case ElfError::headers_beyond_prefix: return "headers beyond the part of the file read";
    }
    return "unknown error";
}

ElfResult parse_elf(const void* file, size_t size, uint16_t expected_machine, LoadPlan& plan) {
    return parse_elf_prefix(file, size, size, expected_machine, plan);
}

ElfResult parse_elf_prefix(const void* prefix, size_t available, size_t size, uint16_t expected_machine,
                           LoadPlan& plan) {
    plan = LoadPlan{};
    const void* file = prefix;
    if (!file) return fail(ElfError::null_file, "no file");
    if (available > size) available = size;
    auto* bytes = static_cast<const uint8_t*>(file);
    if (size < sizeof(Elf64Header))
        return fail(ElfError::truncated_header, "file is %zu bytes, shorter than the %zu-byte ELF header", size,
                    sizeof(Elf64Header));
    if (available < sizeof(Elf64Header))
        return fail(ElfError::headers_beyond_prefix, "only %zu bytes read, less than the %zu-byte ELF header", available,
                    sizeof(Elf64Header));
    // Copies, not casts: the buffer need not be aligned for the structures.
    Elf64Header header;
    memcpy(&header, bytes, sizeof header);
    if (ElfResult r = check_header(header, size, available, expected_machine); !r.ok()) return r;

    plan.machine = header.machine;
    plan.entry = header.entry;
    plan.position_independent = header.type == et_dyn;
    plan.phdr_offset = header.phoff;
    plan.phnum = header.phnum;
    plan.phentsize = header.phentsize;

    bool has_phdr_segment = false;
    uint64_t phdr_vaddr = 0;
    size_t phdr_index = 0;
    for (size_t i = 0; i < header.phnum; ++i) {
        Elf64ProgramHeader ph;
        memcpy(&ph, bytes + header.phoff + i * sizeof ph, sizeof ph);
        ElfResult r;
        switch (ph.type) {
        case pt_load: r = add_load_segment(ph, i, size, plan); break;
        case pt_interp: r = set_interpreter(ph, i, bytes, size, available, plan); break;
        case pt_tls: r = set_tls(ph, i, size, plan); break;
        case pt_phdr:
            if (has_phdr_segment) return fail(ElfError::bad_phdr_segment, "program header %zu: a second PT_PHDR", i);
            has_phdr_segment = true;
            phdr_vaddr = ph.vaddr;
            phdr_index = i;
            break;
        case pt_gnu_stack:
            plan.has_gnu_stack = true;
            plan.stack_prot = prot_from_flags(ph.flags);
            break;
        default: break;  // PT_DYNAMIC, PT_NOTE, PT_GNU_RELRO, ...: the libc or ld.so reads them
        }
        if (!r.ok()) return r;
    }
    if (plan.segment_count == 0) return fail(ElfError::no_load_segment, "no PT_LOAD among %u program headers", header.phnum);

    const LoadSegment& first = plan.segments[0];
    const LoadSegment& last = plan.segments[plan.segment_count - 1];
    // Sorted and disjoint: the last segment ends highest. max_user_address is page-aligned,
    // so rounding up stays within it.
    plan.lowest_address = first.vaddr & ~page_mask;
    plan.highest_address = (last.vaddr + last.memsz + page_mask) & ~page_mask;

    bool entry_ok = false;
    for (size_t i = 0; i < plan.segment_count && !entry_ok; ++i) {
        const LoadSegment& s = plan.segments[i];
        entry_ok = (s.prot & prot_exec) && plan.entry >= s.vaddr && plan.entry - s.vaddr < s.filesz;
    }
    if (!entry_ok)
        return fail(ElfError::entry_not_executable, "entry point 0x%llx is not in the file bytes of an executable PT_LOAD",
                    ull(plan.entry));

    if (ElfResult r = locate_program_headers(has_phdr_segment, phdr_vaddr, phdr_index, plan); !r.ok()) return r;

    // The libc copies the TLS image from memory at its address, so it must be loaded.
    if (plan.tls.present && plan.tls.filesz > 0) {
        bool loaded = false;
        for (size_t i = 0; i < plan.segment_count && !loaded; ++i)
            loaded = inside_range(plan.tls.vaddr, plan.tls.filesz, plan.segments[i].vaddr, plan.segments[i].filesz);
        if (!loaded)
            return fail(ElfError::bad_tls_segment, "PT_TLS image at 0x%llx, size 0x%llx, is not inside a PT_LOAD's file bytes",
                        ull(plan.tls.vaddr), ull(plan.tls.filesz));
    }

    plan.kind = plan.interpreter ? ElfKind::dynamic
                                 : (plan.position_independent ? ElfKind::static_pie : ElfKind::static_executable);
    return {};
}

}  // namespace mica::loader
