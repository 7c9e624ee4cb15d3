// The ELF64 reader: one synthetic file per validation rule, real executables from every
// toolchain Mica targets (checked against readelf), and thousands of corrupted copies that
// must each be either rejected with a message or parsed into a plan that keeps every promise
// the loader relies on.
#include <gtest/gtest.h>
#include <mica/loader/elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace mica::loader;

namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t text_address = 0x400000, data_address = 0x601000;
constexpr size_t file_size = 0x2000;

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Elf64ProgramHeader load(uint64_t offset, uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint32_t flags,
                        uint64_t align = page) {
    return {pt_load, flags, offset, vaddr, vaddr, filesz, memsz, align};
}

// A small valid static executable: the headers and code in a read/execute segment at
// 0x400000, data and bss in a read/write one. Tests break one thing at a time.
struct SyntheticElf {
    Elf64Header header{};
    std::vector<Elf64ProgramHeader> headers;
    std::vector<uint8_t> contents = std::vector<uint8_t>(file_size);

    SyntheticElf() {
        memcpy(header.ident, elf_magic, sizeof elf_magic);
        header.ident[ei_class] = elfclass64;
        header.ident[ei_data] = elfdata2lsb;
        header.ident[ei_version] = ev_current;
        header.type = et_exec;
        header.machine = em_x86_64;
        header.version = ev_current;
        header.entry = text_address + 0x200;
        header.phoff = sizeof(Elf64Header);
        header.ehsize = sizeof(Elf64Header);
        header.phentsize = sizeof(Elf64ProgramHeader);
        headers.push_back(load(0, text_address, 0x1000, 0x1000, pf_r | pf_x));
        headers.push_back(load(0x1000, data_address, 0x100, 0x3000, pf_r | pf_w));
    }
    // Puts a string into the file at `offset` (past the program header table).
    void put(uint64_t offset, const void* data, size_t length) { memcpy(contents.data() + offset, data, length); }
    std::vector<uint8_t> bytes() const {
        std::vector<uint8_t> out = contents;
        Elf64Header h = header;
        if (h.phnum == 0) h.phnum = static_cast<uint16_t>(headers.size());
        memcpy(out.data(), &h, sizeof h);
        size_t table = sizeof h;
        for (const auto& ph : headers) {
            if (table + sizeof ph > out.size()) break;
            memcpy(out.data() + table, &ph, sizeof ph);
            table += sizeof ph;
        }
        return out;
    }
};

ElfResult parse(const std::vector<uint8_t>& bytes, LoadPlan& plan, uint16_t machine = em_x86_64) {
    return parse_elf(bytes.data(), bytes.size(), machine, plan);
}

ElfResult parse(const SyntheticElf& elf, LoadPlan& plan, uint16_t machine = em_x86_64) {
    return parse(elf.bytes(), plan, machine);
}

// Parses and expects `error` with a message containing `fragment`.
void expect_rejected(const std::vector<uint8_t>& bytes, ElfError error, const char* fragment,
                     uint16_t machine = em_x86_64) {
    LoadPlan plan;
    ElfResult r = parse(bytes, plan, machine);
    EXPECT_EQ(r.error, error) << "got \"" << r.message << "\"";
    EXPECT_NE(strstr(r.message, fragment), nullptr) << "message \"" << r.message << "\" lacks \"" << fragment << "\"";
}
void expect_rejected(const SyntheticElf& elf, ElfError error, const char* fragment, uint16_t machine = em_x86_64) {
    expect_rejected(elf.bytes(), error, fragment, machine);
}

bool power_of_two_or_zero(uint64_t v) { return (v & (v - 1)) == 0; }
bool inside(uint64_t start, uint64_t length, uint64_t outer, uint64_t outer_length) {
    return start >= outer && start - outer <= outer_length && length <= outer_length - (start - outer);
}

