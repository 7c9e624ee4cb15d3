// Arch-neutral boot sequence: console, command line, clock, memory, drivers, banner.
#include <arch/arch.h>
#include <mica/boot.h>
#include <mica/bootchart.h>
#include <mica/clock.h>
#include <mica/cmdline.h>
#include <mica/ktest.h>
#include <mica/config.h>
#include <mica/console.h>
#include <mica/block/device.h>
#include <mica/drivers/registry.h>
#include <mica/format.h>
#include <mica/fs/abi.h>
#include <mica/mm/early.h>
#include <mica/mm/exhaustion.h>
#include <mica/mm/memory.h>
#include <mica/linux/files.h>
#include <mica/linux/process.h>
#include <mica/linux/root_disk.h>
#include <mica/linux/syscall.h>
#include <mica/mm/phys.h>
#include <mica/mm/vm.h>
#include <mica/sched/sync.h>
#include <mica/panic.h>
#include <mica/power.h>
#include <mica/sched/sched.h>
#include <mica/selftest.h>
#include <mica/smp.h>
#include <mica/trace/trace.h>
#include <mica/version.h>
#include <mica/virtio/mmio_spec.h>
#include <mica/virtio/rng.h>
#include <mica/driver-config.h>
#include <stdlib.h>
#include <string.h>
#if CONFIG_NET
#include <mica/net/net.h>
#include <mica/net/test_services.h>
#endif
#if CONF_drivers_virtio_net
#include <mica/virtio/net.h>
#endif
#if CONFIG_TRACING
#include <mica/trace/options.h>
#endif

