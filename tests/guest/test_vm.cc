// Virtual memory in the guest: demand paging, protection, partial unmapping, brk, and
// TLB consistency across CPUs. Accesses that must fail go through the checked copy
// routines, so a fault becomes -EFAULT instead of a panic.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/ktest.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <mica/sched/sync.h>
#include <stdlib.h>
#include <string.h>

using namespace mica::mm;
using namespace mica::sched;

namespace {
constexpr size_t page = 4096;
constexpr int rw = prot_read | prot_write;

bool readable(uintptr_t a) {
    char c;
    return vm::copy_from_app(&c, reinterpret_cast<const void*>(a), 1) == 0;
}
bool writable(uintptr_t a) {
    char c = 1;
    return vm::copy_to_app(reinterpret_cast<void*>(a), &c, 1) == 0;
}
}  // namespace

KTEST(vm, demand_paging_populates_on_touch) {
    vm::Stats before = vm::stats();
    intptr_t a = vm::map_anonymous(0, 64 * page, rw, false);
    KASSERT(a > 0);
    KEXPECT_EQ(vm::stats().resident_pages, before.resident_pages);  // nothing until touched
    auto* p = reinterpret_cast<volatile unsigned char*>(a);
    for (size_t i = 0; i < 64 * page; i += 4 * page) KEXPECT_EQ(p[i + 5], 0u);  // zero-filled
    KEXPECT_EQ(vm::stats().resident_pages, before.resident_pages + 16);
    p[7 * page] = 0xab;
    KEXPECT_EQ(p[7 * page], 0xabu);
    KEXPECT_EQ(vm::unmap(static_cast<uintptr_t>(a), 64 * page), 0);
    KEXPECT_EQ(vm::stats().resident_pages, before.resident_pages);  // pages went back
    KEXPECT(!readable(static_cast<uintptr_t>(a)));
}

KTEST(vm, protection_faults_are_reported) {
    intptr_t a = vm::map_anonymous(0, 4 * page, rw, false);
    KASSERT(a > 0);
    auto base = static_cast<uintptr_t>(a);
    KEXPECT(writable(base + page));
    KEXPECT_EQ(vm::protect(base, 2 * page, prot_read), 0);
    KEXPECT(readable(base + page));
    KEXPECT(!writable(base + page));   // populated page made read-only
    KEXPECT(!writable(base));          // never-touched read-only page
    KEXPECT(writable(base + 2 * page));
    KEXPECT_EQ(vm::protect(base + page, page, 0), 0);
    KEXPECT(!readable(base + page));
    KEXPECT_EQ(vm::protect(base + page, page, rw), 0);
    unsigned char c = 0;
    KEXPECT_EQ(vm::copy_from_app(&c, reinterpret_cast<void*>(base + page), 1), 0);
    KEXPECT_EQ(c, 1u);  // PROT_NONE kept the contents
    KEXPECT_EQ(vm::copy_from_app(&c, nullptr, 1), -vm::errno_fault);
    KEXPECT_EQ(vm::unmap(base, 4 * page), 0);
}

KTEST(vm, partial_unmap_splits_the_area) {
    intptr_t a = vm::map_anonymous(0, 8 * page, rw, false);
    KASSERT(a > 0);
    auto base = static_cast<uintptr_t>(a);
    memset(reinterpret_cast<void*>(base), 0x5a, 8 * page);
    KEXPECT_EQ(vm::unmap(base + 2 * page, 3 * page), 0);
    KEXPECT(readable(base + page));
    KEXPECT(!readable(base + 2 * page));
    KEXPECT(!readable(base + 4 * page));
    KEXPECT(readable(base + 5 * page));
    KEXPECT_EQ(*reinterpret_cast<unsigned char*>(base + 5 * page), 0x5au);
    // A fixed mapping over the hole and its neighbours: fresh zero pages.
    KEXPECT_EQ(vm::map_anonymous(base + page, 5 * page, rw, true), static_cast<intptr_t>(base + page));
    KEXPECT_EQ(*reinterpret_cast<unsigned char*>(base + page), 0u);
    KEXPECT_EQ(*reinterpret_cast<unsigned char*>(base), 0x5au);
    KEXPECT_EQ(vm::discard(base, page), 0);  // madvise(DONTNEED): zero on next touch
    KEXPECT_EQ(*reinterpret_cast<unsigned char*>(base), 0u);
    KEXPECT_EQ(vm::unmap(base, 8 * page), 0);
    KEXPECT_EQ(vm::discard(base, page), -errno_nomem);
}