// Everything a loader may assume about a plan parse_elf accepted for `file`.
void expect_plan_invariants(const LoadPlan& plan, const uint8_t* file, size_t size, uint16_t machine) {
    ASSERT_GE(plan.segment_count, 1u);
    ASSERT_LE(plan.segment_count, max_load_segments);
    EXPECT_EQ(plan.machine, machine);
    EXPECT_LE(plan.phnum, max_program_headers);
    EXPECT_EQ(plan.phentsize, sizeof(Elf64ProgramHeader));
    EXPECT_TRUE(inside(plan.phdr_offset, uint64_t{plan.phnum} * plan.phentsize, 0, size));
    bool entry_found = false;
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const LoadSegment& s = plan.segments[i];
        EXPECT_LE(s.filesz, s.memsz);
        EXPECT_TRUE(inside(s.offset, s.filesz, 0, size));
        EXPECT_TRUE(power_of_two_or_zero(s.align));
        EXPECT_EQ((s.vaddr - s.offset) % page, 0u);
        EXPECT_LE(s.vaddr, max_user_address);
        EXPECT_LE(s.memsz, max_user_address - s.vaddr);
        EXPECT_EQ(s.prot & ~(prot_read | prot_write | prot_exec), 0);
        if (i > 0) {
            EXPECT_GE(s.vaddr, plan.segments[i - 1].vaddr + plan.segments[i - 1].memsz);
        }
        EXPECT_GE(s.vaddr, plan.lowest_address);
        EXPECT_LE(s.vaddr + s.memsz, plan.highest_address);
        if ((s.prot & prot_exec) && plan.entry >= s.vaddr && plan.entry < s.vaddr + s.filesz) entry_found = true;
    }
    EXPECT_TRUE(entry_found) << "entry 0x" << std::hex << plan.entry;
    EXPECT_EQ(plan.lowest_address % page, 0u);
    EXPECT_EQ(plan.highest_address % page, 0u);
    EXPECT_LE(plan.highest_address, max_user_address);
    EXPECT_LE(plan.lowest_address, plan.highest_address);
    if (plan.phdr_address != 0) {
        bool loaded = false;
        for (size_t i = 0; i < plan.segment_count; ++i)
            loaded |= inside(plan.phdr_address, uint64_t{plan.phnum} * plan.phentsize, plan.segments[i].vaddr,
                             plan.segments[i].filesz);
        EXPECT_TRUE(loaded);
    }
    if (plan.kind == ElfKind::dynamic) {
        ASSERT_NE(plan.interpreter, nullptr);
        auto* path = reinterpret_cast<const uint8_t*>(plan.interpreter);
        ASSERT_GE(path, file);
        ASSERT_LE(path + plan.interpreter_length + 1, file + size);
        EXPECT_EQ(strlen(plan.interpreter), plan.interpreter_length);
        EXPECT_GT(plan.interpreter_length, 0u);
    } else {
        EXPECT_EQ(plan.interpreter, nullptr);
        EXPECT_EQ(plan.kind == ElfKind::static_pie, plan.position_independent);
    }
    if (plan.tls.present) {
        EXPECT_LE(plan.tls.filesz, plan.tls.memsz);
        EXPECT_TRUE(power_of_two_or_zero(plan.tls.align));
        if (plan.tls.filesz > 0) {
            bool loaded = false;
            for (size_t i = 0; i < plan.segment_count; ++i)
                loaded |= inside(plan.tls.vaddr, plan.tls.filesz, plan.segments[i].vaddr, plan.segments[i].filesz);
            EXPECT_TRUE(loaded);
        }
    }
}

// --- Synthetic files: one per rule --------------------------------------------------------

TEST(Elf, ValidStaticExecutable) {
    SyntheticElf elf;
    elf.headers.push_back({pt_gnu_stack, pf_r | pf_w, 0, 0, 0, 0, 0, 16});
    LoadPlan plan;
    auto bytes = elf.bytes();
    ElfResult r = parse(bytes, plan);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(plan.kind, ElfKind::static_executable);
    EXPECT_FALSE(plan.position_independent);
    EXPECT_EQ(plan.machine, em_x86_64);
    EXPECT_EQ(plan.entry, text_address + 0x200);
    ASSERT_EQ(plan.segment_count, 2u);
    EXPECT_EQ(plan.segments[0].vaddr, text_address);
    EXPECT_EQ(plan.segments[0].prot, prot_read | prot_exec);
    EXPECT_EQ(plan.segments[1].offset, 0x1000u);
    EXPECT_EQ(plan.segments[1].filesz, 0x100u);
    EXPECT_EQ(plan.segments[1].memsz, 0x3000u);
    EXPECT_EQ(plan.segments[1].align, page);
    EXPECT_EQ(plan.segments[1].prot, prot_read | prot_write);
    EXPECT_EQ(plan.lowest_address, text_address);
    EXPECT_EQ(plan.highest_address, data_address + 0x3000);
    // No PT_PHDR: the table's address comes from the segment loading file offset 64.
    EXPECT_EQ(plan.phdr_address, text_address + sizeof(Elf64Header));
    EXPECT_EQ(plan.phnum, 3);
    EXPECT_EQ(plan.phentsize, sizeof(Elf64ProgramHeader));
    EXPECT_TRUE(plan.has_gnu_stack);
    EXPECT_EQ(plan.stack_prot, prot_read | prot_write);
    EXPECT_FALSE(plan.tls.present);
    EXPECT_EQ(plan.interpreter, nullptr);
    expect_plan_invariants(plan, bytes.data(), bytes.size(), em_x86_64);
}

