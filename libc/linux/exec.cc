// Loading the application (process.h): the executable from the root filesystem, its
// segments into demand-paged application memory, the break after them, an 8 MiB stack
// with argv/envp/auxv, and a first thread that enters it. Static and static-PIE
// executables; dynamically linked ones are refused with a message saying so.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/boot.h>
#include <mica/format.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include "processes.h"
#include <mica/linux/signal.h>
#include <mica/linux/vdso.h>
#include <mica/loader/elf.h>
#include <mica/loader/initial_stack.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <new>
#include <stdlib.h>
#include <string.h>

namespace mica::abi {
namespace {

constexpr size_t page = 4096;
constexpr size_t stack_size = 8 << 20;        // Linux's default RLIMIT_STACK
constexpr size_t initial_stack_limit = 256 * 1024;  // argv + envp + auxv, built in a kernel buffer
constexpr uint16_t machine = arch::traits::elf_machine;
constexpr const char* platform = arch::traits::platform_name;

uintptr_t round_down(uintptr_t v) { return v & ~(page - 1); }
uintptr_t round_up(uintptr_t v) { return (v + page - 1) & ~(page - 1); }

// Not cryptographic: the cycle counter stirred with splitmix64 (there is no entropy source
// before a virtio-rng driver).
void random_bytes(uint8_t* out, size_t n) {
    uint64_t x = arch::cycles() ^ 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; ++i) {
        if (i % 8 == 0) {
            x += 0x9e3779b97f4a7c15ull;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            x = z ^ (z >> 31);
        }
        out[i] = static_cast<uint8_t>(x >> (8 * (i % 8)));
    }
}

struct Program {
    uintptr_t entry;
    uintptr_t stack_pointer;
};

void application_main(void* arg) {
    auto* p = static_cast<Program*>(arg);
    Program copy = *p;
    delete p;
    arch::enter_application(copy.entry, copy.stack_pointer);
}

template <typename... Args>
int fail(char* error, size_t size, int code, const char* format, Args... args) {
    fmt::snprintf(error, size, format, args...);
    return code;
}

// Maps the segments of `plan` biased by `bias` and copies their file bytes.
int load_segments(const loader::LoadPlan& plan, const uint8_t* file, uintptr_t bias, char* error, size_t n) {
    uintptr_t lo = plan.lowest_address + bias, hi = plan.highest_address + bias;
    intptr_t at = mm::vm::map_anonymous(lo, hi - lo, mm::prot_read | mm::prot_write, true, mm::VmaKind::image);
    if (at < 0) {
        return fail(error, n, static_cast<int>(at),
                    "cannot map the program at %#lx-%#lx (errno %ld): the kernel uses part of that range; "
                    "link it as a static PIE (-static-pie) to load it anywhere",
                    lo, hi, -at);
    }
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const loader::LoadSegment& s = plan.segments[i];
        // The kernel writes application memory directly: pages fault in as it goes.
        memcpy(reinterpret_cast<void*>(s.vaddr + bias), file + s.offset, s.filesz);
    }
    // Each segment's pages get its protection; a page two segments share gets both.
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const loader::LoadSegment& s = plan.segments[i];
        uintptr_t start = round_down(s.vaddr + bias), end = round_up(s.vaddr + bias + s.memsz);
        if (int r = mm::vm::protect(start, end - start, s.prot)) {
            return fail(error, n, r, "cannot protect segment %zu (errno %d)", i, -r);
        }
        if (i > 0) {
            const loader::LoadSegment& prev = plan.segments[i - 1];
            uintptr_t shared = round_down(prev.vaddr + bias + prev.memsz - 1);
            if (shared == start) mm::vm::protect(start, page, s.prot | prev.prot);
        }
    }
    return 0;
}

}  // namespace

bool is_application_pc(uintptr_t pc) {
    return pc < reinterpret_cast<uintptr_t>(_kernel_start) || pc >= reinterpret_cast<uintptr_t>(_kernel_end);
}

int start_application(const char* const* argv, const char* const* envp, char* error, size_t n) {
    uintptr_t entry = 0, sp = 0;
    bool committed;
    if (int r = load_program(argv[0], argv, envp, entry, sp, error, n, committed)) return r;
    auto* program = new Program{entry, sp};
    sched::Thread* t = sched::create("main", application_main, program);
    auto* app = static_cast<AppThread*>(calloc(1, sizeof(AppThread)));
    void* state = aligned_alloc(16, arch::app_state_size());
    if (!t || !app || !state) return fail(error, n, -12, "no memory for the first thread");
    arch::app_state_init(state, 0);
    app->state = state;
    app->exception_base = t->exception_top;
    if (!become_first_process(t, app)) return fail(error, n, -12, "no memory for the first process");
    t->app = app;
    t->app_state = state;
    sched::detach(t);
    sched::start(t);
    return 0;
}

