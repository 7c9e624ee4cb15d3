// Device plumbing in the guest: device memory mappings outside the identity window, the
// shared-line bookkeeping of irq::attach_line, and message interrupts reaching their handler.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/irq.h>
#include <mica/ktest.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>

using namespace mica;

namespace {
// A device register every machine of the architecture has, at its physical address: x86 the
// local APIC's version register; aarch64 the GIC distributor's implementer id (GICD_IIDR).
bool known_register(uint64_t& phys) {
#if defined(__x86_64__)
    constexpr uint64_t lapic = 0xfee00000, lapic_version = 0x30;
    phys = lapic + lapic_version;
    return true;
#else
    constexpr uint64_t gicd_iidr = 0x008;
    const fdt::Tree* tree = drivers::device_tree();
    if (!tree) return false;
    for (const char* c : {"arm,cortex-a15-gic", "arm,gic-v3"}) {
        fdt::Node n = tree->find_compatible(c);
        uint64_t base, size;
        if (n.valid && tree->reg(n, 0, base, size)) {
            phys = base + gicd_iidr;
            return true;
        }
    }
    return false;
#endif
}

// A platform line no device of the test machines uses.
#if defined(__x86_64__)
constexpr unsigned spare_line = 23;  // the last pin of the first I/O APIC
#else
constexpr unsigned spare_line = 32 + 100;  // a GIC SPI nothing on virt raises
#endif
}  // namespace

KTEST(devices, map_device_aliases_the_same_registers) {
    uint64_t phys;
    KASSERT(known_register(phys));
    auto* identity = static_cast<volatile uint32_t*>(mm::vm::map_device(phys, 4));
    KEXPECT_EQ(reinterpret_cast<uint64_t>(identity), phys);  // inside the identity window
    auto* alias = static_cast<volatile uint32_t*>(mm::vm::map_device(phys, 4, false));
    KASSERT(alias != nullptr);
    uintptr_t a = reinterpret_cast<uintptr_t>(alias);
    KEXPECT(a >= arch::traits::device_map_base && a < arch::traits::device_map_base + arch::traits::device_map_size);
    KEXPECT_EQ(a & 0xfff, phys & 0xfff);  // the offset within the page is kept
    KEXPECT(*alias != 0);
    KEXPECT_EQ(*alias, *identity);
    // A second mapping is a new range.
    auto* again = static_cast<volatile uint32_t*>(mm::vm::map_device(phys, 4, false));
    KEXPECT(again != alias);
    KEXPECT_EQ(*again, *identity);
}

KTEST(devices, map_device_rejects_bad_ranges) {
    KEXPECT(mm::vm::map_device(0xfe000000, 0) == nullptr);
    KEXPECT(mm::vm::map_device(~uint64_t{0} - 100, 4096) == nullptr);
    // Larger than the whole area.
    KEXPECT(mm::vm::map_device(0x100000000ull, arch::traits::device_map_size + 4096, false) == nullptr);
}

KTEST(devices, shared_lines_agree_on_their_configuration) {
    if (!irq::line_controller()) return;  // a machine without device lines
    auto handler = [](unsigned, void*) {};
    irq::LineConfig level{irq::Trigger::level, irq::Polarity::high};
    irq::LineConfig edge{irq::Trigger::edge, irq::Polarity::high};
    irq::Binding a, b, c;
    KASSERT(irq::attach_line(spare_line, level, handler, nullptr, a) == 0);
    KEXPECT(a.attached());
    KEXPECT_EQ(irq::attach_line(spare_line, level, handler, nullptr, b), 0);  // shared
    KEXPECT_EQ(b.irq, a.irq);
    KEXPECT_EQ(irq::attach_line(spare_line, edge, handler, nullptr, c), -16);  // -EBUSY
    KEXPECT(!c.attached());
    irq::detach(a);
    KEXPECT(!a.attached());
    KEXPECT_EQ(irq::attach_line(spare_line, edge, handler, nullptr, c), -16);  // b still holds it
    irq::detach(b);
    KEXPECT_EQ(irq::attach_line(spare_line, edge, handler, nullptr, c), 0);  // free again
    irq::detach(c);
    KEXPECT_EQ(irq::attach_line(100000, level, handler, nullptr, c), -22);  // -EINVAL
}

KTEST(devices, message_interrupts_reach_their_handler) {
    if (!irq::msi_available()) {
        irq::Binding b;
        irq::MsiMessage m;
        KEXPECT_EQ(irq::attach_msi([](unsigned, void*) {}, nullptr, b, m), -95);  // -ENOTSUP
        return;
    }
    static unsigned hits[2];  // written by the handlers (interrupt context), read atomically
    hits[0] = 0;
    hits[1] = 0;
    irq::Binding b[2];
    irq::MsiMessage m[2];
    for (int i = 0; i < 2; ++i) {
        KASSERT(irq::attach_msi([](unsigned, void* c) { __atomic_fetch_add(static_cast<unsigned*>(c), 1, __ATOMIC_RELAXED); },
                                &hits[i], b[i], m[i]) == 0);
    }
    KEXPECT(b[0].irq != b[1].irq);  // each its own vector
    KEXPECT(m[0].data != m[1].data);
    arch::interrupts_enable();
#if defined(__x86_64__)
    // A CPU's write to 0xfee00000 reaches its own local APIC's registers, not the message
    // path: interrupt itself with the vector the message carries instead.
    irq::send_ipi(sched::current_cpu(), b[1].irq);
#else
    // GICv2m: the CPU can write the doorbell just as the device would.
    auto* doorbell = static_cast<volatile uint32_t*>(mm::vm::map_device(m[1].address, 4));
    KASSERT(doorbell != nullptr);
    *doorbell = m[1].data;
#endif
    for (int spin = 0; spin < 1000000 && !__atomic_load_n(&hits[1], __ATOMIC_RELAXED); ++spin) arch::cpu_relax();
    KEXPECT_EQ(__atomic_load_n(&hits[1], __ATOMIC_RELAXED), 1u);
    KEXPECT_EQ(__atomic_load_n(&hits[0], __ATOMIC_RELAXED), 0u);
    unsigned freed = b[1].irq;
    irq::detach(b[0]);
    irq::detach(b[1]);
    // The vector is free again.
    irq::Binding again;
    irq::MsiMessage m2;
    KASSERT(irq::attach_msi([](unsigned, void*) {}, nullptr, again, m2) == 0);
    KEXPECT(again.irq <= freed);
    irq::detach(again);
}