TEST(Elf, StaticPieAndMachine) {
    SyntheticElf elf;
    elf.header.type = et_dyn;
    elf.header.machine = em_aarch64;
    LoadPlan plan;
    ElfResult r = parse(elf, plan, em_aarch64);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(plan.kind, ElfKind::static_pie);
    EXPECT_TRUE(plan.position_independent);
    EXPECT_EQ(plan.machine, em_aarch64);
    EXPECT_STREQ(kind_name(plan.kind), "static PIE");
}

TEST(Elf, UnalignedBufferIsReadSafely) {
    SyntheticElf elf;
    auto bytes = elf.bytes();
    std::vector<uint8_t> shifted(bytes.size() + 1);
    memcpy(shifted.data() + 1, bytes.data(), bytes.size());
    LoadPlan plan;
    ElfResult r = parse_elf(shifted.data() + 1, bytes.size(), em_x86_64, plan);
    EXPECT_TRUE(r.ok()) << r.message;
}

TEST(Elf, NullOrTruncatedHeader) {
    LoadPlan plan;
    EXPECT_EQ(parse_elf(nullptr, 100, em_x86_64, plan).error, ElfError::null_file);
    auto bytes = SyntheticElf().bytes();
    for (size_t size : {size_t{0}, size_t{1}, size_t{16}, sizeof(Elf64Header) - 1}) {
        ElfResult r = parse_elf(bytes.data(), size, em_x86_64, plan);
        EXPECT_EQ(r.error, ElfError::truncated_header) << size;
        EXPECT_NE(strstr(r.message, "shorter than the 64-byte ELF header"), nullptr) << r.message;
    }
}

TEST(Elf, BadMagic) {
    SyntheticElf elf;
    elf.header.ident[1] = 'X';
    expect_rejected(elf, ElfError::bad_magic, "bad magic 7f 58 4c 46");
}

TEST(Elf, NotElf64) {
    SyntheticElf elf;
    elf.header.ident[ei_class] = 1;  // ELFCLASS32
    expect_rejected(elf, ElfError::not_elf64, "EI_CLASS is 1");
}

TEST(Elf, NotLittleEndian) {
    SyntheticElf elf;
    elf.header.ident[ei_data] = 2;  // ELFDATA2MSB
    expect_rejected(elf, ElfError::not_little_endian, "EI_DATA is 2");
}

TEST(Elf, BadVersion) {
    SyntheticElf ident;
    ident.header.ident[ei_version] = 0;
    expect_rejected(ident, ElfError::bad_version, "EI_VERSION 0");
    SyntheticElf version;
    version.header.version = 2;
    expect_rejected(version, ElfError::bad_version, "e_version 2");
}

TEST(Elf, WrongMachine) {
    expect_rejected(SyntheticElf(), ElfError::wrong_machine, "e_machine is 62 (x86_64), this kernel runs 183 (aarch64)",
                    em_aarch64);
    SyntheticElf riscv;
    riscv.header.machine = 243;
    expect_rejected(riscv, ElfError::wrong_machine, "e_machine is 243 (other)");
}

TEST(Elf, NotAnExecutable) {
    for (uint16_t type : {0, 1 /* ET_REL */, 4 /* ET_CORE */, 0xfe00}) {
        SyntheticElf elf;
        elf.header.type = type;
        expect_rejected(elf, ElfError::not_executable, "neither ET_EXEC");
    }
}

TEST(Elf, WrongProgramHeaderSize) {
    SyntheticElf elf;
    elf.header.phentsize = 32;  // an ELF32 program header
    expect_rejected(elf, ElfError::bad_phentsize, "e_phentsize is 32, expected 56");
}

TEST(Elf, ProgramHeaderTableOutsideTheFile) {
    SyntheticElf past_end;
    past_end.header.phoff = file_size - 60;
    expect_rejected(past_end, ElfError::program_headers_out_of_file, "lies outside the 8192-byte file");
    SyntheticElf wrapping;  // phoff + table size overflows 64 bits
    wrapping.header.phoff = UINT64_MAX - 16;
    expect_rejected(wrapping, ElfError::program_headers_out_of_file, "outside");
}

TEST(Elf, TooManyProgramHeaders) {
    SyntheticElf elf;
    elf.header.phnum = max_program_headers + 1;
    expect_rejected(elf, ElfError::too_many_program_headers, "e_phnum is 129");
    elf.header.phnum = 0xffff;  // PN_XNUM: the real count would be in a section header
    expect_rejected(elf, ElfError::too_many_program_headers, "65535");
}

TEST(Elf, NoLoadSegment) {
    SyntheticElf elf;
    elf.headers = {{pt_gnu_stack, pf_r | pf_w, 0, 0, 0, 0, 0, 16}};
    expect_rejected(elf, ElfError::no_load_segment, "no PT_LOAD among 1 program headers");
    SyntheticElf empty;
    empty.headers.clear();
    expect_rejected(empty, ElfError::no_load_segment, "no PT_LOAD");
}

