// The initial-stack builder (loader/initial_stack.cc) with arguments, environment, buffer
// size and stack address from the fuzzer: it either refuses (-E2BIG when it does not fit)
// or builds a stack that decodes, the way libc start code reads it, to exactly what was
// asked, entirely inside the buffer (ASan catches a write outside it).
#include <mica/loader/initial_stack.h>

#include <string>
#include <vector>

#include "fuzz.h"

using namespace mica::loader;

namespace {

constexpr size_t max_strings = 64, max_string = 300, max_buffer = 64 * 1024;

struct Reader {
    const uint8_t* buffer;
    size_t size;
    uint64_t base;  // the address the buffer is mapped at
    bool holds(uint64_t address, uint64_t length) const {
        return address >= base && address - base <= size && length <= size - (address - base);
    }
    uint64_t word(uint64_t address) const {
        FUZZ_CHECK(holds(address, 8));
        uint64_t v;
        memcpy(&v, buffer + (address - base), 8);
        return v;
    }
    std::string string(uint64_t address) const {
        FUZZ_CHECK(holds(address, 1));
        const void* start = buffer + (address - base);
        const void* nul = memchr(start, 0, size - (address - base));
        FUZZ_CHECK(nul != nullptr);
        return std::string(static_cast<const char*>(start), static_cast<const char*>(nul));
    }
};

std::vector<std::string> strings(fuzz::Input& in) {
    std::vector<std::string> out(in.below(max_strings + 1));
    for (auto& s : out) {
        char text[max_string];
        size_t n = in.bytes(text, sizeof text);
        for (size_t i = 0; i < n; ++i) text[i] = text[i] ? text[i] : 'x';  // C strings: no NULs inside
        s.assign(text, n);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    std::vector<std::string> args = strings(in), env = strings(in);
    size_t buffer_size = in.below(max_buffer + 1);
    uint64_t stack_address = (in.value<uint64_t>() & 0x7ffffffff000ull) + (in.byte() & 7) * 8;
    uint8_t random[at_random_size];
    for (auto& b : random) b = in.byte();

    std::vector<const char*> argv, envp;
    for (auto& a : args) argv.push_back(a.c_str());
    for (auto& e : env) envp.push_back(e.c_str());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    ProcessStartInfo info;
    info.argv = argv.data();
    info.envp = envp.data();
    info.execfn = args.empty() ? "/bin/program" : argv[0];
    info.platform = in.byte() & 1 ? "x86_64" : "aarch64";
    info.random = random;
    info.phdr = in.value<uint64_t>();
    info.phnum = in.byte();
    info.entry = in.value<uint64_t>();
    info.has_hwcap2 = in.byte() & 1;
    info.sysinfo_ehdr = in.byte() & 1 ? in.value<uint64_t>() | 1 : 0;

    std::vector<uint8_t> buffer(buffer_size);  // exactly the size given: ASan sees overflows
    uint64_t sp = 0x1234;
    int r = build_initial_stack(buffer.data(), buffer.size(), stack_address, info, sp);
    if (r != 0) {
        FUZZ_CHECK(r == -errno_2big || (r == -errno_inval && buffer_size == 0));  // (no buffer at all)
        FUZZ_CHECK(sp == 0x1234);
        return 0;
    }
    Reader stack{buffer.data(), buffer.size(), stack_address};
    FUZZ_CHECK(sp % stack_alignment == 0);
    FUZZ_CHECK(stack.holds(sp, 8));
    uint64_t at = sp;
    FUZZ_CHECK(stack.word(at) == args.size());
    at += 8;
    for (auto& a : args) {
        FUZZ_CHECK(stack.string(stack.word(at)) == a);
        at += 8;
    }
    FUZZ_CHECK(stack.word(at) == 0);
    at += 8;
    for (auto& e : env) {
        FUZZ_CHECK(stack.string(stack.word(at)) == e);
        at += 8;
    }
    FUZZ_CHECK(stack.word(at) == 0);
    at += 8;
    bool seen_random = false, seen_execfn = false, seen_platform = false, seen_sysinfo = false;
    for (int entries = 0;; ++entries) {
        FUZZ_CHECK(entries < 64);
        uint64_t type = stack.word(at), value = stack.word(at + 8);
        at += 16;
        if (type == at_null) break;
        if (type == at_random) {
            FUZZ_CHECK(stack.holds(value, at_random_size));
            FUZZ_CHECK(memcmp(buffer.data() + (value - stack_address), random, at_random_size) == 0);
            seen_random = true;
        }
        if (type == at_execfn) seen_execfn = stack.string(value) == info.execfn;
        if (type == at_platform) seen_platform = stack.string(value) == info.platform;
        if (type == at_entry) FUZZ_CHECK(value == info.entry);
        if (type == at_phdr) FUZZ_CHECK(value == info.phdr);
        if (type == at_sysinfo_ehdr) seen_sysinfo = value == info.sysinfo_ehdr;
        if (type == at_hwcap2) FUZZ_CHECK(info.has_hwcap2);
    }
    FUZZ_CHECK(seen_random && seen_execfn && seen_platform);
    FUZZ_CHECK(seen_sysinfo == (info.sysinfo_ehdr != 0));
    return 0;
}
