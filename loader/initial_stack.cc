#include <mica/loader/initial_stack.h>
#include <string.h>

namespace mica::loader {
namespace {

constexpr size_t word_size = sizeof(uint64_t);
constexpr size_t max_aux_entries = 24;  // every AT_* written below, AT_NULL included

struct AuxEntry {
    uint64_t type;
    uint64_t value;
};

// Grows `need` by `n` bytes unless that exceeds `limit` (need <= limit holds throughout, so
// nothing overflows however large the strings or counts are).
bool grow(size_t& need, size_t n, size_t limit) {
    if (n > limit - need) return false;
    need += n;
    return true;
}

// Sizes the strings of a nullptr-terminated list (with their NULs) and counts its entries.
bool measure_list(const char* const* list, size_t& count, size_t& string_bytes, size_t limit) {
    count = 0;
    for (; list && list[count]; ++count) {
        size_t length = strnlen(list[count], limit);
        if (length == limit || !grow(string_bytes, length + 1, limit)) return false;
    }
    return true;
}

class StackWriter {
public:
    StackWriter(uint8_t* buffer, uint64_t address) : buffer_(buffer), address_(address) {}
    void word(size_t& offset, uint64_t value) {
        memcpy(buffer_ + offset, &value, sizeof value);  // the host buffer may be unaligned
        offset += word_size;
    }
    // Copies `text` with its NUL at `offset` and returns the address the program will see.
    uint64_t string(size_t& offset, const char* text) {
        size_t length = strlen(text) + 1;
        memcpy(buffer_ + offset, text, length);
        uint64_t at = address_ + offset;
        offset += length;
        return at;
    }
    uint64_t address(size_t offset) const { return address_ + offset; }

private:
    uint8_t* buffer_;
    uint64_t address_;
};

}  // namespace

int build_initial_stack(void* buffer, size_t size, uint64_t stack_address, const ProcessStartInfo& info,
                        uint64_t& stack_pointer) {
    if (!buffer || !info.execfn || !info.platform || !info.random) return -errno_inval;
    if (size > UINT64_MAX - stack_address) return -errno_inval;  // the stack would wrap

    // Sizes first, top down: end marker, strings, random bytes; then the word block.
    size_t need = word_size, string_bytes = 0, argc = 0, envc = 0;
    size_t platform_length = strnlen(info.platform, size), execfn_length = strnlen(info.execfn, size);
    if (platform_length == size || execfn_length == size) return -errno_2big;
    if (!grow(string_bytes, platform_length + 1, size) || !grow(string_bytes, execfn_length + 1, size) ||
        !measure_list(info.argv, argc, string_bytes, size) || !measure_list(info.envp, envc, string_bytes, size) ||
        !grow(need, string_bytes, size) || !grow(need, at_random_size, size))
        return -errno_2big;
    size_t random_offset = size - need;

    AuxEntry aux[max_aux_entries];
    size_t aux_count = 0;
    auto add = [&](uint64_t type, uint64_t value) { aux[aux_count++] = {type, value}; };
    // Values that point into the stack are filled in once the strings are placed.
    add(at_phdr, info.phdr);
    add(at_phent, info.phent);
    add(at_phnum, info.phnum);
    add(at_pagesz, info.page_size);
    add(at_base, info.base);
    add(at_flags, info.flags);
    add(at_entry, info.entry);
    add(at_uid, info.uid);
    add(at_euid, info.euid);
    add(at_gid, info.gid);
    add(at_egid, info.egid);
    add(at_secure, 0);
    size_t random_slot = aux_count;
    add(at_random, 0);
    add(at_hwcap, info.hwcap);
    if (info.has_hwcap2) add(at_hwcap2, info.hwcap2);
    add(at_clktck, clock_ticks_per_second);
    size_t platform_slot = aux_count;
    add(at_platform, 0);
    size_t execfn_slot = aux_count;
    add(at_execfn, 0);
    if (info.sysinfo_ehdr) add(at_sysinfo_ehdr, info.sysinfo_ehdr);
    add(at_null, 0);

    // argc, argv + NULL, envp + NULL, auxv. Counts are bounded by the string bytes (each
    // entry has at least its NUL), so the multiplication below cannot overflow.
    size_t words = 1 + (argc + 1) + (envc + 1) + 2 * aux_count;
    if (words > (size - need) / word_size) return -errno_2big;
    grow(need, words * word_size, size);
    // Round the stack pointer down to the ABI alignment, as an address (the buffer itself
    // may be aligned differently on the host).
    uint64_t block_address = stack_address + (size - need);
    uint64_t sp = block_address & ~uint64_t{stack_alignment - 1};
    if (sp < stack_address) return -errno_2big;
    size_t sp_offset = sp - stack_address;

    auto* bytes = static_cast<uint8_t*>(buffer);
    StackWriter out(bytes, stack_address);
    // Strings from low to high: platform, argv, envp, execfn.
    size_t string_offset = random_offset + at_random_size;
    aux[platform_slot].value = out.string(string_offset, info.platform);
    size_t block = sp_offset + word_size * 1;  // argv[0]
    for (size_t i = 0; i < argc; ++i) out.word(block, out.string(string_offset, info.argv[i]));
    out.word(block, 0);
    for (size_t i = 0; i < envc; ++i) out.word(block, out.string(string_offset, info.envp[i]));
    out.word(block, 0);
    aux[execfn_slot].value = out.string(string_offset, info.execfn);
    memset(bytes + string_offset, 0, size - string_offset);  // the end marker

    memcpy(bytes + random_offset, info.random, at_random_size);
    aux[random_slot].value = out.address(random_offset);
    for (size_t i = 0; i < aux_count; ++i) {
        out.word(block, aux[i].type);
        out.word(block, aux[i].value);
    }
    memset(bytes + block, 0, random_offset - block);  // alignment padding: deterministic
    size_t argc_offset = sp_offset;
    out.word(argc_offset, argc);

    stack_pointer = sp;
    return 0;
}

}  // namespace mica::loader