TEST(Elf, TooManyLoadSegments) {
    SyntheticElf elf;
    elf.headers.clear();
    for (size_t i = 0; i <= max_load_segments; ++i)
        elf.headers.push_back(load(0, text_address + i * page, 0x1000, 0x1000, pf_r | pf_x));
    expect_rejected(elf, ElfError::too_many_load_segments, "more than 16 PT_LOAD");
}

TEST(Elf, FileSizeExceedsMemorySize) {
    SyntheticElf elf;
    elf.headers[1].filesz = 0x4000;
    expect_rejected(elf, ElfError::filesz_exceeds_memsz, "program header 1 (PT_LOAD): p_filesz 0x4000 exceeds p_memsz 0x3000");
}

TEST(Elf, SegmentOutsideTheFile) {
    SyntheticElf past_end;
    past_end.headers[1].filesz = 0x1001;  // one byte past the 0x2000-byte file
    expect_rejected(past_end, ElfError::segment_out_of_file, "offset 0x1000, size 0x1001, lie outside the 8192-byte file");
    SyntheticElf wrapping;  // offset + filesz overflows 64 bits (offset stays page-congruent)
    wrapping.headers[1].offset = UINT64_MAX - 0xfff;
    wrapping.headers[1].vaddr = data_address;
    wrapping.headers[1].filesz = 0x2000;
    expect_rejected(wrapping, ElfError::segment_out_of_file, "lie outside");
    SyntheticElf beyond;
    beyond.headers[1].offset = 0x3000;
    beyond.headers[1].filesz = 0;  // even an empty range may not start past the end
    expect_rejected(beyond, ElfError::segment_out_of_file, "offset 0x3000");
}

TEST(Elf, LoadSegmentsUnsortedOrOverlapping) {
    SyntheticElf unsorted;
    std::swap(unsorted.headers[0], unsorted.headers[1]);
    expect_rejected(unsorted, ElfError::segments_unordered, "below the previous PT_LOAD's 0x601000 (not sorted)");
    SyntheticElf overlapping;
    overlapping.headers[1].vaddr = text_address + 0xf00;  // inside the text segment
    overlapping.headers[1].offset = 0xf00;
    expect_rejected(overlapping, ElfError::segments_unordered, "overlaps the previous PT_LOAD [0x400000, 0x401000)");
    // Sharing a page without sharing bytes is allowed (classic ld layouts do it).
    SyntheticElf sharing;
    sharing.headers[0].filesz = sharing.headers[0].memsz = 0x800;
    sharing.headers[1].vaddr = text_address + 0x800;
    sharing.headers[1].offset = 0x800;
    LoadPlan plan;
    EXPECT_TRUE(parse(sharing, plan).ok());
}

TEST(Elf, AlignmentNotAPowerOfTwo) {
    for (uint64_t align : {uint64_t{3}, uint64_t{0x1001}, uint64_t{0x3000}}) {
        SyntheticElf elf;
        elf.headers[1].align = align;
        expect_rejected(elf, ElfError::bad_alignment, "is not a power of two");
    }
    for (uint64_t align : {uint64_t{0}, uint64_t{1}, uint64_t{0x10000}, uint64_t{0x200000}}) {
        SyntheticElf elf;
        elf.headers[1].align = align;  // alignment beyond a page is fine (aarch64 uses 64 KiB)
        LoadPlan plan;
        EXPECT_TRUE(parse(elf, plan).ok()) << align;
    }
}

TEST(Elf, AddressAndOffsetDisagreeWithinAPage) {
    SyntheticElf elf;
    elf.headers[1].offset = 0x1010;
    elf.headers[1].filesz = 0x10;
    expect_rejected(elf, ElfError::misaligned_segment, "p_vaddr 0x601000 and p_offset 0x1010 differ modulo the page size");
}

TEST(Elf, AddressOverflow) {
    SyntheticElf wrapping;
    wrapping.headers[1].vaddr = 0xfffffffffffff000;
    wrapping.headers[1].memsz = 0x2000;
    expect_rejected(wrapping, ElfError::address_overflow, "ends beyond the user address limit");
    SyntheticElf kernel_half;
    kernel_half.headers[1].vaddr = max_user_address - page;
    kernel_half.headers[1].memsz = 2 * page;
    expect_rejected(kernel_half, ElfError::address_overflow, "p_vaddr 0x7ffffffff000 + p_memsz 0x2000");
    SyntheticElf at_the_limit;  // ending exactly at the limit is fine
    at_the_limit.headers[1].vaddr = max_user_address - 0x3000;
    LoadPlan plan;
    ASSERT_TRUE(parse(at_the_limit, plan).ok());
    EXPECT_EQ(plan.highest_address, max_user_address);
}

