// ELF64 executables: parse and validate a whole file held in memory once, and describe what
// loading it takes (a LoadPlan). Everything a loader later trusts is checked here — header,
// program header table, every segment's file range and address range, the entry point, the
// interpreter path — so a hostile or truncated file is rejected with a message naming the
// problem instead of making the loader read or map out of bounds. No allocation, no globals:
// the same code runs in the kernel and in host tools, and is fuzzed on the host.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::loader {

// --- The file format (only what loading needs) ------------------------------------------

inline constexpr size_t elf_ident_size = 16;
struct Elf64Header {
    uint8_t ident[elf_ident_size];
    uint16_t type;
    uint16_t machine;
    uint32_t version;
    uint64_t entry;
    uint64_t phoff;  // program header table: file offset
    uint64_t shoff;
    uint32_t flags;
    uint16_t ehsize;
    uint16_t phentsize;
    uint16_t phnum;
    uint16_t shentsize;
    uint16_t shnum;
    uint16_t shstrndx;
};
static_assert(sizeof(Elf64Header) == 64);

struct Elf64ProgramHeader {
    uint32_t type;
    uint32_t flags;  // PF_*
    uint64_t offset;
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};
static_assert(sizeof(Elf64ProgramHeader) == 56);

// e_ident
inline constexpr uint8_t elf_magic[4] = {0x7f, 'E', 'L', 'F'};
inline constexpr size_t ei_class = 4, ei_data = 5, ei_version = 6;
inline constexpr uint8_t elfclass64 = 2;
inline constexpr uint8_t elfdata2lsb = 1;  // little-endian
inline constexpr uint32_t ev_current = 1;  // both e_ident[EI_VERSION] and e_version
// e_type
inline constexpr uint16_t et_exec = 2, et_dyn = 3;
// e_machine
inline constexpr uint16_t em_x86_64 = 62, em_aarch64 = 183;
// p_type
inline constexpr uint32_t pt_load = 1, pt_dynamic = 2, pt_interp = 3, pt_phdr = 6, pt_tls = 7;
inline constexpr uint32_t pt_gnu_stack = 0x6474e551;
// p_flags
inline constexpr uint32_t pf_x = 1, pf_w = 2, pf_r = 4;

// --- The load plan -------------------------------------------------------------------------

inline constexpr int prot_read = 1, prot_write = 2, prot_exec = 4;  // PROT_* values
// Segments are mapped in pages of this size; file offset and address must agree within one.
inline constexpr uint64_t elf_page_size = 4096;
// A cap on e_phnum: real programs have about a dozen, and it bounds the work done on a
// hostile file. PT_LOAD segments are kept in the plan, so they have a smaller cap.
inline constexpr size_t max_program_headers = 128;
inline constexpr size_t max_load_segments = 16;
// Segments must end at or below this address: the lower half of a 48-bit address space,
// which is all a Linux program may use on both architectures (the kernel lives above it).
inline constexpr uint64_t max_user_address = uint64_t{1} << 47;
// Longest PT_INTERP path accepted (Linux's PATH_MAX, including the NUL).
inline constexpr size_t max_interpreter_path = 4096;

enum class ElfKind {
    static_executable,  // ET_EXEC, no PT_INTERP: loaded at its link addresses
    static_pie,         // ET_DYN, no PT_INTERP: loaded at a bias, relocates itself
    dynamic,            // has PT_INTERP: the interpreter is loaded too and does the linking
};
const char* kind_name(ElfKind kind);

struct LoadSegment {
    uint64_t vaddr;   // link-time address (add the load bias for a position-independent file)
    uint64_t memsz;   // bytes in memory; those past filesz are zero (.bss)
    uint64_t offset;  // file offset of the first byte
    uint64_t filesz;
    uint64_t align;   // p_align: 0 or a power of two
    int prot;         // prot_read | prot_write | prot_exec
};

struct TlsTemplate {
    bool present = false;
    uint64_t vaddr = 0;  // the initialisation image (.tdata), filesz bytes, then zeros to memsz
    uint64_t filesz = 0;
    uint64_t memsz = 0;
    uint64_t align = 0;
};

