#include <mica/console.h>
#include <mica/format.h>
#include <mica/mm/exhaustion.h>
#include <mica/mm/memory.h>
#include <mica/panic.h>
#include <mica/power.h>

namespace mica::mm {
namespace {
constexpr uint64_t kib = 1024, mib = 1024 * 1024;
// Measured after boot (x86_64, aarch64; per-CPU pools and the debug heap): one CPU takes
// about 100 KiB, each other CPU about 160 KiB (its idle thread, interrupt and fault stacks,
// start-up stacks). Twice that, and 256 KiB to run anything after the banner.
constexpr uint64_t boot_base_bytes = 512 * kib;
constexpr uint64_t boot_per_cpu_bytes = 320 * kib;
// Firmware tables and holes the RAM map leaves out (x86: the 384 KiB below 1 MiB, ACPI at
// the top): a margin on top of the RAM the kernel counted when suggesting a -m.
constexpr uint64_t firmware_margin_bytes = 1 * mib;

uint64_t machine_ram = 0;  // set once by early_init on the boot CPU

void print_size(const char* label, uint64_t bytes) {
    if (bytes >= 10 * mib) kprintf("%s%llu MiB", label, (unsigned long long)(bytes / mib));
    else kprintf("%s%llu KiB", label, (unsigned long long)((bytes + kib - 1) / kib));
}
}  // namespace

uint64_t boot_reserve_bytes(unsigned cpus) { return boot_base_bytes + uint64_t{cpus} * boot_per_cpu_bytes; }

void note_ram_bytes(uint64_t bytes) { machine_ram = bytes; }

void boot_memory_short(const char* what, uint64_t needed, uint64_t available) {
    uint64_t shortfall = needed > available ? needed - available : 0;
    uint64_t suggest = (machine_ram + shortfall + firmware_margin_bytes + mib - 1) / mib;
    kprintf("mica: error: not enough memory: %s: ", what);
    print_size("", needed);
    print_size(" needed, ", available);
    kprintf(" available; give the machine at least %llu MiB (QEMU -m %lluM)\n", (unsigned long long)suggest,
            (unsigned long long)suggest);
    power::shutdown(power::exit_status::resources);
}

void check_boot_memory(unsigned cpus) {
    uint64_t free = uint64_t{pages().free_pages()} * page_size, needed = boot_reserve_bytes(cpus);
    if (free >= needed) return;
    char what[64];
    fmt::snprintf(what, sizeof what, "free memory to start the kernel on %u CPU%s", cpus, cpus == 1 ? "" : "s");
    boot_memory_short(what, needed, free);
}

void kernel_out_of_memory(const char* what, size_t bytes) {
    const Heap::Stats& h = heap().stats();
    panic("out of memory: %s (%zu bytes); %zu of %zu pages free, heap %zu bytes in %zu allocations", what, bytes,
          pages().free_pages(), pages().total_pages(), h.bytes_in_use, h.allocations);
}

}  // namespace mica::mm