TEST(Elf, EntryPointMustBeInExecutableFileBytes) {
    SyntheticElf in_data;
    in_data.header.entry = data_address + 0x10;
    expect_rejected(in_data, ElfError::entry_not_executable, "entry point 0x601010");
    SyntheticElf nowhere;
    nowhere.header.entry = 0x100;
    expect_rejected(nowhere, ElfError::entry_not_executable, "not in the file bytes of an executable PT_LOAD");
    SyntheticElf in_bss;  // executable, but zero-filled memory past the file bytes
    in_bss.headers[0].filesz = 0x800;
    in_bss.header.entry = text_address + 0x900;
    expect_rejected(in_bss, ElfError::entry_not_executable, "0x400900");
    SyntheticElf just_past;
    just_past.header.entry = text_address + 0x1000;
    expect_rejected(just_past, ElfError::entry_not_executable, "0x401000");
}

TEST(Elf, Interpreter) {
    static const char path[] = "/lib64/ld-linux-x86-64.so.2";
    SyntheticElf elf;
    elf.header.type = et_dyn;
    elf.put(0x800, path, sizeof path);
    elf.headers.insert(elf.headers.begin(), {pt_interp, pf_r, 0x800, text_address + 0x800, 0, sizeof path, sizeof path, 1});
    LoadPlan plan;
    auto bytes = elf.bytes();
    ElfResult r = parse(bytes, plan);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(plan.kind, ElfKind::dynamic);
    EXPECT_STREQ(plan.interpreter, path);
    EXPECT_EQ(plan.interpreter_length, sizeof path - 1);
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(plan.interpreter), bytes.data() + 0x800);  // points into the file

    SyntheticElf unterminated = elf;
    unterminated.headers[0].filesz = sizeof path - 1;
    expect_rejected(unterminated, ElfError::bad_interpreter, "path is not NUL-terminated");
    SyntheticElf early_nul = elf;
    early_nul.contents[0x805] = 0;
    expect_rejected(early_nul, ElfError::bad_interpreter, "path has a NUL before its end");
    SyntheticElf outside = elf;
    outside.headers[0].offset = file_size - 4;
    expect_rejected(outside, ElfError::bad_interpreter, "lies outside the 8192-byte file");
    SyntheticElf wrapping = elf;
    wrapping.headers[0].offset = UINT64_MAX - 2;
    expect_rejected(wrapping, ElfError::bad_interpreter, "lies outside");
    SyntheticElf empty = elf;
    empty.headers[0].filesz = 1;
    expect_rejected(empty, ElfError::bad_interpreter, "path size 1 is not within 2..4096");
    SyntheticElf huge = elf;
    huge.headers[0].offset = 0;
    huge.headers[0].filesz = file_size;
    expect_rejected(huge, ElfError::bad_interpreter, "path size 8192");
    SyntheticElf twice = elf;
    twice.headers.insert(twice.headers.begin(), twice.headers[0]);
    expect_rejected(twice, ElfError::bad_interpreter, "program header 1: a second PT_INTERP");
}

TEST(Elf, ProgramHeaderSegment) {
    SyntheticElf elf;
    elf.headers.insert(elf.headers.begin(), {pt_phdr, pf_r, 64, text_address + 64, 0, 3 * 56, 3 * 56, 8});
    LoadPlan plan;
    ASSERT_TRUE(parse(elf, plan).ok());
    EXPECT_EQ(plan.phdr_address, text_address + 64);

    SyntheticElf unloaded = elf;  // PT_PHDR pointing at memory no PT_LOAD fills
    unloaded.headers[0].vaddr = 0x100000;
    expect_rejected(unloaded, ElfError::bad_phdr_segment, "table at 0x100000, size 0xa8, is not inside a PT_LOAD");
    SyntheticElf in_bss = elf;  // loaded, but in zero-filled memory
    in_bss.headers[0].vaddr = data_address + 0x200;
    expect_rejected(in_bss, ElfError::bad_phdr_segment, "not inside a PT_LOAD's file bytes");
    SyntheticElf twice = elf;
    twice.headers.insert(twice.headers.begin(), twice.headers[0]);
    expect_rejected(twice, ElfError::bad_phdr_segment, "a second PT_PHDR");
}

TEST(Elf, ProgramHeadersNotLoadedLeaveTheAddressToTheLoader) {
    SyntheticElf elf;
    elf.headers[0].offset = 0x1000;  // the text segment no longer covers the table at offset 64
    elf.headers[0].vaddr = text_address + 0x1000;
    elf.headers[0].filesz = elf.headers[0].memsz = 0x100;
    elf.headers[1].filesz = 0;
    elf.header.entry = text_address + 0x1010;
    LoadPlan plan;
    ElfResult r = parse(elf, plan);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(plan.phdr_address, 0u);
    EXPECT_EQ(plan.phdr_offset, 64u);
}

