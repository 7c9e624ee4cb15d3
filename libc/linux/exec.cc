// Loading the application (process.h): the executable from the root filesystem, its
// segments into demand-paged application memory, the break after them, an 8 MiB stack
// with argv/envp/auxv, and a first thread that enters it. Static and static-PIE
// executables start at their entry; a dynamically linked one starts in the interpreter its
// PT_INTERP names (mode 2 of loader/Kconfig), loaded beside it, which maps the libraries.
#include <mica/trace/trace.h>
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/boot.h>
#include <mica/config.h>
#include <mica/format.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include "processes.h"
#include <mica/linux/signal.h>
#include <mica/linux/vdso.h>
#include <mica/loader/elf.h>
#include <mica/loader/initial_stack.h>
#include <mica/mm/heap.h>
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

// Maps the segments of `plan` biased by `bias` and reads their file bytes into place.
int load_segments(const loader::LoadPlan& plan, fs::OpenFile* file, uintptr_t bias, char* error, size_t n) {
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
        // The pages wholly inside the segment's file bytes are the file's own, shared
        // copy-on-write where the file system keeps whole pages (ramfs): a program costs only
        // the pages it writes, and its code stays in the same pages from run to run. The
        // partial pages at either end (shared with the headers, another segment or .bss)
        // are copied. The kernel writes application memory directly: pages fault in.
        uintptr_t start = s.vaddr + bias, end = start + s.filesz;
        uintptr_t whole_start = round_up(start), whole_end = round_down(end);
        int shared = 0;
        if (whole_start < whole_end) {
            shared = files_map_pages(file, s.offset + (whole_start - start), whole_start, whole_end - whole_start);
            if (shared < 0) {
                return fail(error, n, shared, "cannot map segment %zu: %s", i,
                            shared == -mm::errno_nomem ? "out of memory" : "cannot read the file");
            }
        }
        struct Part {
            uintptr_t from, to;
        } parts[2] = {{start, end}, {end, end}};
        if (shared > 0) parts[0] = {start, whole_start}, parts[1] = {whole_end, end};
        for (const Part& part : parts) {
            if (part.from >= part.to) continue;
            size_t length = part.to - part.from;
            // The kernel writes these pages itself: in place first, so that running out of
            // memory is an error here and not a fault in the kernel.
            if (int r = mm::vm::populate(part.from, length); r < 0) {
                return fail(error, n, r, "cannot load segment %zu: out of memory", i);
            }
            int64_t r = files_read_at(file, reinterpret_cast<void*>(part.from), length, s.offset + (part.from - start));
            if (r != static_cast<int64_t>(length)) {
                return fail(error, n, r < 0 ? static_cast<int>(r) : -5 /* EIO */,
                            "cannot read segment %zu (%llu bytes at offset %#llx): %s", i,
                            static_cast<unsigned long long>(s.filesz), static_cast<unsigned long long>(s.offset),
                            r < 0 ? "read error" : "the file is shorter than its headers say");
            }
        }
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
    ProgramLoad loaded;
    if (int r = load_program(argv[0], argv, envp, entry, sp, error, n, committed, &loaded)) return r;
    auto* program = new Program{entry, sp};
    sched::Thread* t = sched::create("main", application_main, program);
    auto* app = static_cast<AppThread*>(calloc(1, sizeof(AppThread)));
    void* state = aligned_alloc(16, arch::app_state_size());
    if (!t || !app || !state) return fail(error, n, -12, "no memory for the first thread");
    arch::app_state_init(state, 0);
    app->state = state;
    app->exception_base = t->exception_top;
    if (!become_first_process(t, app)) return fail(error, n, -12, "no memory for the first process");
    static_cast<Process*>(app->process)->program_load = loaded;  // loaded before the process existed
    t->app = app;
    t->app_state = state;
    sched::detach(t);
    sched::start(t);
    return 0;
}

