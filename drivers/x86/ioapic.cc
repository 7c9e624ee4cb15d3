// I/O APIC: routes platform interrupt lines (GSIs) to local APIC vectors. The I/O APICs come
// from the ACPI MADT (QEMU microvm with ACPI has two: GSIs 0-23 and 24-47); without a MADT
// (microvm with acpi=off, Firecracker) the PC's one at 0xfec00000 with GSIs 0-23 is assumed
// and checked by reading its version register. Every entry starts masked; irq::attach_line
// programs one when a driver asks, aimed at the boot CPU in physical destination mode (fixed
// delivery), so device interrupts arrive wherever the other CPUs are.
#include <arch/x86_64/acpi.h>
#include <mica/console.h>
#include <mica/drivers/registry.h>
#include <mica/irq.h>
#include <mica/sched/spinlock.h>

namespace mica::drivers {
namespace {
constexpr uint64_t default_address = 0xfec00000;
constexpr uintptr_t reg_select = 0x00, reg_window = 0x10;
constexpr uint32_t reg_version = 0x01, reg_redirection = 0x10;
constexpr uint32_t entry_polarity_low = 1u << 13, entry_level = 1u << 15, entry_masked = 1u << 16;
constexpr unsigned dest_shift = 24;  // in the entry's high word
constexpr unsigned max_entries_shift = 16;
constexpr int errno_inval = 22;

struct IoApic {
    uintptr_t base;
    uint32_t gsi_base;
    unsigned entries;
};
// Owned here: found once at boot; registers are reached under `lock` (select, then window).
constexpr size_t max_ioapics = x86::InterruptRouting::max_ioapics;
IoApic ioapics[max_ioapics];
size_t count = 0;
sched::Spinlock lock;

uint32_t read(const IoApic& a, uint32_t reg) {
    *reinterpret_cast<volatile uint32_t*>(a.base + reg_select) = reg;
    return *reinterpret_cast<volatile uint32_t*>(a.base + reg_window);
}
void write(const IoApic& a, uint32_t reg, uint32_t value) {
    *reinterpret_cast<volatile uint32_t*>(a.base + reg_select) = reg;
    *reinterpret_cast<volatile uint32_t*>(a.base + reg_window) = value;
}

const IoApic* owner(unsigned gsi, unsigned& pin) {
    for (size_t i = 0; i < count; ++i) {
        if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].entries) {
            pin = gsi - ioapics[i].gsi_base;
            return &ioapics[i];
        }
    }
    return nullptr;
}

unsigned fixed_irq(unsigned) { return irq::spurious; }  // any free vector

int connect(unsigned gsi, irq::LineConfig config, unsigned vector) {
    unsigned pin;
    const IoApic* a = owner(gsi, pin);
    if (!a) return -errno_inval;
    uint32_t low = vector | entry_masked | (config.trigger == irq::Trigger::level ? entry_level : 0) |
                   (config.polarity == irq::Polarity::low ? entry_polarity_low : 0);
    uint32_t high = static_cast<uint32_t>(irq::cpu_hw_id(0)) << dest_shift;
    sched::SpinGuard guard(lock);
    write(*a, reg_redirection + 2 * pin + 1, high);
    write(*a, reg_redirection + 2 * pin, low);
    return 0;
}

void set_masked(unsigned gsi, bool masked) {
    unsigned pin;
    const IoApic* a = owner(gsi, pin);
    if (!a) return;
    sched::SpinGuard guard(lock);
    uint32_t low = read(*a, reg_redirection + 2 * pin);
    write(*a, reg_redirection + 2 * pin, masked ? low | entry_masked : low & ~entry_masked);
}

const irq::LineController controller{"ioapic", fixed_irq, connect, set_masked};

bool add(uint64_t address, uint32_t gsi_base) {
    if (count == max_ioapics) return false;
    IoApic a{static_cast<uintptr_t>(address), gsi_base, 0};
    uint32_t version = read(a, reg_version);
    if (version == 0xffffffffu || version == 0) return false;  // nothing answers there
    a.entries = ((version >> max_entries_shift) & 0xff) + 1;
    for (unsigned pin = 0; pin < a.entries; ++pin) write(a, reg_redirection + 2 * pin, entry_masked);
    ioapics[count++] = a;
    if (verbose()) {
        kprintf("mica: ioapic at %#llx: GSIs %u-%u\n", (unsigned long long)address, gsi_base, gsi_base + a.entries - 1);
    }
    return true;
}

bool init() {
    // The MADT's addresses lie in the identity-mapped device window (traits.h).
    const x86::InterruptRouting& routing = x86::interrupt_routing();
    for (size_t i = 0; i < routing.ioapic_count; ++i) add(routing.ioapics[i].address, routing.ioapics[i].gsi_base);
    if (!routing.from_madt) add(default_address, 0);
    if (count == 0 || !irq::controller()) return false;
    irq::register_line_controller(controller);
    return true;
}
}  // namespace

extern const Driver ioapic_driver{"ioapic", Phase::bus, init};

}  // namespace mica::drivers