TEST(Elf, ThreadLocalStorage) {
    SyntheticElf elf;
    elf.headers.push_back({pt_tls, pf_r, 0x1000, data_address, 0, 0x40, 0x100, 64});
    LoadPlan plan;
    ASSERT_TRUE(parse(elf, plan).ok());
    ASSERT_TRUE(plan.tls.present);
    EXPECT_EQ(plan.tls.vaddr, data_address);
    EXPECT_EQ(plan.tls.filesz, 0x40u);
    EXPECT_EQ(plan.tls.memsz, 0x100u);
    EXPECT_EQ(plan.tls.align, 64u);

    SyntheticElf bad_sizes = elf;
    bad_sizes.headers[2].filesz = 0x200;
    expect_rejected(bad_sizes, ElfError::bad_tls_segment, "program header 2 (PT_TLS): p_filesz 0x200 exceeds p_memsz 0x100");
    SyntheticElf bad_align = elf;
    bad_align.headers[2].align = 48;
    expect_rejected(bad_align, ElfError::bad_tls_segment, "(PT_TLS): p_align 0x30 is not a power of two");
    SyntheticElf outside_file = elf;
    outside_file.headers[2].offset = file_size;
    expect_rejected(outside_file, ElfError::bad_tls_segment, "(PT_TLS): file bytes at offset 0x2000");
    SyntheticElf unloaded = elf;
    unloaded.headers[2].vaddr = 0x700000;
    expect_rejected(unloaded, ElfError::bad_tls_segment, "PT_TLS image at 0x700000, size 0x40, is not inside");
    SyntheticElf twice = elf;
    twice.headers.push_back(twice.headers[2]);
    expect_rejected(twice, ElfError::bad_tls_segment, "program header 3: a second PT_TLS");
}

TEST(Elf, EveryErrorHasAName) {
    for (int e = static_cast<int>(ElfError::none); e <= static_cast<int>(ElfError::bad_tls_segment); ++e)
        EXPECT_STRNE(error_name(static_cast<ElfError>(e)), "unknown error") << e;
}

// --- Real executables ------------------------------------------------------------------------

// What `readelf -lhW` says about a file: the reference the parser is checked against.
struct ReadelfView {
    uint64_t entry = 0;
    unsigned phnum = 0;
    std::string type;  // "EXEC" or "DYN"
    struct Segment {
        std::string type, flags;
        uint64_t offset, vaddr, filesz, memsz, align;
    };
    std::vector<Segment> segments;
    std::string interpreter;
};

ReadelfView run_readelf(const std::string& path) {
    ReadelfView view;
    std::string command = std::string(MICA_READELF) + " -lhW " + path;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return view;
    std::string output;
    char chunk[4096];
    while (size_t n = fread(chunk, 1, sizeof chunk, pipe)) output.append(chunk, n);
    pclose(pipe);
    std::istringstream lines(output);
    std::string line;
    bool in_table = false;
    while (std::getline(lines, line)) {
        auto after = [&](const char* key) { return line.substr(line.find(key) + strlen(key)); };
        if (line.find("Entry point address:") != std::string::npos) view.entry = std::stoull(after(":"), nullptr, 16);
        else if (line.find("Number of program headers:") != std::string::npos) view.phnum = std::stoul(after(":"));
        else if (line.find("  Type:") == 0) std::istringstream(after(":")) >> view.type;
        else if (line.find("[Requesting program interpreter: ") != std::string::npos) {
            std::string rest = after("interpreter: ");
            view.interpreter = rest.substr(0, rest.find(']'));
        } else if (line.find("Program Headers:") != std::string::npos) in_table = true;
        else if (in_table && line.empty()) in_table = false;
        else if (in_table && line.find("0x") != std::string::npos) {
            // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flags... Align (flags may contain spaces)
            std::istringstream fields(line);
            std::vector<std::string> words;
            for (std::string w; fields >> w;) words.push_back(w);
            if (words.size() < 8) continue;
            ReadelfView::Segment s;
            s.type = words[0];
            s.offset = std::stoull(words[1], nullptr, 16);
            s.vaddr = std::stoull(words[2], nullptr, 16);
            s.filesz = std::stoull(words[4], nullptr, 16);
            s.memsz = std::stoull(words[5], nullptr, 16);
            s.align = std::stoull(words.back(), nullptr, 16);
            for (size_t i = 6; i + 1 < words.size(); ++i) s.flags += words[i];
            view.segments.push_back(s);
        }
    }
    return view;
}

int prot_from_readelf(const std::string& flags) {
    return (flags.find('R') != std::string::npos ? prot_read : 0) | (flags.find('W') != std::string::npos ? prot_write : 0) |
           (flags.find('E') != std::string::npos ? prot_exec : 0);
}

struct RealBinary {
    const char* name;
    const char* path;
    uint16_t machine;
    ElfKind kind;
};

