// Local APIC (xAPIC, memory-mapped): the interrupt controller for this CPU's interrupts and
// its one-shot timer: TSC-deadline mode where the CPU has it (no calibration), otherwise the
// count-down timer, whose frequency is measured against the (already calibrated) TSC over
// at least 100 us. The legacy 8259 PICs are masked for good. Device interrupts arrive as vectors
// from the dynamic range: through the I/O APIC (drivers/x86/ioapic.cc) or as MSI/MSI-X
// messages this file composes (fixed delivery to the boot CPU, edge).
#include <arch/arch.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/io.h>
#include <mica/clock_calibration.h>
#include <mica/irq.h>

namespace mica::arch {
namespace {
constexpr uint32_t msr_apic_base = 0x1b;
constexpr uint64_t apic_base_enable = 1 << 11;
constexpr uintptr_t reg_eoi = 0xb0, reg_spurious = 0xf0, reg_lvt_timer = 0x320, reg_timer_initial = 0x380,
                    reg_timer_current = 0x390, reg_timer_divide = 0x3e0;
constexpr uint32_t spurious_enable = 1 << 8, lvt_masked = 1 << 16, divide_by_1 = 0xb;
constexpr unsigned timer_vector = 32;
constexpr unsigned reschedule_vector = 33;
constexpr unsigned stop_vector = 34;
constexpr unsigned tlb_shootdown_vector = 35;
// Vectors for device interrupts (36-47 stay free for fixed uses; 240-255 are above the
// priority classes devices should use, and 255 is the spurious vector).
constexpr unsigned first_device_vector = 48, last_device_vector = 239;
constexpr uint64_t msi_address_base = 0xfee00000;
constexpr unsigned msi_destination_shift = 12;
constexpr uintptr_t reg_id = 0x20, reg_icr_low = 0x300, reg_icr_high = 0x310;
constexpr uint32_t icr_pending = 1 << 12;
constexpr unsigned spurious_vector = 0xff;
constexpr uint64_t calibration_ns = 100000;
constexpr uint64_t timer_mask = 0xffffffff;  // a 32-bit count-down register
constexpr uint16_t pic1_data = 0x21, pic2_data = 0xa1;

// Owned here; set once by lapic_init on the boot CPU.
uintptr_t base = 0;
uint64_t timer_hz = 0;
// Timer programmed in TSC cycles (CPUID.1:ECX.24): no calibration. QEMU's TCG does not offer
// it, so only KVM hosts run this path; CI covers the count-down timer.
bool tsc_deadline = false;
constexpr uint32_t lvt_tsc_deadline = 2 << 17;
constexpr uint32_t msr_tsc_deadline = 0x6e0;

uint32_t read(uintptr_t reg) { return *reinterpret_cast<volatile uint32_t*>(base + reg); }
void write(uintptr_t reg, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(base + reg) = v; }

uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t{hi} << 32) | lo;
}
void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)), "c"(msr));
}

// The vector is the interrupt number: the CPU delivered it with the interrupt.
unsigned acknowledge(unsigned vector) { return vector == spurious_vector ? irq::spurious : vector; }
void end(unsigned) { write(reg_eoi, 0); }
void enable(unsigned) {}  // local interrupts are unmasked where they are programmed
void send_ipi(uint64_t apic_id, unsigned vector) {
    while (read(reg_icr_low) & icr_pending) cpu_relax();
    write(reg_icr_high, static_cast<uint32_t>(apic_id) << 24);
    write(reg_icr_low, vector);  // fixed delivery, physical destination, edge
}

// Secondary CPUs set up their APIC in clock_init_cpu (it is also their timer).
const irq::Controller lapic{"lapic", acknowledge, end, enable, send_ipi, nullptr};

// An MSI message: the address selects the destination APIC (physical mode), the data the
// vector (fixed delivery, edge).
bool compose_msi(unsigned vector, irq::MsiMessage& message) {
    if (vector < first_device_vector || vector > last_device_vector) return false;
    message.address = msi_address_base | (irq::cpu_hw_id(0) << msi_destination_shift);
    message.data = vector;
    return true;
}
const irq::MsiController msi{"lapic msi", compose_msi};

