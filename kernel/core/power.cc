#include <arch/arch.h>
#include <mica/console.h>
#include <mica/power.h>

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
    bool reported = false;
    for (ExitMethod* m = methods; m; m = m->next) {
        if (!m->reports_status && status != exit_status::success && !reported) {
            // The host will see a clean stop; say so on the console at least.
            kprintf("mica: exit status %d cannot be reported through %s\n", status, m->name);
            reported = true;
        }
        m->exit(status);
    }
    kprintf("mica: no way to stop the machine; halting (exit status %d)\n", status);
    arch::halt();
}

}  // namespace mica::power