class RealBinaries : public testing::TestWithParam<RealBinary> {};

TEST_P(RealBinaries, PlanMatchesReadelf) {
    const RealBinary& binary = GetParam();
    if (binary.path[0] == '\0') GTEST_SKIP() << "no toolchain for " << binary.name;
    auto bytes = read_file(binary.path);
    if (bytes.empty()) GTEST_SKIP() << binary.path << " is not installed";

    LoadPlan plan;
    ElfResult r = parse(bytes, plan, binary.machine);
    ASSERT_TRUE(r.ok()) << binary.path << ": " << r.message;
    EXPECT_EQ(plan.kind, binary.kind) << kind_name(plan.kind);
    expect_plan_invariants(plan, bytes.data(), bytes.size(), binary.machine);
    // Every program Mica runs has its headers loaded (the libc finds PT_TLS through them).
    EXPECT_NE(plan.phdr_address, 0u);
    if (binary.kind == ElfKind::dynamic) {
        EXPECT_STREQ(plan.interpreter, "/lib64/ld-linux-x86-64.so.2");
    }
    if (binary.kind != ElfKind::dynamic && std::string(binary.name) != "busybox") {
        EXPECT_TRUE(plan.tls.present) << "the fixture has __thread variables";
    }
    // The other machine is refused.
    LoadPlan other;
    EXPECT_EQ(parse(bytes, other, binary.machine == em_x86_64 ? em_aarch64 : em_x86_64).error, ElfError::wrong_machine);

    if (MICA_READELF[0] == '\0') GTEST_SKIP() << "readelf not found: structure checked, not compared";
    ReadelfView view = run_readelf(binary.path);
    EXPECT_EQ(view.type, plan.position_independent ? "DYN" : "EXEC");
    EXPECT_EQ(plan.entry, view.entry);
    EXPECT_EQ(plan.phnum, view.phnum);
    size_t load_index = 0;
    bool saw_tls = false;
    for (const auto& s : view.segments) {
        if (s.type == "LOAD") {
            ASSERT_LT(load_index, plan.segment_count);
            const LoadSegment& mine = plan.segments[load_index++];
            EXPECT_EQ(mine.vaddr, s.vaddr);
            EXPECT_EQ(mine.offset, s.offset);
            EXPECT_EQ(mine.filesz, s.filesz);
            EXPECT_EQ(mine.memsz, s.memsz);
            EXPECT_EQ(mine.align, s.align);
            EXPECT_EQ(mine.prot, prot_from_readelf(s.flags)) << s.flags;
        } else if (s.type == "PHDR") {
            EXPECT_EQ(plan.phdr_address, s.vaddr);
        } else if (s.type == "TLS") {
            saw_tls = true;
            EXPECT_EQ(plan.tls.vaddr, s.vaddr);
            EXPECT_EQ(plan.tls.filesz, s.filesz);
            EXPECT_EQ(plan.tls.memsz, s.memsz);
            EXPECT_EQ(plan.tls.align, s.align);
        } else if (s.type == "GNU_STACK") {
            EXPECT_TRUE(plan.has_gnu_stack);
            EXPECT_EQ(plan.stack_prot, prot_from_readelf(s.flags));
        }
    }
    EXPECT_EQ(load_index, plan.segment_count);
    EXPECT_EQ(saw_tls, plan.tls.present);
    EXPECT_EQ(plan.interpreter ? std::string(plan.interpreter) : std::string(), view.interpreter);
}

INSTANTIATE_TEST_SUITE_P(
    Elf, RealBinaries,
    testing::Values(RealBinary{"musl_static", MICA_ELF_MUSL_STATIC, em_x86_64, ElfKind::static_executable},
                    RealBinary{"gcc_static", MICA_ELF_GCC_STATIC, em_x86_64, ElfKind::static_executable},
                    RealBinary{"gcc_static_pie", MICA_ELF_GCC_STATIC_PIE, em_x86_64, ElfKind::static_pie},
                    RealBinary{"aarch64_static", MICA_ELF_AARCH64_STATIC, em_aarch64, ElfKind::static_executable},
                    RealBinary{"busybox", MICA_ELF_BUSYBOX, em_x86_64, ElfKind::static_executable},
                    RealBinary{"dynamic", MICA_ELF_DYNAMIC, em_x86_64, ElfKind::dynamic}),
    [](const testing::TestParamInfo<RealBinary>& info) { return std::string(info.param.name); });

// --- Corrupted copies ------------------------------------------------------------------------

