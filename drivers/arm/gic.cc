// ARM Generic Interrupt Controller, v2 (memory-mapped CPU interface) and v3 (system-register
// CPU interface, redistributors), found through the device tree. Boot CPU only for now;
// secondary CPUs' interfaces come with SMP (issue 4).
#include <arch/aarch64/cpu.h>
#include <mica/console.h>
#include <mica/drivers/fdt.h>
#include <mica/drivers/registry.h>
#include <mica/irq.h>

namespace mica::drivers {
namespace {
constexpr uintptr_t gicd_ctlr = 0x000, gicd_typer = 0x004, gicd_isenabler = 0x100, gicd_icenabler = 0x180,
                    gicd_ipriorityr = 0x400, gicd_itargetsr = 0x800;
constexpr uintptr_t gicc_ctlr = 0x00, gicc_pmr = 0x04, gicc_iar = 0x0c, gicc_eoir = 0x10;
constexpr uintptr_t gicr_waker = 0x14, gicr_sgi_base = 0x10000, gicr_igroupr0 = 0x80,
                    gicr_isenabler0 = 0x100, gicr_ipriorityr = 0x400;
constexpr uint32_t gicd_ctlr_enable_grp0 = 1, gicd_ctlr_enable_grp1 = 2, gicd_ctlr_are = 1 << 4,
                   gicd_ctlr_rwp = 1u << 31;
constexpr uint32_t waker_processor_sleep = 1 << 1, waker_children_asleep = 1 << 2;
constexpr uint32_t default_priority = 0xa0, priority_mask = 0xf0;
constexpr unsigned first_spi = 32, intid_mask = 0x3ff, intid_spurious_min = 1020;
constexpr int max_wait = 1000000;

// Owned here, set once by init (redistributors: by each CPU for itself).
uintptr_t distributor = 0, cpu_interface = 0;
uintptr_t redistributors_base = 0;
uintptr_t redistributor_of[64];  // GICv3: each CPU's redistributor frame, by CPU index
constexpr uintptr_t gicr_typer = 0x8, gicr_frame_size = 0x20000;
constexpr uint64_t gicr_typer_last = 1 << 4;
unsigned lines = 0;
int version = 0;

uint32_t read(uintptr_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }
void write(uintptr_t addr, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(addr) = v; }
void write8(uintptr_t addr, uint8_t v) { *reinterpret_cast<volatile uint8_t*>(addr) = v; }

void wait_distributor() {
    for (int i = 0; i < max_wait && (read(distributor + gicd_ctlr) & gicd_ctlr_rwp); ++i) {
    }
}

void distributor_init(uint32_t enable_bits) {
    write(distributor + gicd_ctlr, 0);
    wait_distributor();
    lines = ((read(distributor + gicd_typer) & 0x1f) + 1) * 32;
    if (lines > irq::max_irqs) lines = irq::max_irqs;
    for (unsigned i = first_spi; i < lines; i += 32) write(distributor + gicd_icenabler + i / 8, ~0u);
    // GICv3 signals only group 1 to the kernel (ICC_IGRPEN1): SPIs go there too.
    constexpr uintptr_t gicd_igroupr = 0x080;
    if (version == 3) {
        for (unsigned i = first_spi; i < lines; i += 32) write(distributor + gicd_igroupr + i / 8, ~0u);
    }
    for (unsigned i = first_spi; i < lines; ++i) {
        write8(distributor + gicd_ipriorityr + i, default_priority);
        if (version == 2) write8(distributor + gicd_itargetsr + i, 1);  // CPU 0
    }
    write(distributor + gicd_ctlr, enable_bits);
    wait_distributor();
}

// GICv2: the CPU interface is memory-mapped.
unsigned v2_acknowledge(unsigned) {
    unsigned id = read(cpu_interface + gicc_iar) & intid_mask;
    return id >= intid_spurious_min ? irq::spurious : id;
}
void v2_end(unsigned id) { write(cpu_interface + gicc_eoir, id); }
void v2_enable(unsigned id) {
    write8(distributor + gicd_ipriorityr + id, default_priority);
    write(distributor + gicd_isenabler + (id / 32) * 4, 1u << (id % 32));
}

// GICv3: CPU interface through system registers; SGIs/PPIs live in the redistributor.
unsigned v3_acknowledge(unsigned) {
    uint64_t id;
    asm volatile("mrs %0, icc_iar1_el1" : "=r"(id));
    id &= 0xffffff;
    return id >= intid_spurious_min && id < 1024 ? irq::spurious : static_cast<unsigned>(id);
}
void v3_end(unsigned id) { asm volatile("msr icc_eoir1_el1, %0" ::"r"(uint64_t{id})); }
uintptr_t my_redistributor() { return redistributor_of[MICA_READ_SYSREG(tpidr_el1)]; }

void v3_enable(unsigned id) {
    if (id < first_spi) {  // SGIs and PPIs are per CPU: this CPU's redistributor
        uintptr_t rd = my_redistributor();
        write8(rd + gicr_sgi_base + gicr_ipriorityr + id, default_priority);
        write(rd + gicr_sgi_base + gicr_isenabler0, 1u << id);
    } else {
        write8(distributor + gicd_ipriorityr + id, default_priority);
        write(distributor + gicd_isenabler + (id / 32) * 4, 1u << (id % 32));
    }
}

// SGIs: GICv2 targets CPU interfaces by number (our CPU index on QEMU virt's linear
// MPIDRs); GICv3 by affinity and a target list.
constexpr uintptr_t gicd_sgir = 0xf00;
void v2_send_ipi(uint64_t mpidr, unsigned sgi) {
    write(distributor + gicd_sgir, (1u << (16 + (mpidr & 0xff) % 8)) | (sgi & 0xf));
}
void v3_send_ipi(uint64_t mpidr, unsigned sgi) {
    uint64_t aff1 = (mpidr >> 8) & 0xff, aff2 = (mpidr >> 16) & 0xff, aff3 = (mpidr >> 32) & 0xff;
    uint64_t value = (aff3 << 48) | (aff2 << 32) | (uint64_t{sgi & 0xf} << 24) | (aff1 << 16) | (1u << (mpidr & 0xf));
    asm volatile("dsb ishst; msr icc_sgi1r_el1, %0; isb" ::"r"(value));
}

// GICv2's CPU interface registers are banked: each CPU sets up its own view.
void v2_init_cpu() {
    write(cpu_interface + gicc_pmr, priority_mask);
    write(cpu_interface + gicc_ctlr, 1);
}

// GICv3: find this CPU's redistributor by affinity, wake it, put its SGIs/PPIs in group 1
// (IRQ, not FIQ), and enable the system-register CPU interface.
void v3_init_cpu() {
    uint64_t mpidr = MICA_READ_SYSREG(mpidr_el1);
    uint64_t affinity = ((mpidr >> 32 & 0xff) << 24) | (mpidr & 0xffffff);
    uintptr_t rd = 0;
    for (uintptr_t frame = redistributors_base;; frame += gicr_frame_size) {
        uint64_t typer = *reinterpret_cast<volatile uint64_t*>(frame + gicr_typer);
        if ((typer >> 32) == affinity) {
            rd = frame;
            break;
        }
        if (typer & gicr_typer_last) break;
    }
    if (!rd) return;  // not found: this CPU gets no interrupts (reported by the IRQ test)
    redistributor_of[MICA_READ_SYSREG(tpidr_el1)] = rd;
    write(rd + gicr_waker, read(rd + gicr_waker) & ~waker_processor_sleep);
    for (int i = 0; i < max_wait && (read(rd + gicr_waker) & waker_children_asleep); ++i) {
    }
    write(rd + gicr_sgi_base + gicr_igroupr0, ~0u);
    uint64_t sre;
    asm volatile("mrs %0, icc_sre_el1" : "=r"(sre));
    asm volatile("msr icc_sre_el1, %0; isb" ::"r"(sre | 1));
    asm volatile("msr icc_pmr_el1, %0" ::"r"(uint64_t{priority_mask}));
    asm volatile("msr icc_igrpen1_el1, %0; isb" ::"r"(uint64_t{1}));
}

// Device lines are SPIs, named by their interrupt id (32 and up): trigger in GICD_ICFGR (two
// bits per interrupt, the upper one set for edge), routed to the boot CPU (GICv2: its
// target bit, set for every SPI at start; GICv3: GICD_IROUTER with its affinity). The GIC
// has no active-low or falling-edge inputs.
constexpr uintptr_t gicd_icfgr = 0xc00, gicd_irouter = 0x6000;
constexpr uint32_t icfgr_edge = 2;
constexpr int errno_inval = 22;
unsigned spi_fixed_irq(unsigned line) { return line; }
int spi_connect(unsigned line, irq::LineConfig config, unsigned id) {
    if (line < first_spi || line >= lines || id != line || config.polarity != irq::Polarity::high) return -errno_inval;
    write(distributor + gicd_icenabler + (line / 32) * 4, 1u << (line % 32));
    uintptr_t icfgr = distributor + gicd_icfgr + (line / 16) * 4;
    unsigned shift = (line % 16) * 2;
    uint32_t v = read(icfgr) & ~(3u << shift);
    if (config.trigger == irq::Trigger::edge) v |= icfgr_edge << shift;
    write(icfgr, v);
    write8(distributor + gicd_ipriorityr + line, default_priority);
    if (version == 3) {
        *reinterpret_cast<volatile uint64_t*>(distributor + gicd_irouter + 8 * line) = irq::cpu_hw_id(0);
    }
    return 0;
}
void spi_set_masked(unsigned line, bool masked) {
    if (line < first_spi || line >= lines) return;
    write(distributor + (masked ? gicd_icenabler : gicd_isenabler) + (line / 32) * 4, 1u << (line % 32));
}
const irq::LineController spi_lines{"gic spi", spi_fixed_irq, spi_connect, spi_set_masked};

const irq::Controller gicv2{"gicv2", v2_acknowledge, v2_end, v2_enable, v2_send_ipi, v2_init_cpu};
const irq::Controller gicv3{"gicv3", v3_acknowledge, v3_end, v3_enable, v3_send_ipi, v3_init_cpu};

bool become_controller(const irq::Controller& controller) {
    irq::register_controller(controller);
    irq::register_line_controller(spi_lines);
    irq::set_cpu_hw_id(0, MICA_READ_SYSREG(mpidr_el1) & 0xff00ffffffull);  // the boot CPU's affinity
    return true;
}

bool init_v3(const fdt::Tree& tree, fdt::Node node) {
    uint64_t d, r, size;
    if (!tree.reg(node, 0, d, size) || !tree.reg(node, 1, r, size)) return false;
    distributor = d;
    redistributors_base = r;
    version = 3;
    distributor_init(gicd_ctlr_are | gicd_ctlr_enable_grp1 | gicd_ctlr_enable_grp0);
    v3_init_cpu();
    return become_controller(gicv3);
}



// GICv2m (QEMU virt with GICv2): a frame that turns a device's write of an SPI number to
// its doorbell into that SPI, edge-triggered: message interrupts for PCI MSI-X. The frame
// says which SPIs it owns (MSI_TYPER); they become the dynamic numbers attach_msi hands out.
constexpr uintptr_t v2m_typer = 0x008, v2m_setspi = 0x040;
constexpr unsigned v2m_base_shift = 16, v2m_field_mask = 0x3ff;
uintptr_t v2m_frame = 0;            // owned here, set once by init_v2m
unsigned v2m_first = 0, v2m_count = 0;

bool v2m_compose(unsigned id, irq::MsiMessage& message) {
    if (id < v2m_first || id >= v2m_first + v2m_count || id >= lines) return false;
    // Edge-triggered at the distributor, like every message interrupt.
    uintptr_t icfgr = distributor + gicd_icfgr + (id / 16) * 4;
    write(icfgr, read(icfgr) | (icfgr_edge << ((id % 16) * 2)));
    message.address = v2m_frame + v2m_setspi;
    message.data = id;
    return true;
}
const irq::MsiController v2m{"gicv2m", v2m_compose};

void init_v2m(const fdt::Tree& tree) {
    fdt::Node frame = tree.find_compatible("arm,gic-v2m-frame");
    uint64_t base, size;
    if (!frame.valid || !tree.reg(frame, 0, base, size)) return;
    uint32_t typer = read(base + v2m_typer);
    unsigned first = (typer >> v2m_base_shift) & v2m_field_mask, count = typer & v2m_field_mask;
    if (count == 0 || first < first_spi || first + count > lines) return;
    v2m_frame = base;
    v2m_first = first;
    v2m_count = count;
    irq::set_dynamic_range(first, first + count - 1);
    irq::register_msi_controller(v2m);
}

bool init_v2(const fdt::Tree& tree, fdt::Node node) {
    uint64_t d, c, size;
    if (!tree.reg(node, 0, d, size) || !tree.reg(node, 1, c, size)) return false;
    distributor = d;
    cpu_interface = c;
    version = 2;
    distributor_init(gicd_ctlr_enable_grp0);
    v2_init_cpu();
    become_controller(gicv2);
    init_v2m(tree);
    return true;
}

bool init() {
    const fdt::Tree* tree = device_tree();
    if (!tree) return false;
    static const char* const v2_names[] = {"arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic",
                                           "arm,cortex-a7-gic"};
    for (const char* c : v2_names) {
        if (fdt::Node node = tree->find_compatible(c); node.valid) return init_v2(*tree, node);
    }
    if (fdt::Node node = tree->find_compatible("arm,gic-v3"); node.valid) return init_v3(*tree, node);
    return false;
}
}  // namespace

extern const Driver gic_driver{"gic", Phase::platform, init};

}  // namespace mica::drivers