KTEST(vm, kernel_ranges_are_refused) {
    // The stack area and the device window belong to the kernel.
    KEXPECT_EQ(vm::map_anonymous(1ul << 30, page, rw, true), -errno_nomem);
    KEXPECT_EQ(vm::unmap(1ul << 30, page), -errno_inval);
    KEXPECT_EQ(vm::protect(1ul << 30, page, rw), -errno_nomem);
    KEXPECT_EQ(vm::map_anonymous(0x1000, page, rw, true), -errno_inval);  // below mmap_min_addr
}

namespace {
// Makes the calling kernel thread count as an application thread for the copy checks, as
// system calls from an application do (a kernel thread's own buffers are not checked).
class ActAsApplication {
public:
    ActAsApplication() : saved_(current()->app) { current()->app = &marker_; }
    ~ActAsApplication() { current()->app = saved_; }

private:
    void* saved_;
    int marker_ = 0;
};
int kernel_global = 42;
}  // namespace

KTEST(vm, application_copies_refuse_kernel_memory) {
    // Each of these is mapped kernel memory: without the range check the copy would
    // succeed (or, for the device window, touch device registers).
    using mica::arch::traits::device_identity_start;
    char c = 0;
    void* heap = malloc(64);
    KASSERT(heap != nullptr);
    int on_stack = 7;
    const uintptr_t kernel[] = {
        reinterpret_cast<uintptr_t>(&kernel_global),  // the kernel image
        reinterpret_cast<uintptr_t>(heap),            // the heap (direct map)
        reinterpret_cast<uintptr_t>(&on_stack),       // this thread's kernel stack
        device_identity_start,                        // the device window
    };
    intptr_t a = vm::map_anonymous(device_identity_start - 2 * page, 2 * page, rw, true);
    KASSERT(a == static_cast<intptr_t>(device_identity_start - 2 * page));
    {
        ActAsApplication as_app;
        for (uintptr_t k : kernel) {
            KEXPECT_EQ(vm::copy_from_app(&c, reinterpret_cast<void*>(k), 1), -vm::errno_fault);
            KEXPECT_EQ(vm::copy_to_app(reinterpret_cast<void*>(k), &c, 0), 0);  // nothing touched
            KEXPECT(!vm::is_app_memory(k, 1));
        }
        KEXPECT_EQ(vm::copy_to_app(&kernel_global, &c, 1), -vm::errno_fault);
        KEXPECT_EQ(kernel_global, 42);
        char name[16];
        KEXPECT_EQ(vm::copy_string_from_app(name, "kernel rodata", sizeof name), -vm::errno_fault);
        // Up to the edge of the device window, and one byte across it.
        auto edge = device_identity_start;
        KEXPECT_EQ(vm::copy_to_app(reinterpret_cast<void*>(edge - 8), "1234567", 8), 0);
        char back[16] = {};
        KEXPECT_EQ(vm::copy_from_app(back, reinterpret_cast<void*>(edge - 8), 8), 0);
        KEXPECT_EQ(strcmp(back, "1234567"), 0);
        KEXPECT_EQ(vm::copy_from_app(back, reinterpret_cast<void*>(edge - 8), 9), -vm::errno_fault);
        KEXPECT_EQ(vm::copy_to_app(reinterpret_cast<void*>(edge - 8), back, 16), -vm::errno_fault);
        // Outside the application's range altogether, and lengths that wrap around.
        const uintptr_t outside[] = {0, 0xfff, mica::arch::traits::app_space_end, uintptr_t{1} << 63,
                                     0xffff800000000000, ~uintptr_t{0} - 7};
        for (uintptr_t o : outside) KEXPECT_EQ(vm::copy_from_app(&c, reinterpret_cast<void*>(o), 1), -vm::errno_fault);
        KEXPECT_EQ(vm::copy_from_app(&c, reinterpret_cast<void*>(a), ~size_t{0}), -vm::errno_fault);
        KEXPECT(!vm::access_ok(static_cast<uintptr_t>(a), ~size_t{0} - 100));
        KEXPECT(vm::access_ok(static_cast<uintptr_t>(a), 1 << 20));  // bounds only, like Linux
    }
    // A kernel thread's own buffers pass (the linux_files tests rely on it).
    KEXPECT_EQ(vm::copy_from_app(&c, &kernel_global, 1), 0);
    KEXPECT_EQ(c, 42);
    free(heap);
    KEXPECT_EQ(vm::unmap(static_cast<uintptr_t>(a), 2 * page), 0);
}