namespace {

// An executable or interpreter, open, with its headers read and validated; the segments are
// read straight into place (load_segments), so a large program never sits in the heap.
struct Image {
    fs::OpenFile* file = nullptr;
    uint8_t* headers = nullptr;  // the first bytes of the file (plan.interpreter points here)
    loader::LoadPlan plan;
    ~Image() {
        free(headers);
        if (file) files_release(&file, 1);
    }
};

// Headers are read a page at first; real programs keep their program headers and
// interpreter path there. A file that puts them further is read up to this much.
constexpr size_t first_header_read = page, max_header_read = 256 * 1024;

const char* read_failure(int r) {
    return r == -2    ? "no such file"
           : r == -12 ? "out of memory"
           : r == -13 ? "not a regular file"
           : r == -20 ? "a path component is not a directory"
                      : "read error";
}

// Opens `path` and parses its headers: 0, or -errno (ENOEXEC for a malformed file) and a
// message naming the problem.
int open_image(const char* path, Image& image, char* error, size_t n) {
    uint64_t size = 0;
    if (int r = files_open_regular(path, &image.file, &size)) {
        image.file = nullptr;
        return fail(error, n, r, "cannot read %s: %s", path, read_failure(r));
    }
    for (size_t want = first_header_read;; want = max_header_read) {
        size_t length = size < want ? static_cast<size_t>(size) : want;
        free(image.headers);
        image.headers = static_cast<uint8_t*>(malloc(length ? length : 1));
        if (!image.headers) return fail(error, n, -12, "cannot read %s: out of memory", path);
        int64_t got = files_read_at(image.file, image.headers, length, 0);
        if (got < 0) return fail(error, n, static_cast<int>(got), "cannot read %s: read error", path);
        loader::ElfResult parsed =
            loader::parse_elf_prefix(image.headers, static_cast<size_t>(got), size, machine, image.plan);
        if (parsed.ok()) return 0;
        if (parsed.error != loader::ElfError::headers_beyond_prefix || want == max_header_read || length == size)
            return fail(error, n, -8 /* ENOEXEC */, "%s: %s", path, parsed.message);
    }
}


// The interpreter a dynamic program names, read and checked before anything of the old
// program goes: a missing one is -ENOENT as on Linux (a shell says "not found" although the
// program exists), a bad one -ELIBBAD.
int read_interpreter(const char* path, const Image& program, Image& interpreter, char* error, size_t n) {
    const char* name = program.plan.interpreter;
    if (!CONFIG_LOADER_DYNAMIC) {
        return fail(error, n, -8, "%s is dynamically linked (interpreter %s), and this kernel runs static executables "
                    "only (CONFIG_LOADER_STATIC_ONLY)", path, name);
    }
    constexpr int e_libbad = 80;
    char why[192];
    if (int r = open_image(name, interpreter, why, sizeof why)) {
        const char* hint = r == -2 ? " (tools/run --app packs a program's interpreter and libraries)" : "";
        return fail(error, n, r == -2 ? r : -e_libbad, "cannot run %s: its interpreter: %s%s", path, why, hint);
    }
    if (interpreter.plan.kind == loader::ElfKind::dynamic) {
        return fail(error, n, -e_libbad, "cannot run %s: its interpreter %s names an interpreter itself (%s)", path, name,
                    interpreter.plan.interpreter);
    }
    return 0;
}

// Where a position-independent image of `plan`'s size fits at or above `hint`: a free range
// found by placing a temporary area there. The load bias, or -errno.
intptr_t choose_bias(const loader::LoadPlan& plan, uintptr_t hint) {
    size_t span = plan.highest_address - plan.lowest_address;
    intptr_t at = mm::vm::map_anonymous(hint, span, 0, false);
    if (at < 0) return at;
    mm::vm::unmap(static_cast<uintptr_t>(at), span);
    return at - static_cast<intptr_t>(plan.lowest_address);
}

// Maps `image` (a PIE at a bias found from `hint`, anything else at its link addresses)
// and copies its segments in: the bias, or -errno and a message.
intptr_t map_image(const char* path, const Image& image, uintptr_t hint, char* error, size_t n) {
    uintptr_t bias = 0;
    if (image.plan.position_independent) {
        intptr_t b = choose_bias(image.plan, hint);
        if (b < 0) {
            return fail(error, n, static_cast<int>(b), "no room for %s (%llu bytes)", path,
                        static_cast<unsigned long long>(image.plan.highest_address - image.plan.lowest_address));
        }
        bias = static_cast<uintptr_t>(b);
    }
    if (int r = load_segments(image.plan, image.file, bias, error, n)) return r;
    return static_cast<intptr_t>(bias);
}

}  // namespace

