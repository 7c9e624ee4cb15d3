// ISA interrupts on the I/O APIC: an ISA IRQ is the GSI of the same number unless the ACPI
// MADT has an interrupt source override for it, which may also set the trigger and the
// polarity (MPS INTI flags; "conforms to the bus" keeps the caller's default).
#pragma once

#include <arch/x86_64/acpi.h>
#include <mica/irq.h>

namespace mica::drivers::x86_isa {

// The GSI `isa` arrives on; `config` holds the bus's default on entry (ISA devices: edge,
// active high; PCI INTx routed through ISA numbers: level, active high on QEMU's chipsets).
inline unsigned gsi(unsigned isa, irq::LineConfig& config) {
    constexpr uint16_t mask = 3, active_high = 1, active_low = 3, trigger_shift = 2, edge = 1, level = 3;
    const x86::InterruptRouting& routing = x86::interrupt_routing();
    unsigned line = isa;
    for (size_t i = 0; i < routing.override_count; ++i) {
        const x86::IsaOverride& o = routing.overrides[i];
        if (o.source != isa) continue;
        line = o.gsi;
        uint16_t polarity = o.flags & mask, trigger = (o.flags >> trigger_shift) & mask;
        if (polarity == active_high) config.polarity = irq::Polarity::high;
        if (polarity == active_low) config.polarity = irq::Polarity::low;
        if (trigger == edge) config.trigger = irq::Trigger::edge;
        if (trigger == level) config.trigger = irq::Trigger::level;
    }
    return line;
}

}  // namespace mica::drivers::x86_isa