KTEST(vm, faults_in_copies_become_efault) {
    // Addresses no range check stops on a kernel thread: the copy faults and its fix-up
    // returns -EFAULT (x86_64: #GP for non-canonical addresses; aarch64: a translation
    // fault beyond the 39-bit space). app_space_end is the first such address on both.
    using mica::arch::traits::app_space_end;
    char c = 0;
    const uintptr_t bad[] = {app_space_end, app_space_end + 0x12345, uintptr_t{1} << 63, 0x8049c9d026d6e50f,
                             ~uintptr_t{0} - 4095};
    for (uintptr_t b : bad) {
        KEXPECT_EQ(vm::copy_from_app(&c, reinterpret_cast<void*>(b), 1), -vm::errno_fault);
        KEXPECT_EQ(vm::copy_to_app(reinterpret_cast<void*>(b), &c, 1), -vm::errno_fault);
    }
}

KTEST(vm, brk_grows_and_shrinks) {
    intptr_t area = vm::map_anonymous(0, 64 * page, rw, false);  // find a free range, then give it to brk
    KASSERT(area > 0);
    auto start = static_cast<uintptr_t>(area);
    KEXPECT_EQ(vm::unmap(start, 64 * page), 0);
    vm::set_break_area(start);
    KEXPECT_EQ(vm::set_break(0), start);  // query
    KEXPECT_EQ(vm::set_break(start + 10000), start + 10000);
    auto* p = reinterpret_cast<volatile char*>(start);
    p[9999] = 7;
    KEXPECT_EQ(p[9999], 7);
    // Beyond the application's range (where rounding up to a page wraps to 0): refused, and
    // nothing is unmapped.
    const uintptr_t huge[] = {~uintptr_t{0}, ~uintptr_t{0} - 4095, uintptr_t{1} << 63,
                              mica::arch::traits::app_space_end + 1};
    for (uintptr_t h : huge) KEXPECT_EQ(vm::set_break(h), start + 10000);
    KEXPECT_EQ(p[9999], 7);
    KEXPECT(!readable(start + 3 * page));
    KEXPECT_EQ(vm::set_break(start + page), start + page);
    KEXPECT(!readable(start + 2 * page));
    KEXPECT_EQ(vm::set_break(start + 10000), start + 10000);
    KEXPECT_EQ(p[9999], 0);  // shrunk pages come back zeroed
    // Growing into another area fails and keeps the old break.
    KEXPECT_EQ(vm::map_anonymous(start + 8 * page, page, rw, true), static_cast<intptr_t>(start + 8 * page));
    KEXPECT_EQ(vm::set_break(start + 20 * page), start + 10000);
    KEXPECT_EQ(vm::set_break(start), start);
    KEXPECT_EQ(vm::unmap(start + 8 * page, page), 0);
    vm::set_break_area(0);
}

