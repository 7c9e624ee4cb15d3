// The initial process stack, decoded the way a libc's start code reads it: argc at sp, then
// argv, envp and auxv, every pointer a virtual address inside the stack.
#include <gtest/gtest.h>
#include <mica/loader/initial_stack.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace mica::loader;

namespace {

constexpr uint64_t stack_top_address = 0x7ffff7ff0000;
const uint8_t random_bytes[at_random_size] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

ProcessStartInfo sample_info(const char* const* argv, const char* const* envp) {
    ProcessStartInfo info;
    info.argv = argv;
    info.envp = envp;
    info.execfn = "/usr/bin/program";
    info.platform = "x86_64";
    info.random = random_bytes;
    info.phdr = 0x400040;
    info.phent = 56;
    info.phnum = 9;
    info.entry = 0x401bc0;
    info.base = 0;
    info.uid = 1000;
    info.euid = 1001;
    info.gid = 100;
    info.egid = 101;
    info.hwcap = 0x178bfbff;
    return info;
}

// A built stack and a reader for it that fails the test on any address outside the buffer.
struct Stack {
    std::unique_ptr<uint8_t[]> memory;
    uint8_t* buffer;  // may be deliberately misaligned inside `memory`
    size_t size;
    uint64_t address;  // where `buffer` is mapped
    uint64_t sp = 0;

    Stack(size_t size, uint64_t address, size_t host_misalignment = 0)
        : memory(new uint8_t[size + host_misalignment]), buffer(memory.get() + host_misalignment), size(size),
          address(address) {
        memset(buffer, 0xaa, size);  // garbage, so unwritten words show up
    }
    int build(const ProcessStartInfo& info) { return build_initial_stack(buffer, size, address, info, sp); }