struct LoadPlan {
    ElfKind kind = ElfKind::static_executable;
    bool position_independent = false;  // ET_DYN: may be (and for a PIE, is) loaded at a bias
    uint16_t machine = 0;
    uint64_t entry = 0;  // link-time address, inside an executable segment's file bytes

    LoadSegment segments[max_load_segments] = {};  // sorted by vaddr, not overlapping
    size_t segment_count = 0;
    // Page-rounded span of all PT_LOAD segments: [lowest_address, highest_address). A PIE is
    // placed by reserving highest - lowest bytes and biasing by (reservation - lowest).
    uint64_t lowest_address = 0;
    uint64_t highest_address = 0;

    // AT_PHDR/AT_PHENT/AT_PHNUM. phdr_address is the link-time address of the program header
    // table in memory (from PT_PHDR, else from the PT_LOAD whose file bytes cover e_phoff),
    // or 0 when no segment loads it: the loader must then copy the table somewhere itself.
    uint64_t phdr_address = 0;
    uint64_t phdr_offset = 0;  // e_phoff
    uint16_t phnum = 0;
    uint16_t phentsize = 0;

    TlsTemplate tls;

    bool has_gnu_stack = false;  // PT_GNU_STACK present
    int stack_prot = 0;          // its flags as prot bits; 0 without it (the loader decides)

    // PT_INTERP path (points into the file buffer, NUL-terminated), nullptr when static.
    const char* interpreter = nullptr;
    size_t interpreter_length = 0;  // without the NUL
};

enum class ElfError {
    none,
    null_file,
    truncated_header,              // shorter than the ELF header
    bad_magic,
    not_elf64,                     // EI_CLASS
    not_little_endian,             // EI_DATA
    bad_version,                   // EI_VERSION or e_version
    wrong_machine,
    not_executable,                // e_type neither ET_EXEC nor ET_DYN
    bad_phentsize,
    program_headers_out_of_file,   // e_phoff + e_phnum * e_phentsize beyond the file (or overflowing)
    too_many_program_headers,
    no_load_segment,
    too_many_load_segments,
    filesz_exceeds_memsz,
    segment_out_of_file,           // p_offset + p_filesz beyond the file (or overflowing)
    segments_unordered,            // PT_LOAD not sorted by address, or overlapping
    bad_alignment,                 // p_align not a power of two
    misaligned_segment,            // p_vaddr and p_offset differ modulo the page size
    address_overflow,              // p_vaddr + p_memsz wraps or leaves the user address range
    entry_not_executable,
    bad_interpreter,               // PT_INTERP out of the file, empty, unterminated, repeated
    bad_phdr_segment,              // PT_PHDR not inside a loaded segment, or repeated
    bad_tls_segment,               // PT_TLS inconsistent or repeated
    headers_beyond_prefix,         // parse_elf_prefix: the header, table or path lie past `available`
};
// A short fixed description; the ElfResult message adds the details.
const char* error_name(ElfError error);

struct ElfResult {
    static constexpr size_t max_message = 192;
    ElfError error = ElfError::none;
    // Human-readable: names the check and the offending header and values.
    char message[max_message] = {};
    bool ok() const { return error == ElfError::none; }
};

// Parses and validates the ELF64 executable at [file, file + size) for `expected_machine`
// (em_x86_64 or em_aarch64). Fills `plan` on success; on failure `plan` is left in an
// unspecified state. plan.interpreter points into `file`, so it lives as long as the file.
ElfResult parse_elf(const void* file, size_t size, uint16_t expected_machine, LoadPlan& plan);
// The same from the first `available` bytes of a file of `size` bytes (the loader reads a
// page or two, then each segment straight into place): everything is checked against the
// whole file as above, and the bytes parsed (ELF header, program header table, PT_INTERP
// path) must lie in the prefix, else headers_beyond_prefix (read more and parse again).
ElfResult parse_elf_prefix(const void* prefix, size_t available, size_t size, uint16_t expected_machine,
                           LoadPlan& plan);

}  // namespace mica::loader