namespace mica {
namespace {

// Owned by the boot sequence: what the command line asked for.
struct BootOptions {
    bool help = false;
    bool bootchart = false;
    bool verbose = false;
    const char* test_fault = nullptr;
    bool test_timer_irq = false;
    bool test_rng = false;
    const char* test_disk = nullptr;
    const char* test_pattern = nullptr;
    bool strace = false;
    bool memstats = false;
    const char* root = nullptr;  // --root: the block device holding the root image
    static constexpr size_t max_env = 64;
    const char* env[max_env + 1] = {};
    size_t env_count = 0;
} options;

// The architecture's CPU faults plus the kernel's own failure kinds.
constexpr size_t max_fault_kinds = 16;
const char* fault_kinds[max_fault_kinds] = {"panic", "heap-double-free", "stack-overflow", "heap-overflow"};

void collect_fault_kinds() {
    size_t n = 0;
    while (fault_kinds[n]) ++n;
    for (auto k = arch::fault_kinds; *k && n + 1 < max_fault_kinds; ++k) fault_kinds[n++] = *k;
}

const cmdline::Option option_table[] = {
    {"help", nullptr, "list the kernel options and stop", nullptr,
     [](const char*) -> const char* { options.help = true; return nullptr; }},
    {"bootchart", nullptr, "print boot phases with times from the first instruction", nullptr,
     [](const char*) -> const char* { options.bootchart = true; return nullptr; }},
    {"verbose", nullptr, "print memory map and devices while booting", nullptr,
     [](const char*) -> const char* { options.verbose = true; return nullptr; }},
    {"env", "NAME=VALUE", "add a variable to the application's environment (repeatable)", nullptr,
     [](const char* v) -> const char* {
         if (!strchr(v, '=')) return "expected NAME=VALUE";
         if (options.env_count == BootOptions::max_env) return "too many --env options (the limit is 64)";
         options.env[options.env_count++] = v;
         return nullptr;
     }},
#if CONFIG_FS_SQUASHFS
    {"root", "DEVICE", "mount the squashfs image on block device DEVICE (vda) as the root file system, read-only "
     "(/tmp is a ramfs); without application arguments run the image's /etc/mica/cmdline", nullptr,
     [](const char* v) -> const char* {
         if (!*v) return "--root needs a block device name (vda)";
         options.root = v;
         return nullptr;
     }},
#endif
    {"strace", nullptr, "print every system call of the application with its result", nullptr,
     [](const char*) -> const char* { options.strace = true; return nullptr; }},
    {"memstats", nullptr, "print the kernel's memory accounting at the start and end of every process", nullptr,
     [](const char*) -> const char* { options.memstats = true; return nullptr; }},
    // QEMU microvm (without ACPI) and Firecracker describe their virtio-mmio devices this way,
    // appended after whatever command line they were given. Checked even without a
    // virtio-mmio driver, so a malformed one is always reported.
    {"virtio_mmio.device", "SIZE@ADDR:IRQ[:ID]", "a virtio-mmio device (QEMU microvm, Firecracker)", nullptr,
     [](const char* v) -> const char* {
         virtio::MmioDeviceSpec spec;
         if (const char* problem = virtio::parse_mmio_device(v, spec)) return problem;
         if (!virtio::add_cmdline_mmio_device(spec)) return "too many virtio-mmio devices (the limit is 32)";
         return nullptr;
     },
     true},
#if CONFIG_TEST_OPTIONS
    {"test-fault", "KIND", "deliberately crash after boot (tests of the panic path)", fault_kinds,
     [](const char* v) -> const char* { options.test_fault = v; return nullptr; }},
    {"test-timer-irq", nullptr, "check that a 1 ms timer interrupt arrives, then stop", nullptr,
     [](const char*) -> const char* { options.test_timer_irq = true; return nullptr; }},
#endif
#if CONFIG_TEST_OPTIONS && CONF_drivers_virtio_rng
    {"test-rng", nullptr, "read 4 KiB through every virtio-rng device and check the bytes, then stop", nullptr,
     [](const char*) -> const char* { options.test_rng = true; return nullptr; }},
#endif
#if CONFIG_TEST_OPTIONS
    {"test-disk", "NAME", "read disk NAME (vda...) whole, by 4 threads and through the buffer cache, then stop",
     nullptr, [](const char* v) -> const char* { options.test_disk = v; return nullptr; }},
#endif
#if CONFIG_GUEST_TESTS
    {"test", "PATTERN", "run the in-guest tests matching PATTERN (suite.name, * wildcards), then stop",
     nullptr, [](const char* v) -> const char* { options.test_pattern = v; return nullptr; }},
#endif
};
constexpr size_t option_count = sizeof(option_table) / sizeof(option_table[0]);

// The kernel's own options, then those the subsystems contribute.
const cmdline::OptionTable option_tables[] = {
    {option_table, option_count},
#if CONFIG_NET
    net::command_line_options(),
#endif
#if CONF_drivers_virtio_net
    virtio::net_command_line_options(),
#endif
#if CONFIG_NET && CONFIG_TEST_OPTIONS
    net::test_command_line_options(),
#endif
#if CONFIG_TRACING
    trace::command_line_options(),
#endif
};
constexpr size_t option_table_count = sizeof(option_tables) / sizeof(option_tables[0]);

char cmdline_copy[BootInfo::max_cmdline];

// Where a root image keeps its default application command line (tools/mkimage writes it).
constexpr const char* default_cmdline_path = "/etc/mica/cmdline";

// The application named on the command line: its files from the initrd, then its first
// thread; the boot thread then has nothing left to do (the application's end stops the
// machine). Exit statuses 127 and 126 as a shell's: not found, cannot run.
// With --root and no application arguments: the image's default command line, one line
// in the kernel command line's quoting. Stops the machine when there is none.
void default_command_line(cmdline::Result& parsed) {
    static char text[BootInfo::max_cmdline];
    void* data = nullptr;
    size_t size = 0;
    if (int r = abi::files_read_whole(default_cmdline_path, &data, &size); r < 0) {
        kprintf("mica: error: no application given and the root image has no %s (error %d): name one after --, "
                "or build the image from modules (tools/mkimage)\n", default_cmdline_path, -r);
        power::shutdown(abi::exit_not_found);
    }
    if (size >= sizeof text) {
        kprintf("mica: error: %s is %zu bytes: the limit is %zu\n", default_cmdline_path, size, sizeof text - 1);
        power::shutdown(power::exit_status::usage);
    }
    memcpy(text, data, size);
    free(data);
    text[size] = '\0';
    cmdline::parse(text, static_cast<const cmdline::Option*>(nullptr), 0, parsed);  // no options: arguments only
    if (!parsed.ok || parsed.arg_count == 0) {
        kprintf("mica: error: %s: %s\n", default_cmdline_path, parsed.ok ? "no application named" : parsed.error);
        power::shutdown(power::exit_status::usage);
    }
}

// The root file system: the boot archive unpacked into ramfs, or (--root) the image on a
// disk. Stops the machine with a message when it cannot be had.
void mount_root(const BootInfo& boot) {
    char error[256];
    const void* archive = boot.initrd.size ? mm::phys_to_virt(boot.initrd.base) : nullptr;
    uint64_t free_before = uint64_t{mm::pages().free_pages()} * mm::page_size;
    abi::RootFileSystem disk_root{};
    bool from_disk = false;
#if CONFIG_FS_SQUASHFS
    if (options.root) {
        if (boot.initrd.size) {
            kprintf("mica: error: --root=%s and a boot archive (-initrd): boot with one of them\n", options.root);
            power::shutdown(power::exit_status::usage);
        }
        if (abi::open_disk_root(options.root, &disk_root, error, sizeof error) != 0) {
            kprintf("mica: error: root file system: %s\n", error);
            power::shutdown(abi::exit_not_executable);
        }
        from_disk = true;
    }
#endif
    if (int r = abi::files_init(archive, boot.initrd.size, error, sizeof error, from_disk ? &disk_root : nullptr);
        r != 0) {
        if (r == -mm::errno_nomem && !from_disk) {
            // ramfs holds a copy of every file (in whole pages) while the archive is still in
            // memory: up to twice the archive.
            mm::boot_memory_short("free memory to unpack the boot archive into the root filesystem (up to twice "
                                  "its size)", 2 * boot.initrd.size + mm::boot_reserve_bytes(1), free_before);
        }
        kprintf("mica: error: root filesystem: %s\n", error);
        power::shutdown(abi::exit_not_executable);
    }
    // Unpacked into ramfs: the archive's memory is free for the application.
    if (boot.initrd.size) mm::release_boot_memory(boot.initrd.base, boot.initrd.size);
}

// The application named on the command line (or by the root image): its files from the
// initrd or the disk, then its first thread; the boot thread then has nothing left to do
// (the application's end stops the machine). Exit statuses 127 and 126 as a shell's: not
// found, cannot run.
[[noreturn]] void run_application(const BootInfo& boot, const cmdline::Result& given) {
    char error[256];
    mount_root(boot);
    static cmdline::Result from_image;
    const cmdline::Result& parsed = given.arg_count ? given : from_image;
    if (!given.arg_count) default_command_line(from_image);
#if CONFIG_NET
    net::wait_for_addresses(options.verbose);
    // A read-only root (a disk image) keeps the /etc/resolv.conf and /etc/hosts it was built with.
    if (int r = net::write_resolver_files(); r < 0 && r != -fs::errno_rofs) {
        kprintf("mica: warning: cannot create /etc/resolv.conf or /etc/hosts (error %d)\n", -r);
    }
#endif
    uint64_t unpacked = bootchart::ns_since_entry();
    static const char* argv[cmdline::Result::max_args + 1];
    for (size_t i = 0; i < parsed.arg_count; ++i) argv[i] = parsed.args[i];
    abi::set_trace(options.strace);
    abi::set_memory_report(options.memstats);
    abi::report_memory("start", 1);
    int r = abi::start_application(argv, options.env, error, sizeof error);
    if (r != 0) {
        kprintf("mica: error: %s\n", error);
        power::shutdown(r == -2 ? abi::exit_not_found : abi::exit_not_executable);
    }
    if (options.verbose) {
        uint64_t loaded = bootchart::ns_since_entry();
        kprintf("mica: root filesystem ready at %llu us, %s loaded at %llu us\n",
                (unsigned long long)(unpacked / 1000), argv[0], (unsigned long long)(loaded / 1000));
    }
    sched::Semaphore never(0);
    for (;;) never.wait();
}

// What the machine must provide before the kernel touches memory beyond its image: no more
// CPUs than it supports, its image inside RAM and the boot archive beside it (a loader
// given too little memory puts the archive over the image, or the image past the end of
// RAM: QEMU's x86 PVH loader checks neither). Each failure stops with a message saying what
// would do and exit_status::resources.
void check_machine(const BootInfo& boot) {
    if (boot.cpus_described > sched::max_cpus) {
        kprintf("mica: error: the machine has %zu CPUs; this kernel supports at most %u (sched::max_cpus): "
                "give it at most %u (QEMU -smp %u)\n", boot.cpus_described, sched::max_cpus, sched::max_cpus,
                sched::max_cpus);
        power::shutdown(power::exit_status::resources);
    }
    uint64_t image_start = mm::virt_to_phys(_kernel_start), image_end = mm::virt_to_phys(_kernel_end);
    const MemoryRange* home = nullptr;
    for (size_t i = 0; i < boot.ram_count; ++i) {
        if (boot.ram[i].base <= image_start && image_end <= boot.ram[i].end()) home = &boot.ram[i];
    }
    if (!home) {
        mm::boot_memory_short("RAM to hold the kernel image", image_end - image_start + mm::boot_reserve_bytes(1), 0);
    }
    const MemoryRange& archive = boot.initrd;
    if (archive.size && archive.base < image_end && image_start < archive.end()) {
        mm::boot_memory_short("RAM to hold the boot archive beside the kernel image (the loader put it over the image)",
                              image_end - home->base + archive.size + mm::boot_reserve_bytes(1),
                              home->size);
    }
}

void print_banner(const BootInfo& boot) {
    uint64_t us = bootchart::ns_since_entry() / 1000;
    char cpus[16] = "";  // " x4" with more than one CPU
    if (sched::online_cpus() > 1) fmt::snprintf(cpus, sizeof(cpus), " x%u", sched::online_cpus());
    kprintf("Mica %s (config %s, drivers %s, %s) on %s%s, %llu MiB RAM, booted in %llu.%03llu ms\n",
            MICA_VERSION, CONFIG_BUILD_NAME, CONFIG_DRIVER_PROFILE_NAME, CONFIG_ARCH, arch::cpu_model(), cpus,
            (unsigned long long)(boot.ram_bytes() >> 20),
            (unsigned long long)(us / 1000),
            (unsigned long long)(us % 1000));
}

}  // namespace

void kernel_main(BootInfo& boot) {
    bootchart::set_origin(boot.entry_cycles);
    drivers::init(drivers::Phase::console);
    bootchart::mark("console");
    if (boot.error) panic("boot protocol (%s): %s", boot.protocol, boot.error);
    drivers::init(drivers::Phase::platform);  // the exit methods: check_machine may stop
    check_machine(boot);
    arch::clock_init();
    clock::init();
    bootchart::mark("clock");

    collect_fault_kinds();
    // Parse a copy: the parser splits words in place and options keep pointers into it.
    size_t len = strlen(boot.cmdline);
    if (len >= sizeof(cmdline_copy)) {
        kprintf("mica: error: kernel command line is %zu bytes, the limit is %zu\n", len,
                sizeof(cmdline_copy) - 1);
        power::shutdown(power::exit_status::usage);
    }
    memcpy(cmdline_copy, boot.cmdline, len + 1);
    static cmdline::Result parsed;  // large; keep it off the boot stack
    cmdline::parse(cmdline_copy, option_tables, option_table_count, parsed);
    if (!parsed.ok) {
        kprintf("mica: error: %s\nmica: run with --help for the list of options\n", parsed.error);
        power::shutdown(power::exit_status::usage);
    }
    bootchart::mark("command line");
#if CONFIG_TRACING
    if (trace::list_requested()) {
        trace::print_list();
        power::shutdown(power::exit_status::success);
    }
#endif

    arch::paging_init(boot);
    bootchart::mark("paging");
    mm::init(boot);
    mm::check_boot_memory(static_cast<unsigned>(boot.cpu_count));
    mm::vm::init(boot);
#if CONFIG_TRACING
    trace::start(static_cast<unsigned>(boot.cpu_count));
#endif
    bootchart::mark("memory");
    if (options.verbose) {
        for (size_t i = 0; i < boot.ram_count; ++i) {
            kprintf("mica: ram %#014llx-%#014llx\n", (unsigned long long)boot.ram[i].base,
                    (unsigned long long)boot.ram[i].end());
        }
        kprintf("mica: %zu pages free of %zu; malloc: %s\n", mm::pages().free_pages(), mm::pages().total_pages(),
                mm::allocator_name());
        kprintf("mica: %zu CPUs described by the firmware\n", boot.cpu_count);
        kprintf("mica: clock %s, %llu Hz; interrupt timer %s\n", arch::clock_source(),
                (unsigned long long)arch::cycles_per_second(), arch::timer_name());
    }
    drivers::set_verbose(options.verbose);
    drivers::init(drivers::Phase::bus);
    bootchart::mark("drivers");
    if (options.verbose) {
        uint64_t s = clock::realtime_ns() / 1000000000;
        kprintf("mica: wall clock from %s: %llu s since the epoch\n", clock::wall_clock_source(),
                (unsigned long long)s);
    }
    // Before the scheduler: from then on it owns the one-shot timer and reprograms it for its
    // own events after any interrupt, which would make the test's interrupt come early.
    if (options.test_timer_irq) {
        power::shutdown(selftest::timer_interrupt() ? power::exit_status::success : power::exit_status::panic);
    }
    sched::init();
    mm::vm::enable_shootdowns();
    bootchart::mark("scheduler");
    if (boot.cpu_count > 1) {
        smp::start_secondaries(boot, sched::max_cpus);
        bootchart::mark("secondary CPUs");
    }
    drivers::init(drivers::Phase::devices);
    bootchart::mark("devices");

#if CONFIG_NET
    // After the scheduler (lwIP's tcpip thread), before the leak check's mark: the stack's
    // lasting allocations are not leaks.
    if (const char* problem = net::init(options.verbose)) {
        kprintf("mica: error: %s\n", problem);
        power::shutdown(power::exit_status::usage);
    }
    bootchart::mark("network");
#endif

#if CONFIG_TRACING
    trace::start_profiling();
#endif
    print_banner(boot);
    mm::start_leak_check();
    if (options.bootchart) bootchart::print();
    if (options.help) {
        kprintf("Kernel options (before the application's arguments):\n");
        cmdline::print_help(option_tables, option_table_count, kprintf);
        power::shutdown(power::exit_status::success);
    }
    if (options.test_fault) selftest::fault(options.test_fault);
    if (options.test_pattern) {
        int failed = ktest::run(options.test_pattern);
        mm::report_leaks();
        power::shutdown(failed == 0 ? power::exit_status::success
                                    : failed < 0 ? power::exit_status::usage : power::exit_status::tests_failed);
    }
#if CONF_drivers_virtio_rng
    if (options.test_rng) {
        power::shutdown(virtio::rng_self_test() ? power::exit_status::success : power::exit_status::tests_failed);
    }
#endif
#if CONFIG_TEST_OPTIONS
    if (options.test_disk) {
        power::shutdown(block::self_test(options.test_disk) ? power::exit_status::success
                                                             : power::exit_status::tests_failed);
    }
#endif
#if CONFIG_NET && CONFIG_TEST_OPTIONS
    if (net::test_service_requested()) {
        int status = net::run_test_service(options.verbose);
#if CONF_drivers_virtio_net
        virtio::print_net_stats();
#endif
        power::shutdown(status == 0 ? power::exit_status::success : power::exit_status::tests_failed);
    }
#endif
    if (parsed.arg_count || options.root) run_application(boot, parsed);
    mm::report_leaks();
    power::shutdown(power::exit_status::success);
}

}  // namespace mica