namespace {
// A thread on another CPU reads a page (caching its translation), then either spins (its
// CPU stays busy: the unmap must interrupt it) or sleeps (its CPU goes idle: the unmap may
// skip it, and the CPU must drop its TLB when it wakes). Either way, after munmap on this
// CPU the page must fault there, not be read through a stale TLB entry.
struct TlbProbe {
    uintptr_t address = 0;
    bool sleep = false;
    volatile bool loaded = false, unmapped = false;
    Semaphore wake{0};
    bool stale_read = false;
};

void tlb_probe(void* arg) {
    auto* s = static_cast<TlbProbe*>(arg);
    int v = 0;
    vm::copy_from_app(&v, reinterpret_cast<void*>(s->address), sizeof v);
    s->loaded = true;
    if (s->sleep) s->wake.wait();
    while (!s->unmapped) mica::arch::cpu_relax();
    s->stale_read = vm::copy_from_app(&v, reinterpret_cast<void*>(s->address), sizeof v) == 0;
}

bool unmap_seen_elsewhere(bool sleep, uint64_t& shootdowns) {
    TlbProbe s;
    s.sleep = sleep;
    intptr_t a = vm::map_anonymous(0, page, rw, false);
    if (a <= 0) return false;
    s.address = static_cast<uintptr_t>(a);
    *reinterpret_cast<volatile int*>(s.address) = 42;
    Thread* t = create("tlb", tlb_probe, &s);
    if (!t || !pin(t, (current_cpu() + 1) % online_cpus())) return false;
    start(t);
    while (!s.loaded) yield();
    if (sleep) sleep_ns(2000000);  // let it block and its CPU go idle
    uint64_t before = vm::stats().shootdowns;
    bool ok = vm::unmap(s.address, page) == 0;
    shootdowns = vm::stats().shootdowns - before;
    s.unmapped = true;
    s.wake.post();
    join(t);
    return ok && !s.stale_read;
}
}  // namespace

KTEST(vm, unmap_is_seen_by_a_busy_cpu) {
    if (online_cpus() < 2) return ktest_context.skip("needs 2 CPUs");
    uint64_t shootdowns = 0;
    KEXPECT(unmap_seen_elsewhere(false, shootdowns));
    if (mica::arch::tlb_shootdown_needed) KEXPECT_EQ(shootdowns, 1u);
}

KTEST(vm, unmap_is_seen_by_an_idle_cpu) {
    if (online_cpus() < 2) return ktest_context.skip("needs 2 CPUs");
    uint64_t shootdowns = 0;
    KEXPECT(unmap_seen_elsewhere(true, shootdowns));
}

KTEST(vm, faults_from_many_threads) {
    // Eight threads touch disjoint pages of one area at the same time: each page is
    // populated exactly once, zeroed, and keeps what its thread wrote.
    constexpr size_t pages = 256;
    static uintptr_t base;
    static volatile int bad;
    bad = 0;
    intptr_t a = vm::map_anonymous(0, pages * page, rw, false);
    KASSERT(a > 0);
    base = static_cast<uintptr_t>(a);
    vm::Stats before = vm::stats();
    Thread* t[8];
    for (uintptr_t i = 0; i < 8; ++i) {
        t[i] = create("touch", [](void* arg) {
            auto id = reinterpret_cast<uintptr_t>(arg);
            for (size_t p = id; p < pages; p += 8) {
                auto* w = reinterpret_cast<volatile uintptr_t*>(base + p * page);
                if (w[1] != 0) bad = 1;
                w[0] = p;
                if (p % 16 == id) yield();
            }
        }, reinterpret_cast<void*>(i));
        start(t[i]);
    }
    for (Thread* x : t) join(x);
    KEXPECT_EQ(bad, 0);
    KEXPECT_EQ(vm::stats().resident_pages, before.resident_pages + pages);
    for (size_t p = 0; p < pages; ++p) KEXPECT_EQ(*reinterpret_cast<uintptr_t*>(base + p * page), p);
    KEXPECT_EQ(vm::unmap(base, pages * page), 0);
}