void become_controller() {
    irq::register_controller(lapic);
    irq::set_cpu_hw_id(cpu_index(), lapic_id());
    irq::set_dynamic_range(first_device_vector, last_device_vector);
    irq::register_msi_controller(msi);
}
}  // namespace

void lapic_init() {
    x86::outb(pic1_data, 0xff);
    x86::outb(pic2_data, 0xff);
    if (!(x86::cpuid(1).edx & (1 << 9))) return;  // no APIC: no interrupt timer
    uint64_t msr = rdmsr(msr_apic_base);
    wrmsr(msr_apic_base, msr | apic_base_enable);
    base = msr & 0xffffff000ull;
    write(reg_spurious, spurious_enable | spurious_vector);
    if (x86::cpuid(1).ecx & (1 << 24)) {
        tsc_deadline = true;
        timer_hz = cycles_per_second();
        write(reg_lvt_timer, lvt_tsc_deadline | timer_vector);
        become_controller();
        return;
    }
    write(reg_timer_divide, divide_by_1);
    write(reg_lvt_timer, lvt_masked | timer_vector);
    write(reg_timer_initial, 0xffffffff);
    // Measured, never assumed, durations: see clock_calibration.h.
    uint64_t hz = cycles_per_second();
    auto counted = [] { return uint64_t{~read(reg_timer_current)}; };  // counts down from ~0
    timer_hz = clock::measure_slow_hz(cycles, counted, timer_mask, hz, hz / (1000000000 / calibration_ns));
    write(reg_timer_initial, 0);
    write(reg_lvt_timer, timer_vector);  // one-shot, unmasked
    become_controller();
}

void lapic_init_cpu() {
    if (!base) return;
    wrmsr(msr_apic_base, rdmsr(msr_apic_base) | apic_base_enable);
    write(reg_spurious, spurious_enable | spurious_vector);
    if (tsc_deadline) {
        write(reg_lvt_timer, lvt_tsc_deadline | timer_vector);
        return;
    }
    write(reg_timer_divide, divide_by_1);
    write(reg_timer_initial, 0);
    write(reg_lvt_timer, timer_vector);  // same calibration: every CPU's timer runs at the bus clock
}

void lapic_send_init_sipi(uint32_t apic_id, uint8_t start_page) {
    constexpr uint32_t init_assert = 0x4500, startup = 0x4600;
    auto wait_us = [](uint64_t us) {
        uint64_t start = cycles(), n = cycles_per_second() / 1000000 * us;
        while (cycles() - start < n) cpu_relax();
    };
    auto send = [](uint32_t id, uint32_t command) {
        while (read(reg_icr_low) & icr_pending) cpu_relax();
        write(reg_icr_high, id << 24);
        write(reg_icr_low, command);
    };
    // The MP start-up sequence: INIT, then two STARTUPs with the page number of the code.
    // The architectural delays (10 ms, 200 us) are for real hardware; hypervisors answer at
    // once, so they are shortened to keep boot fast.
    send(apic_id, init_assert);
    wait_us(100);
    send(apic_id, startup | start_page);
    wait_us(20);
    send(apic_id, startup | start_page);
}

unsigned timer_irq() { return timer_hz ? timer_vector : irq::spurious; }
const char* timer_name() { return !timer_hz ? "none" : tsc_deadline ? "lapic tsc-deadline" : "lapic one-shot"; }
unsigned reschedule_irq() { return reschedule_vector; }
unsigned stop_irq() { return stop_vector; }
unsigned tlb_shootdown_irq() { return tlb_shootdown_vector; }
const bool tlb_shootdown_needed = true;  // INVLPG only reaches this CPU
uint32_t lapic_id() { return base ? read(reg_id) >> 24 : 0; }

void timer_arm(uint64_t ns) {
    if (tsc_deadline) {
        uint64_t deadline = cycles() + timer_hz / 1000000 * ns / 1000 + 1;
        wrmsr(msr_tsc_deadline, deadline);
        return;
    }
    uint64_t ticks = timer_hz / 1000000 * ns / 1000;
    if (ticks == 0) ticks = 1;
    if (ticks > 0xffffffff) ticks = 0xffffffff;
    write(reg_timer_initial, static_cast<uint32_t>(ticks));
}

void timer_disarm() {
    if (tsc_deadline) wrmsr(msr_tsc_deadline, 0);
    else write(reg_timer_initial, 0);
}

}  // namespace mica::arch
