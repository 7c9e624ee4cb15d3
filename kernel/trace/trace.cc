// Tracepoints: the options, the per-CPU rings and the record writer (trace.h).
#include "internal.h"

#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/boot.h>
#include <mica/cmdline.h>
#include <mica/console.h>
#include <mica/format.h>
#include <mica/frame_walk.h>
#include <mica/linux/process.h>
#include <mica/mm/memory.h>
#include <mica/sched/spinlock.h>
#include <mica/trace/options.h>
#include <string.h>

namespace mica::trace {

bool enabled[point_count];  // see trace.h

namespace internal {
Options options;
CpuRing rings[sched::max_cpus];
unsigned ring_count = 0;
void* scratch = nullptr;
bool stopped = false;
}  // namespace internal

using namespace internal;

namespace {

constexpr unsigned min_buffer_kib = 4, max_buffer_kib = 4096;  // the page allocator's largest block (4 MiB)
static_assert((CONFIG_TRACE_BUFFER_KIB & (CONFIG_TRACE_BUFFER_KIB - 1)) == 0 &&
                  CONFIG_TRACE_BUFFER_KIB >= min_buffer_kib && CONFIG_TRACE_BUFFER_KIB <= max_buffer_kib,
              "CONFIG_TRACE_BUFFER_KIB must be a power of two from 4 to 4096 (a ring's size)");
constexpr unsigned max_profile_hz = 10000;
constexpr size_t kib = 1024;

// fnmatch-style: '*' any run, '?' one character.
bool glob(const char* pattern, const char* text) {
    if (*pattern == '\0') return *text == '\0';
    if (*pattern == '*') return glob(pattern + 1, text) || (*text && glob(pattern, text + 1));
    if (!*text) return false;
    return (*pattern == '?' || *pattern == *text) && glob(pattern + 1, text + 1);
}

// Set by --trace's parser to the pattern that matched nothing (the error names it).
char bad_pattern_message[160];

const char* apply_patterns(const char* value) {
    if (!*value) return "needs at least one pattern (--trace-list lists the tracepoints)";
    const char* p = value;
    while (true) {
        const char* comma = strchr(p, ',');
        size_t n = comma ? static_cast<size_t>(comma - p) : strlen(p);
        char pattern[64];
        if (n == 0 || n >= sizeof pattern) {
            fmt::snprintf(bad_pattern_message, sizeof bad_pattern_message, "bad pattern '%.*s' (empty or too long)",
                          static_cast<int>(n < 64 ? n : 64), p);
            return bad_pattern_message;
        }
        memcpy(pattern, p, n);
        pattern[n] = '\0';
        bool matched = false;
        for (size_t i = 0; i < point_count; ++i) {
            if (glob(pattern, descriptors[i].name)) {
                options.requested[i] = matched = true;
            }
        }
        if (!matched) {
            fmt::snprintf(bad_pattern_message, sizeof bad_pattern_message,
                          "pattern '%s' matches no tracepoint (--trace-list lists them)", pattern);
            return bad_pattern_message;
        }
        options.any = true;
        if (!comma) return nullptr;
        p = comma + 1;
    }
}

// A decimal number in [low, high], or false.
bool parse_number(const char* v, unsigned low, unsigned high, unsigned& out) {
    if (!*v) return false;
    uint64_t n = 0;
    for (; *v; ++v) {
        if (*v < '0' || *v > '9') return false;
        n = n * 10 + static_cast<unsigned>(*v - '0');
        if (n > high) return false;
    }
    if (n < low) return false;
    out = static_cast<unsigned>(n);
    return true;
}

const cmdline::Option option_table[] = {
    {"trace", "PATTERN[,PATTERN...]",
     "enable the tracepoints matching the patterns (globs over names: sched.*, syscall.*, *); the rings are "
     "written to the console at exit (tools/run --trace-out FILE)", nullptr, apply_patterns},
    {"trace-list", nullptr, "list every tracepoint with its fields and stop", nullptr,
     [](const char*) -> const char* { options.list = true; return nullptr; }},
    {"trace-backtrace", nullptr, "record a call chain (up to 16 frames) with every trace record", nullptr,
     [](const char*) -> const char* { options.backtrace = true; return nullptr; }},
    {"trace-buffer", "KIB", "each CPU's trace ring in KiB (a power of two, 4 to 4096)", nullptr,
     [](const char* v) -> const char* {
         unsigned n;
         if (!parse_number(v, min_buffer_kib, max_buffer_kib, n) || (n & (n - 1))) {
             return "expected a power of two from 4 to 4096 (KiB per CPU)";
         }
         options.buffer_kib = n;
         return nullptr;
     }},
    {"profile", "HZ", "sample the interrupted instruction on every CPU HZ times a second (1 to 10000), "
     "as profile.sample trace records", nullptr,
     [](const char* v) -> const char* {
         unsigned n;
         if (!parse_number(v, 1, max_profile_hz, n)) return "expected a sampling rate from 1 to 10000 (Hz)";
         options.profile_hz = n;
         return nullptr;
     }},
};

// The names of live threads (thread_named), so the dump can name every one of them even when
// the record of its creation was overwritten. Owned here, under names_lock. Threads beyond
// max_named are named only by their own records.
constexpr size_t max_named = 256;
constexpr size_t thread_name_size = 16;
struct NamedThread {
    uint32_t id;
    char name[thread_name_size];
};
NamedThread named[max_named];
sched::Spinlock names_lock;

const char* name_of(const sched::Thread* t) {
    if (t->app) {
        auto* app = static_cast<const abi::AppThread*>(t->app);
        if (app->name[0]) return app->name;
    }
    return t->name;
}

size_t pad8(size_t n) { return (n + record_align - 1) & ~(record_align - 1); }

// Where the backtrace walk may read a frame record: thread stacks (the stack area) and the
// kernel image (the boot stack). A frame pointer leading anywhere else (an application's
// stack, interrupted by the interrupt or system call that fired the tracepoint) ends the walk:
// reading it could fault on memory the application never mapped, with interrupts off.
bool kernel_frame(uintptr_t frame) {
    constexpr uintptr_t record_bytes = 2 * sizeof(uintptr_t);
    bool stacks = frame >= arch::traits::stack_area_base &&
                  frame - arch::traits::stack_area_base < arch::traits::stack_area_size - record_bytes;
    bool image = frame >= reinterpret_cast<uintptr_t>(_kernel_start) &&
                 frame + record_bytes <= reinterpret_cast<uintptr_t>(_kernel_end);
    return stacks || image;
}

}  // namespace

cmdline::OptionTable command_line_options() { return {option_table, sizeof option_table / sizeof option_table[0]}; }

uint32_t thread_id(const sched::Thread* t) {
    if (!t) return 0;
    if (t->app) return static_cast<uint32_t>(static_cast<const abi::AppThread*>(t->app)->tid);
    return kernel_thread_base + static_cast<uint32_t>(t->id);
}

namespace internal {

void write_record(Point point, const uint64_t* words, bool with_backtrace, uintptr_t pc, uintptr_t frame) {
    bool irqs = arch::interrupts_enabled();
    arch::interrupts_disable();
    CpuRing& cpu = rings[arch::cpu_index()];
    __atomic_store_n(&cpu.busy, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // pairs with the dump's: it sees busy, or we see stopped
    if (cpu.ring.ready() && !__atomic_load_n(&stopped, __ATOMIC_RELAXED)) {
        const Descriptor& d = descriptors[size_t(point)];
        RecordHeader header{arch::cycles(), static_cast<uint16_t>(point), 0, thread_id(sched::current_irqs_off())};
        size_t lengths[max_fields];
        const char* strings[max_fields];
        size_t string_count = 0;
        for (unsigned f = 0; f < d.field_count; ++f) {
            if (d.fields[f].type != FieldType::string) continue;
            const char* s = reinterpret_cast<const char*>(words[f]);
            if (!s) s = "";
            size_t n = strnlen(s, max_string);
            strings[string_count] = s;
            lengths[string_count++] = n;
        }
        uint64_t backtrace[1 + max_backtrace];
        size_t depth = 0;
        if (with_backtrace) {
            if (pc) backtrace[1 + depth++] = pc;
            if (frame) {
                walk_frames(frame, arch::traits::frame_alignment, arch::traits::call_adjust, [&](uintptr_t ret) {
                    if (depth < max_backtrace) backtrace[1 + depth++] = ret;
                }, kernel_frame);
            }
            backtrace[0] = depth;
        }
        size_t size = ring_record_size(d, lengths, with_backtrace, depth);
        header.size = static_cast<uint16_t>(size);
        // The fields as the ring keeps them: a string's length in place of its pointer.
        uint64_t fields[max_fields];
        for (unsigned f = 0, s = 0; f < d.field_count; ++f) {
            fields[f] = d.fields[f].type == FieldType::string ? lengths[s++] : words[f];
        }
        static constexpr uint64_t zeros = 0;
        Ring::Piece pieces[3 + 2 * max_fields];
        size_t n = 0;
        pieces[n++] = {&header, sizeof header};
        if (d.field_count) pieces[n++] = {fields, d.field_count * sizeof(uint64_t)};
        if (with_backtrace) pieces[n++] = {backtrace, (1 + depth) * sizeof(uint64_t)};
        for (size_t s = 0; s < string_count; ++s) {
            pieces[n++] = {strings[s], lengths[s]};
            if (size_t pad = pad8(lengths[s]) - lengths[s]) pieces[n++] = {&zeros, pad};
        }
        cpu.ring.write(pieces, n, size);
    }
    __atomic_store_n(&cpu.busy, 0, __ATOMIC_RELEASE);
    if (irqs) arch::interrupts_enable();
}

void name_live_threads() {
    if (!enabled[size_t(Point::sched_thread_name)]) return;
    // A panic may have struck while the table was being changed: then the names stay
    // those the records already hold.
    bool irqs = arch::interrupts_enabled();
    arch::interrupts_disable();
    if (names_lock.try_lock()) {
        for (auto& n : named) {
            if (n.id) emit<Point::sched_thread_name>(n.id, n.name);
        }
        names_lock.unlock();
    }
    if (irqs) arch::interrupts_enable();
}

}  // namespace internal

// Never inlined and never a tail call: its own frame is where the backtrace starts, so the first
// return address is always in the function that fired the tracepoint (even with LTO).
__attribute__((noinline)) void write(Point point, const uint64_t* words) {
    write_record(point, words, options.backtrace, 0, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)));
    asm volatile("" ::: "memory");
}

