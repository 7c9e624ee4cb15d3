#include <arch/arch.h>
#include <mica/console.h>
#include <mica/sched/spinlock.h>
#include <mica/format.h>

namespace mica::console {
namespace {
// Owned by this file: the registered outputs, and messages printed before the first one.
Driver* drivers = nullptr;
char early_buffer[2048];
size_t early_used = 0;
char last_written = '\n';  // under output_lock
}  // namespace

void register_driver(Driver& driver) {
    driver.next = nullptr;
    Driver** tail = &drivers;
    while (*tail) tail = &(*tail)->next;
    *tail = &driver;
    if (early_used) {
        driver.write(early_buffer, early_used);
    }
}

namespace {
void write_unlocked(const char* text, size_t length);

// Serializes output from different CPUs. The CPU holding it may write again (a fault while
// printing, a panic): it must not wait for itself.
sched::Spinlock output_lock;
unsigned output_owner = ~0u;
}  // namespace

void write(const char* text, size_t length) {
    bool irqs = arch::interrupts_enabled();
    arch::interrupts_disable();
    unsigned me = arch::cpu_index();
    bool nested = __atomic_load_n(&output_owner, __ATOMIC_RELAXED) == me;
    if (!nested) {
        output_lock.lock();
        output_owner = me;
    }
    write_unlocked(text, length);
    if (!nested) {
        output_owner = ~0u;
        output_lock.unlock();
    }
    if (irqs) arch::interrupts_enable();
}

namespace {
void write_unlocked(const char* text, size_t length) {
    if (length) last_written = text[length - 1];
    if (!drivers) {
        for (size_t i = 0; i < length && early_used < sizeof(early_buffer); ++i) {
            early_buffer[early_used++] = text[i];
        }
        return;
    }
    for (Driver* d = drivers; d; d = d->next) d->write(text, length);
}
}  // namespace

bool at_line_start() { return __atomic_load_n(&last_written, __ATOMIC_RELAXED) == '\n'; }

void write_crlf(const char* text, size_t length, void (*put)(char)) {
    for (size_t i = 0; i < length; ++i) {
        if (text[i] == '\n') put('\r');
        put(text[i]);
    }
}

namespace {
// Set once each: by the Linux layer when it creates the terminal, by the receiving driver.
InputHandler input_handler = nullptr;
const char* input_driver_name = nullptr;
}  // namespace

void set_input_handler(InputHandler handler) { __atomic_store_n(&input_handler, handler, __ATOMIC_RELEASE); }
void set_input_driver(const char* name) { __atomic_store_n(&input_driver_name, name, __ATOMIC_RELEASE); }
const char* input_driver() { return __atomic_load_n(&input_driver_name, __ATOMIC_ACQUIRE); }

void receive(const char* bytes, size_t length) {
    if (InputHandler h = __atomic_load_n(&input_handler, __ATOMIC_ACQUIRE)) h(bytes, length);
}

}  // namespace mica::console

namespace mica {

int kprintf(const char* format, ...) {
    va_list args;
    va_start(args, format);
    int n = fmt::vformat([](void*, const char* text, size_t length) { console::write(text, length); },
                         nullptr, format, args);
    va_end(args);
    return n;
}

}  // namespace mica
