// Time, randomness and system information (process.def). Clocks come from the CPU's cycle
// counter; CLOCK_REALTIME adds the time of day an RTC driver read at boot (mica/clock.h).
// The vDSO (libc/linux/vdso.cc) answers the same clock ids from the same published data with
// the same conversion (mica/clock_data.h), and calls these for the ones it does not answer.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/clock.h>
#include "processes.h"
#include <mica/clock_data.h>
#include <mica/linux/signal.h>
#include <mica/linux/syscall.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>
#include <mica/random.h>
#include <mica/sched/sched.h>
#include <mica/version.h>
#include <string.h>

using namespace mica;

namespace {
constexpr int64_t e_fault = 14, e_inval = 22;
constexpr uint64_t ns_per_s = 1000000000;

struct Timespec {
    int64_t sec, nsec;
};

uint64_t now_ns() { return clock::monotonic_ns(); }

bool valid_clock(uint64_t id) { return id <= 11 && id != 10; }  // REALTIME ... TAI, as Linux

// a + b, or "for ever" when that does not fit.
uint64_t saturating_add(uint64_t a, uint64_t b) {
    uint64_t sum;
    return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

// Sleeps until `deadline_ns` or a signal: then -EINTR, with the time left written to
// `remaining` (when not 0: relative sleeps). A deadline too far away to count is for ever.
int64_t sleep_until(uint64_t deadline_ns, uint64_t remaining = 0) {
    sched::InterruptibleScope scope;
    for (;;) {
        uint64_t now = now_ns();
        if (deadline_ns <= now) return 0;
        if (sched::interrupted()) {
            if (remaining) {
                uint64_t left = deadline_ns == UINT64_MAX ? UINT64_MAX / 2 : deadline_ns - now;
                Timespec ts = {static_cast<int64_t>(left / ns_per_s), static_cast<int64_t>(left % ns_per_s)};
                if (mm::vm::copy_to_app(reinterpret_cast<void*>(remaining), &ts, sizeof ts)) return -e_fault;
            }
            return -abi::e_intr;
        }
        sched::sleep_ns(deadline_ns - now);
    }
}

int read_timespec(uint64_t address, uint64_t& ns) {
    Timespec ts;
    if (mm::vm::copy_from_app(&ts, reinterpret_cast<void*>(address), sizeof ts)) return -e_fault;
    if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= static_cast<int64_t>(ns_per_s)) return -e_inval;
    // Saturating: a timeout too far away to count is for ever, not a wrapped-around short one.
    if (__builtin_mul_overflow(static_cast<uint64_t>(ts.sec), ns_per_s, &ns)) ns = UINT64_MAX;
    ns = saturating_add(ns, static_cast<uint64_t>(ts.nsec));
    return 0;
}
}  // namespace

// REALTIME(_COARSE/_ALARM), TAI; the rest count from the counter's zero, as MONOTONIC.
bool is_wall_clock(uint64_t id) {
    return id < 32 && ((clock::realtime_clock_mask | 1u << clock::clock_realtime_alarm) >> id & 1);
}

// CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID: the CPU time the scheduler counts
// (user and system together, as Linux's). Kernel threads (guest tests) have no process: the
// thread's own time stands for both.
static uint64_t cpu_time_ns(uint64_t id) {
    constexpr uint64_t process_cputime = 2;
    if (id == process_cputime) {
        if (abi::Process* p = abi::current_process()) {
            abi::Usage u = abi::process_usage(p, false);
            return u.user_ns + u.system_ns;
        }
    }
    return sched::cpu_cycles_to_ns(sched::current_cpu_cycles());
}

int64_t sys_clock_gettime(const uint64_t* args) {
    constexpr uint64_t process_cputime = 2, thread_cputime = 3;
    if (!valid_clock(args[0])) return -e_inval;
    uint64_t ns = is_wall_clock(args[0])                                          ? clock::realtime_ns()
                  : args[0] == process_cputime || args[0] == thread_cputime ? cpu_time_ns(args[0])
                                                                            : now_ns();
    Timespec ts = {static_cast<int64_t>(ns / ns_per_s), static_cast<int64_t>(ns % ns_per_s)};
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &ts, sizeof ts) ? -e_fault : 0;
}

int64_t sys_clock_getres(const uint64_t* args) {
    if (!valid_clock(args[0])) return -e_inval;
    Timespec ts = {0, 1};
    if (args[1] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &ts, sizeof ts)) return -e_fault;
    return 0;
}