void thread_named(const sched::Thread* t) {
    if (!ring_count) return;  // not tracing: no table to keep
    uint32_t id = thread_id(t);
    const char* name = name_of(t);
    {
        sched::SpinGuard guard(names_lock);
        NamedThread* slot = nullptr;
        for (auto& n : named) {
            if (n.id == id) {
                slot = &n;
                break;
            }
            if (!slot && !n.id) slot = &n;
        }
        if (slot) {
            slot->id = id;
            size_t n = strnlen(name, thread_name_size - 1);
            memcpy(slot->name, name, n);
            slot->name[n] = '\0';
        }
    }
    TRACE(sched_thread_name, id, name);
}

void thread_ended(const sched::Thread* t) {
    if (!ring_count) return;
    uint32_t id = thread_id(t);
    sched::SpinGuard guard(names_lock);
    for (auto& n : named) {
        if (n.id == id) n.id = 0;
    }
}

bool list_requested() { return options.list; }

void print_list() {
    kprintf("Tracepoints (--trace=PATTERN enables those whose names match; fields in record order):\n");
    static const char* const type_names[] = {"?", "u64", "s64", "hex", "string", "result"};
    for (const Descriptor& d : descriptors) {
        kprintf("  %-20s", d.name);
        for (unsigned f = 0; f < d.field_count; ++f) {
            kprintf(" %s:%s", d.fields[f].name, type_names[static_cast<unsigned>(d.fields[f].type)]);
        }
        kprintf("\n");
    }
}

void start(unsigned cpu_count) {
    if (!options.any && !options.profile_hz) return;
    if (cpu_count > sched::max_cpus) cpu_count = sched::max_cpus;
    size_t capacity = size_t{options.buffer_kib} * kib;
    unsigned order = 0;
    while ((mm::page_size << order) < capacity) ++order;
    // One more than the CPUs: the dump's copy of a ring.
    for (unsigned i = 0; i <= cpu_count; ++i) {
        void* buffer = mm::alloc_pages(order);
        if (!buffer) {
            kprintf("mica: warning: no memory for %u trace rings of %u KiB: tracing only %u CPUs\n", cpu_count,
                    options.buffer_kib, i ? i - 1 : 0);
            break;
        }
        if (!scratch) {
            scratch = buffer;
            continue;
        }
        rings[ring_count++].ring.init(buffer, capacity);
    }
    if (!ring_count) return;
    if (options.profile_hz) options.requested[size_t(Point::profile_sample)] = true;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (size_t i = 0; i < point_count; ++i) enabled[i] = options.requested[i];
}

}  // namespace mica::trace
