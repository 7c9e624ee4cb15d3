// Static tracepoints (docs/tracing.md). A subsystem writes
//     TRACE(sched_wake, thread_id, cpu);
// for a tracepoint declared in points.def. Disabled, that costs one load and one predictable
// branch on the tracepoint's flag; with CONFIG_TRACING=n it is compiled out entirely (the
// arguments are not even evaluated). Enabled (--trace=PATTERN), a record with the cycle
// counter, the thread and the fields goes into this CPU's ring (ring.h), written with
// interrupts off: no lock, and the oldest records are overwritten when it is full.
#pragma once

#include <mica/config.h>
#include <mica/trace/format.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::sched {
struct Thread;
}

namespace mica::trace {

enum class Point : uint16_t {
#define TRACEPOINT(name, fields) name,
#include <mica/trace/points.def>
#undef TRACEPOINT
};

namespace detail {
// "sched_switch" -> "sched.switch", at compile time.
template <size_t N>
struct DottedName {
    char text[N] = {};
    constexpr DottedName(const char (&name)[N]) {
        bool dotted = false;
        for (size_t i = 0; i < N; ++i) {
            text[i] = name[i];
            if (!dotted && name[i] == '_') {
                text[i] = '.';
                dotted = true;
            }
        }
    }
};
#define TRACEPOINT(name, fields) inline constexpr DottedName name_##name{#name};
#include <mica/trace/points.def>
#undef TRACEPOINT
}  // namespace detail

inline constexpr uint8_t field_counts[] = {
#define FIELD(name, type) +1
#define TRACEPOINT(name, fields) uint8_t(0 fields),
#include <mica/trace/points.def>
#undef TRACEPOINT
#undef FIELD
};
inline constexpr size_t point_count = sizeof(field_counts);

inline constexpr Descriptor descriptors[] = {
#define FIELD(name, type) Field{FieldType::type, #name},
#define TRACEPOINT(name, fields) Descriptor{detail::name_##name.text, field_counts[size_t(Point::name)], {fields}},
#include <mica/trace/points.def>
#undef TRACEPOINT
#undef FIELD
};
static_assert(sizeof(descriptors) / sizeof(descriptors[0]) == point_count);

// Kernel threads' ids in records start here (application threads carry their Linux tid).
inline constexpr uint32_t kernel_thread_base = 1000000;

#if CONFIG_TRACING
// Owned by kernel/trace/trace.cc: set once at boot from --trace, cleared when the rings are
// written out. Read without a lock by every TRACE().
extern bool enabled[point_count];

// The slow path: writes a record of `point` with its field words (string fields: pointers
// to NUL-terminated strings) on this CPU.
void write(Point point, const uint64_t* words);

template <typename T>
inline uint64_t to_word(T* value) {
    return reinterpret_cast<uintptr_t>(value);
}
template <typename T>
inline uint64_t to_word(T value) {
    return static_cast<uint64_t>(static_cast<int64_t>(value));  // signed values sign-extended
}

template <Point P, typename... Args>
inline void emit(Args... args) {
    static_assert(sizeof...(Args) == field_counts[size_t(P)], "TRACE(): wrong number of fields (points.def)");
    const uint64_t words[sizeof...(Args) + 1] = {to_word(args)..., 0};
    write(P, words);
}

#define TRACE(name, ...)                                                                      \
    do {                                                                                      \
        if (__builtin_expect(::mica::trace::enabled[size_t(::mica::trace::Point::name)], 0)) \
            ::mica::trace::emit<::mica::trace::Point::name>(__VA_ARGS__);                    \
    } while (0)
#define TRACE_ENABLED(name) __builtin_expect(::mica::trace::enabled[size_t(::mica::trace::Point::name)], 0)

// Threads come and go: a name for each (the scheduler at start, the Linux layer at prctl and
// exec), remembered so the dump can name every live thread once more; and its end.
void thread_named(const sched::Thread* thread);
void thread_ended(const sched::Thread* thread);
// The id a record carries for `thread` (nullptr: 0).
uint32_t thread_id(const sched::Thread* thread);

// After mm::init: allocates the rings for `cpu_count` CPUs and enables what --trace asked for.
void start(unsigned cpu_count);
// Once every CPU is online: starts --profile's sampling timers.
void start_profiling();
// Writes the rings to the console (the frames of docs/tracing.md) once; `reason` names the
// occasion ("exit", "shutdown", "panic"). Safe to call when tracing is off (does nothing).
void dump(const char* reason);
// Whether --trace-list asked for the list (printed by start; the caller then stops).
bool list_requested();
void print_list();

#else
template <typename... Args>
inline void discard(Args...) {}
#define TRACE(name, ...)                                 \
    do {                                                 \
        if (0) ::mica::trace::discard(__VA_ARGS__);      \
    } while (0)
#define TRACE_ENABLED(name) false
inline void thread_named(const sched::Thread*) {}
inline void thread_ended(const sched::Thread*) {}
inline uint32_t thread_id(const sched::Thread*) { return 0; }
inline void dump(const char*) {}
#endif

}  // namespace mica::trace