    bool contains(uint64_t at, uint64_t length) const {
        return at >= address && at - address <= size && length <= size - (at - address);
    }
    uint64_t word(uint64_t at) const {
        EXPECT_TRUE(contains(at, 8)) << std::hex << at;
        if (!contains(at, 8)) return 0;
        uint64_t value;
        memcpy(&value, buffer + (at - address), sizeof value);
        return value;
    }
    std::string string(uint64_t at) const {
        EXPECT_TRUE(contains(at, 1)) << std::hex << at;
        if (!contains(at, 1)) return "";
        const char* start = reinterpret_cast<const char*>(buffer + (at - address));
        size_t length = strnlen(start, size - (at - address));
        EXPECT_LT(length, size - (at - address)) << "string runs off the top of the stack";
        return std::string(start, length);
    }
};

struct Decoded {
    uint64_t argc = 0;
    std::vector<std::string> argv, envp;
    std::vector<std::pair<uint64_t, uint64_t>> auxv;  // in order, AT_NULL excluded
    std::map<uint64_t, uint64_t> aux;
    uint64_t end_of_vectors = 0;  // first byte above the auxv
    std::vector<uint64_t> string_addresses;
};

// What musl's __init_libc / glibc's _dl_aux_init do with sp.
Decoded decode(const Stack& stack) {
    Decoded d;
    uint64_t at = stack.sp;
    d.argc = stack.word(at);
    at += 8;
    for (uint64_t i = 0; i < d.argc; ++i, at += 8) {
        d.string_addresses.push_back(stack.word(at));
        d.argv.push_back(stack.string(stack.word(at)));
    }
    EXPECT_EQ(stack.word(at), 0u) << "argv not NULL-terminated";
    at += 8;
    for (; stack.word(at) != 0 && stack.contains(at, 8); at += 8) {
        d.string_addresses.push_back(stack.word(at));
        d.envp.push_back(stack.string(stack.word(at)));
    }
    at += 8;
    for (; stack.contains(at, 16); at += 16) {
        uint64_t type = stack.word(at), value = stack.word(at + 8);
        if (type == at_null) {
            EXPECT_EQ(value, 0u);
            break;
        }
        EXPECT_EQ(d.aux.count(type), 0u) << "duplicate auxv entry " << type;
        d.auxv.push_back({type, value});
        d.aux[type] = value;
    }
    d.end_of_vectors = at + 16;
    return d;
}

TEST(InitialStack, DecodesLikeALibc) {
    const char* argv[] = {"program", "-x", "hello world", "", nullptr};
    const char* envp[] = {"HOME=/", "PATH=/bin:/usr/bin", nullptr};
    ProcessStartInfo info = sample_info(argv, envp);
    Stack stack(8192, stack_top_address - 8192);
    ASSERT_EQ(stack.build(info), 0);

    EXPECT_EQ(stack.sp % 16, 0u) << "SysV ABI: rsp is 16-byte aligned at process entry";
    ASSERT_TRUE(stack.contains(stack.sp, 8));
    Decoded d = decode(stack);
    EXPECT_EQ(d.argc, 4u);
    EXPECT_EQ(d.argv, (std::vector<std::string>{"program", "-x", "hello world", ""}));
    EXPECT_EQ(d.envp, (std::vector<std::string>{"HOME=/", "PATH=/bin:/usr/bin"}));

    EXPECT_EQ(d.aux[at_phdr], 0x400040u);
    EXPECT_EQ(d.aux[at_phent], 56u);
    EXPECT_EQ(d.aux[at_phnum], 9u);
    EXPECT_EQ(d.aux[at_pagesz], 4096u);
    ASSERT_EQ(d.aux.count(at_base), 1u);
    EXPECT_EQ(d.aux[at_base], 0u);
    ASSERT_EQ(d.aux.count(at_flags), 1u);
    EXPECT_EQ(d.aux[at_flags], 0u);
    EXPECT_EQ(d.aux[at_entry], 0x401bc0u);
    EXPECT_EQ(d.aux[at_uid], 1000u);
    EXPECT_EQ(d.aux[at_euid], 1001u);
    EXPECT_EQ(d.aux[at_gid], 100u);
    EXPECT_EQ(d.aux[at_egid], 101u);
    ASSERT_EQ(d.aux.count(at_secure), 1u);
    EXPECT_EQ(d.aux[at_secure], 0u);
    EXPECT_EQ(d.aux[at_hwcap], 0x178bfbffu);
    EXPECT_EQ(d.aux.count(at_hwcap2), 0u) << "AT_HWCAP2 only when given";
    EXPECT_EQ(d.aux[at_clktck], 100u);
    EXPECT_EQ(d.aux.count(at_sysinfo_ehdr), 0u) << "no vDSO, no AT_SYSINFO_EHDR";
    EXPECT_EQ(stack.string(d.aux[at_platform]), "x86_64");
    EXPECT_EQ(stack.string(d.aux[at_execfn]), "/usr/bin/program");
    ASSERT_TRUE(stack.contains(d.aux[at_random], at_random_size));
    EXPECT_EQ(memcmp(stack.buffer + (d.aux[at_random] - stack.address), random_bytes, at_random_size), 0);
    EXPECT_EQ(d.auxv.size(), 17u);

    // The data the vectors point at lies above them, and nothing overlaps: the strings and
    // the random bytes sit between the end of auxv and the zero word at the top.
    d.string_addresses.push_back(d.aux[at_platform]);
    d.string_addresses.push_back(d.aux[at_execfn]);
    for (uint64_t s : d.string_addresses) {
        EXPECT_GE(s, d.end_of_vectors);
        EXPECT_GE(s, d.aux[at_random] + at_random_size) << "a string overlaps the random bytes";
    }
    EXPECT_GE(d.aux[at_random], d.end_of_vectors);
    EXPECT_LE(d.aux[at_random] - d.end_of_vectors, 15u) << "only alignment padding below the random bytes";
    EXPECT_EQ(stack.word(stack.address + stack.size - 8), 0u) << "the top word is zero";
}

TEST(InitialStack, OptionalEntries) {
    const char* argv[] = {"a", nullptr};
    ProcessStartInfo info = sample_info(argv, nullptr);
    info.has_hwcap2 = true;
    info.hwcap2 = 0x2;
    info.sysinfo_ehdr = 0x7ffff7fc1000;
    info.base = 0x7ffff7fc3000;
    info.platform = "aarch64";
    info.page_size = 65536;
    Stack stack(4096, stack_top_address - 4096);
    ASSERT_EQ(stack.build(info), 0);
    Decoded d = decode(stack);
    EXPECT_EQ(d.aux[at_hwcap2], 0x2u);
    EXPECT_EQ(d.aux[at_sysinfo_ehdr], 0x7ffff7fc1000u);
    EXPECT_EQ(d.aux[at_base], 0x7ffff7fc3000u);
    EXPECT_EQ(d.aux[at_pagesz], 65536u);
    EXPECT_EQ(stack.string(d.aux[at_platform]), "aarch64");
    EXPECT_EQ(d.auxv.size(), 19u);
    EXPECT_TRUE(d.envp.empty());
}

TEST(InitialStack, NoArgumentsAndNoEnvironment) {
    ProcessStartInfo info = sample_info(nullptr, nullptr);
    Stack stack(1024, stack_top_address - 1024);
    ASSERT_EQ(stack.build(info), 0);
    Decoded d = decode(stack);
    EXPECT_EQ(d.argc, 0u);
    EXPECT_TRUE(d.argv.empty());
    EXPECT_TRUE(d.envp.empty());
    EXPECT_EQ(d.aux.count(at_random), 1u);
}

// Every combination of vector lengths and string sizes, at every alignment of the stack's top
// and of the host buffer: sp is 16-byte aligned and everything decodes.
TEST(InitialStack, AlignedForEveryShape) {
    std::vector<std::string> strings = {"x", "ab", "abc", "a longer argument", "0123456789abcdef"};
    for (size_t argc = 0; argc < 5; ++argc) {
        for (size_t envc = 0; envc < 4; ++envc) {
            for (uint64_t top_offset = 0; top_offset < 16; top_offset += 3) {
                std::vector<const char*> argv, envp;
                for (size_t i = 0; i < argc; ++i) argv.push_back(strings[(i + top_offset) % strings.size()].c_str());
                for (size_t i = 0; i < envc; ++i) envp.push_back(strings[(i * 2 + 1) % strings.size()].c_str());
                argv.push_back(nullptr);
                envp.push_back(nullptr);
                ProcessStartInfo info = sample_info(argv.data(), envp.data());
                const size_t size = 2048 + top_offset;
                Stack stack(size, stack_top_address - 2048, top_offset % 8);
                ASSERT_EQ(stack.build(info), 0);
                EXPECT_EQ(stack.sp % 16, 0u) << argc << " " << envc << " " << top_offset;
                Decoded d = decode(stack);
                ASSERT_EQ(d.argc, argc);
                for (size_t i = 0; i < argc; ++i) EXPECT_EQ(d.argv[i], argv[i]);
                ASSERT_EQ(d.envp.size(), envc);
                for (size_t i = 0; i < envc; ++i) EXPECT_EQ(d.envp[i], envp[i]);
                EXPECT_EQ(stack.string(d.aux[at_execfn]), "/usr/bin/program");
                EXPECT_LE(d.aux[at_random] - d.end_of_vectors, 15u);
            }
        }
    }
}

// Too small is an error, never an overflow: every size below the minimum fails (ASan would
// catch a write outside the exactly-sized buffer) and the minimum itself works.
TEST(InitialStack, TooSmallIsAnError) {
    const char* argv[] = {"program", "with", "arguments", nullptr};
    const char* envp[] = {"A=1", nullptr};
    ProcessStartInfo info = sample_info(argv, envp);
    size_t minimum = 0;
    for (size_t size = 0; size < 1024; ++size) {
        Stack stack(size, stack_top_address - size);
        uint64_t untouched = 0x1234;
        stack.sp = untouched;
        int result = stack.build(info);
        if (result == 0) {
            minimum = size;
            break;
        }
        EXPECT_EQ(result, -errno_2big) << size;
        EXPECT_EQ(stack.sp, untouched);
    }
    ASSERT_GT(minimum, 0u);
    // The words (argc, 3+1 argv, 1+1 envp, 17 aux pairs) and the data above them.
    size_t words = 1 + 4 + 2 + 2 * 18;
    size_t data = 8 + 16 + (8 + 5 + 10) + 4 + (7 + 17);
    EXPECT_GE(minimum, words * 8 + data);
    EXPECT_LT(minimum, words * 8 + data + 16);

    // One huge argument does not fit however it is counted.
    std::string huge(100000, 'x');
    const char* big_argv[] = {huge.c_str(), nullptr};
    Stack small(4096, stack_top_address - 4096);
    EXPECT_EQ(small.build(sample_info(big_argv, nullptr)), -errno_2big);
}

TEST(InitialStack, EdgesOfTheAddressSpace) {
    // A stack at address 0 works; one whose end would wrap past 2^64 is refused.
    ProcessStartInfo info = sample_info(nullptr, nullptr);
    Stack at_zero(400, 0);
    EXPECT_EQ(at_zero.build(info), 0);
    EXPECT_GE(at_zero.sp, at_zero.address);
    Stack wrapping(4096, UINT64_MAX - 100);
    EXPECT_EQ(wrapping.build(info), -errno_inval);
}

TEST(InitialStack, MissingRequiredFields) {
    Stack stack(4096, stack_top_address - 4096);
    ProcessStartInfo no_random = sample_info(nullptr, nullptr);
    no_random.random = nullptr;
    EXPECT_EQ(stack.build(no_random), -errno_inval);
    ProcessStartInfo no_platform = sample_info(nullptr, nullptr);
    no_platform.platform = nullptr;
    EXPECT_EQ(stack.build(no_platform), -errno_inval);
    ProcessStartInfo no_execfn = sample_info(nullptr, nullptr);
    no_execfn.execfn = nullptr;
    EXPECT_EQ(stack.build(no_execfn), -errno_inval);
    uint64_t sp = 0;
    EXPECT_EQ(build_initial_stack(nullptr, 4096, stack_top_address, sample_info(nullptr, nullptr), sp), -errno_inval);
}

}  // namespace
