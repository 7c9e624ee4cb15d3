// The system-call table of this architecture and the dispatcher (syscall.h).
#include <mica/console.h>
#include <mica/linux/process.h>
#include <mica/linux/syscall.h>
#include <mica/sched/sched.h>
#include <mica/trace/trace.h>
#include <mica/fs/abi.h>
#include "syscall_numbers.h"

#define SYSCALL(name) int64_t sys_##name(const uint64_t* args);
#include "process.def"
#include "files.def"
#include "events.def"
#include "sockets.def"
#include "signals.def"
#undef SYSCALL

namespace mica::abi {
namespace {

struct Table {
    SyscallHandler handler[MICA_SYSCALL_COUNT] = {};
    constexpr Table() {
#define SYSCALL(name) \
    if (MICA_NR_##name >= 0) handler[MICA_NR_##name] = sys_##name;
#include "process.def"
#include "files.def"
#include "events.def"
#include "sockets.def"
#include "signals.def"
#undef SYSCALL
    }
};
constexpr Table table;
constexpr const char* names[] = {MICA_SYSCALL_NAMES};
static_assert(sizeof(names) / sizeof(names[0]) == MICA_SYSCALL_COUNT);

// Owned here: which unknown calls were already reported (once each; numbers past the table
// share the last bit, so a program trying many cannot flood the console), and --strace.
uint64_t reported[(MICA_SYSCALL_COUNT + 1 + 63) / 64];
bool tracing = false;

int64_t unknown(uint64_t number) {
    uint64_t slot = number < MICA_SYSCALL_COUNT ? number : MICA_SYSCALL_COUNT;
    uint64_t bit = uint64_t{1} << (slot % 64);
    bool first = !(__atomic_fetch_or(&reported[slot / 64], bit, __ATOMIC_RELAXED) & bit);
    if (first && slot == MICA_SYSCALL_COUNT) {
        kprintf("mica: unsupported system call number %#llx: returning -ENOSYS (numbers this large are reported "
                "once)\n", static_cast<unsigned long long>(number));
    } else if (first) {
        const char* name = syscall_name(number);
        kprintf("mica: unsupported system call %s (%llu): returning -ENOSYS\n", name ? name : "(unknown)",
                static_cast<unsigned long long>(number));
    }
    return -fs::errno_nosys;
}

}  // namespace

const char* syscall_name(uint64_t number) { return number < MICA_SYSCALL_COUNT ? names[number] : nullptr; }

void set_trace(bool on) { tracing = on; }

int64_t dispatch(uint64_t number, const uint64_t* args) {
    TRACE(syscall_entry, number, args[0], args[1], args[2], args[3], args[4], args[5]);
    SyscallHandler h = number < MICA_SYSCALL_COUNT ? table.handler[number] : nullptr;
    // The CPU time the call takes is the thread's system time (getrusage, times); calls that
    // do not return (exit, a successful execve) are not counted.
    bool app = sched::current()->app != nullptr;
    uint64_t start = app ? sched::current_cpu_cycles() : 0;
    int64_t result = h ? h(args) : unknown(number);
    if (app) {
        if (auto* thread = static_cast<AppThread*>(sched::current()->app)) {
            thread->system_cycles += sched::current_cpu_cycles() - start;
        }
    }
    TRACE(syscall_exit, number, result);
    if (tracing) {
        const char* name = syscall_name(number);
        kprintf("strace: %s(%#llx, %#llx, %#llx, %#llx) = %lld\n", name ? name : "?",
                (unsigned long long)args[0], (unsigned long long)args[1], (unsigned long long)args[2],
                (unsigned long long)args[3], (long long)result);
    }
    return result;
}

}  // namespace mica::abi
