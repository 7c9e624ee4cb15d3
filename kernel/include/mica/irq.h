// Interrupt dispatch: one interrupt controller driver (GIC on aarch64; the local APIC on
// x86_64) acknowledges and ends interrupts; handlers attach by number.
//
// Device interrupts, the same for every architecture (docs/architecture.md, "Device
// interrupts"): a driver attaches to a platform line (attach_line: an x86 GSI, routed by
// the I/O APIC; an aarch64 GIC SPI by its interrupt id) with its trigger and polarity, or
// asks for a message-signalled interrupt (attach_msi: the address/data pair to program
// into the device's MSI or MSI-X table; x86 targets the local APIC, aarch64 the GICv2m
// frame where there is one; elsewhere -ENOTSUP, and drivers fall back to a line). Lines may be shared: every handler attached to a line
// runs for each of its interrupts (level-triggered PCI INTx), so a handler must check its
// device and return quickly when the interrupt was not for it. Handlers run with interrupts
// off, on whichever CPU takes the interrupt; they must not block.
#pragma once

#include <stdint.h>

namespace mica::irq {

inline constexpr unsigned max_irqs = 1024;
inline constexpr unsigned spurious = ~0u;

struct Controller {
    const char* name;
    // The pending interrupt's number, or `spurious`. `hint` is what the CPU reported with
    // the interrupt (the x86 vector), for controllers that cannot be asked.
    unsigned (*acknowledge)(unsigned hint);
    void (*end)(unsigned irq);       // end of interrupt
    void (*enable)(unsigned irq);    // unmask at the controller
    // Sends interrupt `irq` to the CPU with hardware id `cpu` (APIC id, MPIDR affinity).
    void (*send_ipi)(uint64_t cpu, unsigned irq);
    // Sets up the calling CPU's side of the controller (secondary CPUs).
    void (*init_cpu)();
};

using Handler = void (*)(unsigned irq, void* context);

enum class Trigger : uint8_t { edge, level };
enum class Polarity : uint8_t { high, low };
struct LineConfig {
    Trigger trigger = Trigger::level;
    Polarity polarity = Polarity::high;
    bool operator==(const LineConfig&) const = default;
};

// The controller side of platform lines (the x86 I/O APIC driver, the GIC driver).
struct LineController {
    const char* name;
    // The interrupt number `line` raises when the hardware fixes it (a GIC SPI's id), or
    // `spurious` when any free number may be chosen (x86: a vector).
    unsigned (*fixed_irq)(unsigned line);
    // Programs `line` (left masked) to raise `irq` with `config` on the boot CPU. 0, or
    // -EINVAL for a line the controller does not have or a configuration it cannot do.
    int (*connect)(unsigned line, LineConfig config, unsigned irq);
    void (*set_masked)(unsigned line, bool masked);
};
void register_line_controller(const LineController& controller);
const LineController* line_controller();

// Message-signalled interrupts: where a device writes what to raise interrupt `irq`.
struct MsiMessage {
    uint64_t address;
    uint32_t data;
};
struct MsiController {
    const char* name;
    bool (*compose)(unsigned irq, MsiMessage& message);
};
void register_msi_controller(const MsiController& controller);
bool msi_available();
// Interrupt numbers free for devices to take (x86: vectors no fixed interrupt uses).
void set_dynamic_range(unsigned first, unsigned last);

// What attach_line/attach_msi hand back; pass it to detach.
struct Binding {
    unsigned irq = spurious;
    unsigned line = spurious;  // the platform line, or `spurious` for a message interrupt
    void* action = nullptr;
    bool attached() const { return action != nullptr; }
};
// 0 or -errno: -ENODEV without a line controller, -EINVAL for a bad line, -EBUSY when the
// line is already in use with another trigger or polarity, -ENOSPC when no interrupt number
// is free, -ENOMEM.
int attach_line(unsigned line, LineConfig config, Handler handler, void* context, Binding& out);
// -ENOTSUP where the platform has no message interrupts.
int attach_msi(Handler handler, void* context, Binding& out, MsiMessage& message);
// Removes the handler (masking the line when it was the last); returns once no CPU runs it.
void detach(Binding& binding);
// Masks or unmasks a line binding at the controller (all handlers of a shared line).
void set_line_masked(const Binding& binding, bool masked);

void register_controller(const Controller& controller);
const Controller* controller();
// Attaches a handler and unmasks the line; false without a controller or for a bad number.
bool attach(unsigned irq, Handler handler, void* context);
// Called by the architecture's interrupt entry, with interrupts disabled. After the
// handler and the end of interrupt, the exit hook runs (the scheduler preempts there).
// `pc` and `frame` are what the interrupt stopped (its instruction and frame pointer), for
// the sampling profiler (interrupted()).
void dispatch(unsigned hint = spurious, uintptr_t pc = 0, uintptr_t frame = 0);
struct Interrupted {
    uintptr_t pc;
    uintptr_t frame;
};
// The instruction and frame pointer the interrupt this CPU is handling stopped.
Interrupted interrupted();
void set_exit_hook(void (*hook)());

// Inter-processor interrupts, addressed by CPU index (the SMP code records each CPU's
// hardware id when it starts it).
void set_cpu_hw_id(unsigned index, uint64_t hw_id);
void send_ipi(unsigned index, unsigned irq);
// The hardware id recorded for CPU `index` (where device interrupts are steered).
uint64_t cpu_hw_id(unsigned index);

}  // namespace mica::irq
