#include <arch/arch.h>
#include <mica/console.h>
#include <mica/power.h>
#include <mica/trace/trace.h>

namespace mica::power {
namespace {
ExitMethod* methods = nullptr;  // owned here; drivers append during boot
}

void register_exit_method(ExitMethod& method) {
    method.next = nullptr;
    ExitMethod** tail = &methods;
    while (*tail) tail = &(*tail)->next;
    *tail = &method;
}

void shutdown(int status) {
    trace::dump("shutdown");  // the application's end or the kernel's (a panic dumped already)
    // The announcement tools/run cross-checks with QEMU's own exit status, so that no failure
    // of QEMU reads as the guest's success (and the status survives methods that cannot
    // carry it: a reset or PSCI power-off reaches the host as 0). Always on a line of its own.
    kprintf("%s%s%d\n", console::at_line_start() ? "" : "\n", exit_announcement, status);
    for (ExitMethod* m = methods; m; m = m->next) m->exit(status);
    kprintf("mica: no way to stop the machine; halting (exit status %d)\n", status);
    arch::halt();
}

}  // namespace mica::power
