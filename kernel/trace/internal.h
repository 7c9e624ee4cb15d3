// What the files of kernel/trace share: the options, the rings and the writer's guts.
#pragma once

#include <mica/sched/sched.h>
#include <mica/trace/trace.h>

namespace mica::trace::internal {

// Owned by trace.cc: the options (set while the command line is parsed, read afterwards).
struct Options {
    bool requested[point_count] = {};
    bool any = false;
    bool list = false;
    bool backtrace = false;
    unsigned buffer_kib = CONFIG_TRACE_BUFFER_KIB;
    unsigned profile_hz = 0;
};
extern Options options;

// One per CPU, written only by that CPU with interrupts off.
struct CpuRing {
    Ring ring;
    uint32_t busy = 0;  // atomic: a record is being written (the dump waits for it)
};
extern CpuRing rings[sched::max_cpus];
extern unsigned ring_count;
extern void* scratch;      // capacity bytes: where the dump copies a ring
extern bool stopped;       // atomic: the dump has begun; writers stop

// Writes a record whose backtrace (when `with_backtrace`) starts at `frame`; `pc`, when not
// 0, is its first entry (a sample's interrupted instruction).
void write_record(Point point, const uint64_t* words, bool with_backtrace, uintptr_t pc, uintptr_t frame);

// Every live thread's name once more into this CPU's ring (the dump).
void name_live_threads();

// The profiler (profile.cc): arms a periodic timer on every online CPU.
void start_profiler(unsigned hz);

}  // namespace mica::trace::internal