int64_t sys_gettimeofday(const uint64_t* args) {
    uint64_t ns = clock::realtime_ns();
    struct {
        int64_t sec, usec;
    } tv = {static_cast<int64_t>(ns / ns_per_s), static_cast<int64_t>(ns % ns_per_s / 1000)};
    if (args[0] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[0]), &tv, sizeof tv)) return -e_fault;
    if (args[1]) {
        int32_t tz[2] = {0, 0};
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), tz, sizeof tz)) return -e_fault;
    }
    return 0;
}

int64_t sys_time(const uint64_t* args) {  // x86_64 only
    int64_t seconds = static_cast<int64_t>(clock::realtime_ns() / ns_per_s);
    if (args[0] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[0]), &seconds, sizeof seconds)) return -e_fault;
    return seconds;
}

int64_t sys_nanosleep(const uint64_t* args) {
    uint64_t ns;
    if (int r = read_timespec(args[0], ns)) return r;
    return sleep_until(saturating_add(now_ns(), ns), args[1]);
}

int64_t sys_clock_nanosleep(const uint64_t* args) {
    constexpr uint64_t timer_abstime = 1;
    if (!valid_clock(args[0])) return -e_inval;
    uint64_t ns;
    if (int r = read_timespec(args[2], ns)) return r;
    if (args[1] & timer_abstime) {
        if (is_wall_clock(args[0])) {
            uint64_t now = clock::realtime_ns();
            return sleep_until(saturating_add(now_ns(), ns > now ? ns - now : 0));
        }
        return sleep_until(ns);
    }
    return sleep_until(saturating_add(now_ns(), ns), args[3]);
}

int64_t sys_getrandom(const uint64_t* args) {
    // The kernel's generator (mica/random.h), as /dev/urandom; GRND_RANDOM and GRND_NONBLOCK
    // change nothing (it never blocks).
    constexpr size_t chunk = 256;
    constexpr uint64_t grnd_nonblock = 1, grnd_random = 2, grnd_insecure = 4;
    constexpr size_t max_count = 0x7fffffff;  // Linux's INT_MAX cap
    uint64_t flags = static_cast<uint32_t>(args[2]);
    if (flags & ~(grnd_nonblock | grnd_random | grnd_insecure)) return -e_inval;
    if ((flags & (grnd_random | grnd_insecure)) == (grnd_random | grnd_insecure)) return -e_inval;
    uint8_t buffer[chunk];
    size_t length = args[1] < max_count ? args[1] : max_count, done = 0;
    if (!mm::vm::access_ok(args[0], length)) return -e_fault;
    while (done < length) {
        size_t n = length - done < chunk ? length - done : chunk;
        random::fill(buffer, n);
        if (mm::vm::copy_to_app(reinterpret_cast<uint8_t*>(args[0]) + done, buffer, n)) return done ? done : -e_fault;
        done += n;
    }
    memset(buffer, 0, sizeof buffer);
    return static_cast<int64_t>(done);
}

// sysinfo: uptime, memory from the page allocator, one process.
int64_t sys_sysinfo(const uint64_t* args) {
    struct {
        int64_t uptime;
        uint64_t loads[3];
        uint64_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
        uint16_t procs, pad;
        uint32_t pad2;
        uint64_t totalhigh, freehigh;
        uint32_t mem_unit;
        char reserved[4];
    } info;
    static_assert(sizeof(info) == 112);
    memset(&info, 0, sizeof info);
    info.uptime = static_cast<int64_t>(now_ns() / ns_per_s);
    info.totalram = mm::pages().total_pages() * mm::page_size;
    info.freeram = mm::pages().free_pages() * mm::page_size;
    info.procs = 1;
    info.mem_unit = 1;
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[0]), &info, sizeof info) ? -e_fault : 0;
}

// getcpu(cpu, node, cache): the CPU the caller runs on (it may have moved by the time it
// looks, as on Linux), node 0; the cache argument is unused since Linux 2.6.24.
int64_t sys_getcpu(const uint64_t* args) {
    uint32_t cpu = arch::cpu_index(), node = 0;
    if (args[0] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[0]), &cpu, sizeof cpu)) return -e_fault;
    if (args[1] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &node, sizeof node)) return -e_fault;
    return 0;
}

int64_t sys_uname(const uint64_t* args) {
    struct {
        char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
    } u;
    memset(&u, 0, sizeof u);
    strcpy(u.sysname, "Linux");  // what programs compare against
    strcpy(u.nodename, "mica");
    strcpy(u.release, "6.1.0-mica");  // a Linux release libcs accept
    strcpy(u.version, "#1 Mica " MICA_VERSION);
    strcpy(u.machine, arch::traits::platform_name);
    strcpy(u.domainname, "(none)");
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[0]), &u, sizeof u) ? -e_fault : 0;
}
