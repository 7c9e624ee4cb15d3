// parse_elf_prefix: the loader parses the first page of a file and reads each segment into
// place, so parsing a prefix must give the same plan as parsing the whole file, and a prefix
// too short for the headers must say so rather than read past it.
#include <gtest/gtest.h>
#include <mica/loader/elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

using namespace mica::loader;

namespace {

std::vector<uint8_t> read_file(const char* path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A dynamically linked host program (every Debian system has /bin/ls).
constexpr const char* host_program = "/bin/ls";

TEST(ElfPrefix, FirstPageGivesTheWholeFilesPlan) {
    std::vector<uint8_t> file = read_file(host_program);
    ASSERT_GT(file.size(), 4096u);
    LoadPlan whole, prefix;
    ASSERT_TRUE(parse_elf(file.data(), file.size(), em_x86_64, whole).ok());
    ElfResult r = parse_elf_prefix(file.data(), 4096, file.size(), em_x86_64, prefix);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(prefix.kind, ElfKind::dynamic);
    EXPECT_EQ(prefix.segment_count, whole.segment_count);
    EXPECT_EQ(prefix.entry, whole.entry);
    EXPECT_EQ(prefix.highest_address, whole.highest_address);
    EXPECT_EQ(prefix.phdr_address, whole.phdr_address);
    ASSERT_NE(prefix.interpreter, nullptr);
    EXPECT_STREQ(prefix.interpreter, whole.interpreter);
    for (size_t i = 0; i < whole.segment_count; ++i) {
        EXPECT_EQ(prefix.segments[i].offset, whole.segments[i].offset);
        EXPECT_EQ(prefix.segments[i].filesz, whole.segments[i].filesz);
    }
}

TEST(ElfPrefix, SegmentsAreStillCheckedAgainstTheWholeFile) {
    std::vector<uint8_t> file = read_file(host_program);
    LoadPlan plan;
    // The same first page, claimed to belong to a file too short for its segments.
    ElfResult r = parse_elf_prefix(file.data(), 4096, 4096, em_x86_64, plan);
    EXPECT_EQ(r.error, ElfError::segment_out_of_file) << r.message;
}

TEST(ElfPrefix, HeadersPastThePrefixAreNamed) {
    std::vector<uint8_t> file = read_file(host_program);
    LoadPlan plan;
    ElfResult r = parse_elf_prefix(file.data(), 40, file.size(), em_x86_64, plan);
    EXPECT_EQ(r.error, ElfError::headers_beyond_prefix) << r.message;
    r = parse_elf_prefix(file.data(), 100, file.size(), em_x86_64, plan);
    EXPECT_EQ(r.error, ElfError::headers_beyond_prefix) << r.message;
    EXPECT_NE(strstr(r.message, "program header table"), nullptr) << r.message;
    // The table fits but the interpreter's path does not.
    LoadPlan whole;
    ASSERT_TRUE(parse_elf(file.data(), file.size(), em_x86_64, whole).ok());
    size_t path_offset = static_cast<size_t>(whole.interpreter - reinterpret_cast<const char*>(file.data()));
    r = parse_elf_prefix(file.data(), path_offset + 2, file.size(), em_x86_64, plan);
    EXPECT_EQ(r.error, ElfError::headers_beyond_prefix) << r.message;
    EXPECT_NE(strstr(r.message, "PT_INTERP"), nullptr) << r.message;
}

}  // namespace