int load_program(const char* path, const char* const* argv, const char* const* envp, uintptr_t& entry,
                 uintptr_t& stack_pointer, char* error, size_t n, bool& committed) {
    committed = false;
    void* data = nullptr;
    size_t size = 0;
    if (int r = files_read_whole(path, &data, &size)) {
        const char* why = r == -2    ? "no such file"
                          : r == -12 ? "out of memory (the whole file is read into the kernel heap)"
                          : r == -13 ? "not a regular file"
                          : r == -20 ? "a path component is not a directory"
                                     : "read error";
        return fail(error, n, r, "cannot read %s: %s", path, why);
    }
    auto* file = static_cast<const uint8_t*>(data);
    loader::LoadPlan plan;
    loader::ElfResult parsed = loader::parse_elf(file, size, machine, plan);
    if (!parsed.ok()) {
        free(data);
        return fail(error, n, -8 /* ENOEXEC */, "%s: %s", path, parsed.message);
    }
    if (plan.kind == loader::ElfKind::dynamic) {
        free(data);
        return fail(error, n, -8, "%s is dynamically linked (interpreter %s): only static executables run so far",
                    path, plan.interpreter);
    }
    // The point of no return of execve: whatever the process had mapped goes.
    committed = true;
    mm::vm::unmap_all();
    uintptr_t bias = 0;
    if (plan.position_independent) {
        // Anywhere: a free range found by placing a temporary area the program's size.
        size_t span = plan.highest_address - plan.lowest_address;
        intptr_t at = mm::vm::map_anonymous(arch::traits::pie_base, span, 0, false);
        if (at < 0) {
            free(data);
            return fail(error, n, static_cast<int>(at), "no room for %s (%zu bytes)", path, span);
        }
        mm::vm::unmap(static_cast<uintptr_t>(at), span);
        bias = static_cast<uintptr_t>(at) - plan.lowest_address;
    }
    if (int r = load_segments(plan, file, bias, error, n)) {
        free(data);
        return r;
    }
    free(data);
    mm::vm::set_break_area(plan.highest_address + bias);

    int stack_prot = mm::prot_read | mm::prot_write | (plan.stack_prot & mm::prot_exec);
    intptr_t stack = mm::vm::map_anonymous(0, stack_size, stack_prot, false, mm::VmaKind::stack);
    if (stack < 0) return fail(error, n, static_cast<int>(stack), "no memory for the stack");
    uint8_t random[loader::at_random_size];
    random_bytes(random, sizeof random);
    loader::ProcessStartInfo info;
    info.argv = argv;
    info.envp = envp;
    info.execfn = path;
    info.platform = platform;
    info.random = random;
    info.phdr = plan.phdr_address ? plan.phdr_address + bias : 0;
    info.phent = plan.phentsize;
    info.phnum = plan.phnum;
    info.entry = plan.entry + bias;
    info.hwcap = arch::linux_hwcap();
    if (intptr_t vdso = map_vdso(); vdso > 0) info.sysinfo_ehdr = static_cast<uint64_t>(vdso);  // else none
    // Built in a kernel buffer, then copied: small first (the usual case), larger if needed.
    uint64_t sp = 0;
    int r = -loader::errno_2big;
    for (size_t size = 16 * 1024; r == -loader::errno_2big && size <= initial_stack_limit; size *= 4) {
        auto* buffer = static_cast<uint8_t*>(malloc(size));
        if (!buffer) return fail(error, n, -12, "no memory for the initial stack");
        uintptr_t buffer_address = static_cast<uintptr_t>(stack) + stack_size - size;
        r = loader::build_initial_stack(buffer, size, buffer_address, info, sp);
        if (r == 0) r = mm::vm::copy_to_app(reinterpret_cast<void*>(buffer_address), buffer, size);
        free(buffer);
    }
    if (r) return fail(error, n, r, "arguments and environment do not fit in %zu bytes", initial_stack_limit);

    set_executable_path(path);
    entry = plan.entry + bias;
    stack_pointer = static_cast<uintptr_t>(sp);
    return 0;
}

}  // namespace mica::abi