int load_program(const char* path, const char* const* argv, const char* const* envp, uintptr_t& entry,
                 uintptr_t& stack_pointer, char* error, size_t n, bool& committed, ProgramLoad* loaded) {
    committed = false;
    Image program, interpreter;
    if (int r = open_image(path, program, error, n)) return r;
    const loader::LoadPlan& plan = program.plan;
    bool dynamic = plan.kind == loader::ElfKind::dynamic;
    if (dynamic) {
        if (int r = read_interpreter(path, program, interpreter, error, n)) return r;
    }
    // The point of no return of execve: whatever the process had mapped goes.
    committed = true;
    mm::vm::unmap_all();
    intptr_t bias = map_image(path, program, arch::traits::pie_base, error, n);
    if (bias < 0) return static_cast<int>(bias);
    uintptr_t program_end = plan.highest_address + static_cast<uintptr_t>(bias);
    mm::vm::set_break_area(program_end);
    // The interpreter goes where mmap puts things (Linux: the mmap base), away from the
    // program, so that the program's break can grow.
    intptr_t interpreter_bias = 0;
    if (dynamic) {
        interpreter_bias = map_image(plan.interpreter, interpreter, arch::traits::mmap_base, error, n);
        if (interpreter_bias < 0) return static_cast<int>(interpreter_bias);
    }

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
    // AT_PHDR must point at the table in memory: ld.so finds the program's PT_DYNAMIC
    // through it. A program whose loaded bytes do not cover the table cannot be linked.
    if (dynamic && !plan.phdr_address) {
        return fail(error, n, -8, "%s: its program headers are not in a loaded segment, so %s cannot find them",
                    path, plan.interpreter);
    }
    info.phdr = plan.phdr_address ? plan.phdr_address + bias : 0;
    info.phent = plan.phentsize;
    info.phnum = plan.phnum;
    info.entry = plan.entry + bias;
    info.base = dynamic ? interpreter.plan.lowest_address + interpreter_bias : 0;
    info.hwcap = arch::linux_hwcap();
    if (intptr_t vdso = map_vdso(); vdso > 0) info.sysinfo_ehdr = static_cast<uint64_t>(vdso);  // else none
    // Built in a kernel buffer, then copied: small first (the usual case), larger if needed.
    uint64_t sp = 0;
    int r = -loader::errno_2big;
    // The first try fits one page of the heap (a small machine may have no free run of
    // several pages), then 16 KiB and up.
    constexpr size_t first_buffer = mm::Heap::one_page_large, second_buffer = 16 * 1024;
    for (size_t size = first_buffer; r == -loader::errno_2big && size <= initial_stack_limit;
         size = size < second_buffer ? second_buffer : size * 4) {
        auto* buffer = static_cast<uint8_t*>(malloc(size));
        if (!buffer) return fail(error, n, -12, "no memory for the initial stack");
        uintptr_t buffer_address = static_cast<uintptr_t>(stack) + stack_size - size;
        r = loader::build_initial_stack(buffer, size, buffer_address, info, sp);
        if (r == 0) r = mm::vm::copy_to_app(reinterpret_cast<void*>(buffer_address), buffer, size);
        free(buffer);
    }
    if (r == -loader::errno_2big) {
        return fail(error, n, r, "arguments and environment do not fit in %zu bytes", initial_stack_limit);
    }
    // The stack area is the new program's own: a copy into it fails only when its pages
    // cannot be populated.
    if (r) return fail(error, n, -12, "no memory for the initial stack's pages");

    set_executable_path(path);
    ProgramLoad load{static_cast<uintptr_t>(bias), static_cast<uintptr_t>(interpreter_bias)};
    set_process_load(load);
    if (loaded) *loaded = load;
    // The first program has no process yet (its thread is made next): it becomes process 1.
    if (int pid = current_pid()) TRACE(app_exec, pid, path, bias, interpreter_bias);
    else TRACE(app_start, first_process_id, path, bias, interpreter_bias);
    entry = dynamic ? interpreter.plan.entry + interpreter_bias : plan.entry + bias;
    stack_pointer = static_cast<uintptr_t>(sp);
    return 0;
}

}  // namespace mica::abi
