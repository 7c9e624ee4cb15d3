// The ELF reader (loader/elf.cc) on arbitrary bytes, for both machines: every input is
// either rejected with a message or parsed into a plan that keeps everything the loader
// trusts (the invariants tests/unit/test_elf.cc checks on real and corrupted programs).
#include <mica/loader/elf.h>

#include <initializer_list>

#include "fuzz.h"

using namespace mica::loader;

namespace {

bool inside(uint64_t start, uint64_t length, uint64_t outer, uint64_t outer_length) {
    return start >= outer && start - outer <= outer_length && length <= outer_length - (start - outer);
}

void check_plan(const LoadPlan& plan, const uint8_t* file, size_t size, uint16_t machine) {
    FUZZ_CHECK(plan.segment_count >= 1 && plan.segment_count <= max_load_segments);
    FUZZ_CHECK(plan.machine == machine);
    FUZZ_CHECK(plan.phnum <= max_program_headers && plan.phentsize == sizeof(Elf64ProgramHeader));
    FUZZ_CHECK(inside(plan.phdr_offset, uint64_t{plan.phnum} * plan.phentsize, 0, size));
    bool entry_found = false;
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const LoadSegment& s = plan.segments[i];
        FUZZ_CHECK(s.filesz <= s.memsz);
        FUZZ_CHECK(inside(s.offset, s.filesz, 0, size));
        FUZZ_CHECK((s.align & (s.align - 1)) == 0);
        FUZZ_CHECK((s.vaddr - s.offset) % elf_page_size == 0);
        FUZZ_CHECK(s.vaddr <= max_user_address && s.memsz <= max_user_address - s.vaddr);
        FUZZ_CHECK((s.prot & ~(prot_read | prot_write | prot_exec)) == 0);
        if (i > 0) FUZZ_CHECK(s.vaddr >= plan.segments[i - 1].vaddr + plan.segments[i - 1].memsz);
        FUZZ_CHECK(s.vaddr >= plan.lowest_address && s.vaddr + s.memsz <= plan.highest_address);
        if ((s.prot & prot_exec) && plan.entry >= s.vaddr && plan.entry < s.vaddr + s.filesz) entry_found = true;
    }
    FUZZ_CHECK(entry_found);
    FUZZ_CHECK(plan.lowest_address % elf_page_size == 0 && plan.highest_address % elf_page_size == 0);
    FUZZ_CHECK(plan.lowest_address <= plan.highest_address && plan.highest_address <= max_user_address);
    if (plan.phdr_address) {
        bool loaded = false;
        for (size_t i = 0; i < plan.segment_count; ++i) {
            loaded |= inside(plan.phdr_address, uint64_t{plan.phnum} * plan.phentsize, plan.segments[i].vaddr,
                             plan.segments[i].filesz);
        }
        FUZZ_CHECK(loaded);
    }
    if (plan.kind == ElfKind::dynamic) {
        FUZZ_CHECK(plan.interpreter != nullptr && plan.interpreter_length > 0);
        auto* path = reinterpret_cast<const uint8_t*>(plan.interpreter);
        FUZZ_CHECK(path >= file && path + plan.interpreter_length + 1 <= file + size);
        FUZZ_CHECK(strlen(plan.interpreter) == plan.interpreter_length);
    } else {
        FUZZ_CHECK(plan.interpreter == nullptr);
        FUZZ_CHECK((plan.kind == ElfKind::static_pie) == plan.position_independent);
    }
    if (plan.tls.present) {
        FUZZ_CHECK(plan.tls.filesz <= plan.tls.memsz && (plan.tls.align & (plan.tls.align - 1)) == 0);
        if (plan.tls.filesz) {
            bool loaded = false;
            for (size_t i = 0; i < plan.segment_count; ++i) {
                loaded |= inside(plan.tls.vaddr, plan.tls.filesz, plan.segments[i].vaddr, plan.segments[i].filesz);
            }
            FUZZ_CHECK(loaded);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    for (uint16_t machine : {em_x86_64, em_aarch64}) {
        LoadPlan plan;
        ElfResult r = parse_elf(data, size, machine, plan);
        FUZZ_CHECK(strnlen(r.message, sizeof r.message) < sizeof r.message);
        if (r.ok()) check_plan(plan, data, size, machine);
        else FUZZ_CHECK(r.message[0] != '\0');
    }
    return 0;
}