// Mutates a copy of a real binary, concentrating on the headers (where a random flip changes
// what the parser sees), and parses it from an exactly-sized heap buffer so ASan catches any
// read past the end. Every outcome must be a clean rejection or a plan keeping the invariants.
void fuzz(const std::vector<uint8_t>& original, uint16_t machine, uint32_t seed, int iterations) {
    std::mt19937_64 random(seed);
    auto below = [&](uint64_t n) { return n == 0 ? 0 : random() % n; };
    Elf64Header header;
    memcpy(&header, original.data(), sizeof header);
    const size_t headers_end = header.phoff + header.phnum * sizeof(Elf64ProgramHeader);
    const uint64_t interesting[] = {0, 1, 2, 0x38, 0x40, 0xfff, 0x1000, 0x1001, original.size() - 1, original.size(),
                                    original.size() + 1, max_user_address, max_user_address - 1, UINT64_MAX,
                                    UINT64_MAX - 0xfff, uint64_t{1} << 63, 0x7f};
    int accepted = 0, rejected = 0;
    for (int i = 0; i < iterations; ++i) {
        std::vector<uint8_t> copy = original;
        int mutations = 1 + below(6);
        for (int m = 0; m < mutations; ++m) {
            size_t limit = std::min(headers_end, copy.size());  // earlier truncations count
            switch (below(4)) {
            case 0:  // flip bits in the headers
                copy[below(limit)] ^= static_cast<uint8_t>(1u << below(8));
                break;
            case 1: {  // an interesting value in an aligned header field of 1, 2, 4 or 8 bytes
                size_t width = size_t{1} << below(4);
                if (limit < width) break;
                size_t at = below(limit / width) * width;
                uint64_t value = interesting[below(std::size(interesting))];
                memcpy(copy.data() + at, &value, width);
                break;
            }
            case 2:  // a random byte anywhere
                copy[below(copy.size())] = static_cast<uint8_t>(random());
                break;
            case 3:  // truncate, usually inside or just after the headers
                copy.resize(below(4) == 0 ? below(copy.size()) : below(headers_end + 64));
                break;
            }
            if (copy.empty()) break;
        }
        std::unique_ptr<uint8_t[]> exact(new uint8_t[copy.size() + (copy.empty() ? 1 : 0)]);
        memcpy(exact.get(), copy.data(), copy.size());
        LoadPlan plan;
        ElfResult r = parse_elf(exact.get(), copy.size(), machine, plan);
        if (r.ok()) {
            ++accepted;
            expect_plan_invariants(plan, exact.get(), copy.size(), machine);
        } else {
            ++rejected;
            EXPECT_NE(r.error, ElfError::none);
            EXPECT_GT(strlen(r.message), 0u);
            EXPECT_LT(strlen(r.message), sizeof r.message);
        }
        if (testing::Test::HasFailure()) {
            ADD_FAILURE() << "iteration " << i << " (seed " << seed << ")";
            return;
        }
    }
    // Both outcomes happen, or the mutations are not exercising the parser.
    EXPECT_GT(accepted, iterations / 50);
    EXPECT_GT(rejected, iterations / 50);
}

TEST(ElfFuzz, CorruptedMuslStaticBinary) {
    if (MICA_ELF_MUSL_STATIC[0] == '\0') GTEST_SKIP() << "no musl-gcc";
    fuzz(read_file(MICA_ELF_MUSL_STATIC), em_x86_64, 1, 5000);
}

TEST(ElfFuzz, CorruptedStaticPie) {
    if (MICA_ELF_GCC_STATIC_PIE[0] == '\0') GTEST_SKIP() << "no gcc";
    fuzz(read_file(MICA_ELF_GCC_STATIC_PIE), em_x86_64, 2, 3000);
}

TEST(ElfFuzz, CorruptedAarch64Binary) {
    if (MICA_ELF_AARCH64_STATIC[0] == '\0') GTEST_SKIP() << "no aarch64 cross compiler";
    fuzz(read_file(MICA_ELF_AARCH64_STATIC), em_aarch64, 3, 3000);
}

TEST(ElfFuzz, CorruptedDynamicBinary) {
    auto bytes = read_file(MICA_ELF_DYNAMIC);
    if (bytes.empty()) GTEST_SKIP() << MICA_ELF_DYNAMIC << " is not installed";
    fuzz(bytes, em_x86_64, 4, 3000);
}

TEST(ElfFuzz, CorruptedSyntheticFile) {
    SyntheticElf elf;
    static const char path[] = "/lib/ld-musl-x86_64.so.1";
    elf.put(0x800, path, sizeof path);
    elf.headers.insert(elf.headers.begin(), {pt_interp, pf_r, 0x800, text_address + 0x800, 0, sizeof path, sizeof path, 1});
    elf.headers.insert(elf.headers.begin(), {pt_phdr, pf_r, 64, text_address + 64, 0, 5 * 56, 5 * 56, 8});
    elf.headers.push_back({pt_tls, pf_r, 0x1000, data_address, 0, 0x40, 0x100, 64});
    fuzz(elf.bytes(), em_x86_64, 5, 5000);
}

}  // namespace
