// Virtual memory in the guest: demand paging, protection, partial unmapping, brk, and
// TLB consistency across CPUs. Accesses that must fail go through the checked copy
// routines, so a fault becomes -EFAULT instead of a panic.
#include <arch/arch.h>
#include <arch/traits.h>
#include <mica/ktest.h>
#include <mica/mm/memory.h>
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

// Address spaces (vm.h "Address spaces"): several at once, fork_space's copy-on-write, and
// destroy_space giving everything back.
namespace {
// Runs the calling kernel thread in `space` for its lifetime, then in the initial space
// again (where kernel threads run).
class InSpace {
public:
    explicit InSpace(vm::Space* space) { vm::set_space(space); }
    ~InSpace() { vm::set_space(vm::initial_space()); }
    InSpace(const InSpace&) = delete;
    InSpace& operator=(const InSpace&) = delete;
};

// The same address in every space these tests make (free in a new space).
const uintptr_t shared_address = mica::arch::traits::mmap_base + (uintptr_t{64} << 20);

uint64_t read_word(uintptr_t a) {
    uint64_t v = 0;
    return vm::copy_from_app(&v, reinterpret_cast<const void*>(a), sizeof v) == 0 ? v : ~uint64_t{0};
}

// A thread that starts in `space`, optionally on `cpu`.
Thread* thread_in(vm::Space* space, const char* name, void (*entry)(void*), void* arg, int cpu = -1) {
    Thread* t = create(name, entry, arg);
    if (!t) return nullptr;
    t->space = space;
    if (cpu >= 0 && !pin(t, static_cast<unsigned>(cpu))) return nullptr;
    start(t);
    return t;
}

struct Twin {
    uint64_t mark;
    volatile unsigned* ready;  // both threads have written their mark
    volatile bool ok = false;
};

void twin_main(void* arg) {
    auto* t = static_cast<Twin*>(arg);
    if (vm::map_anonymous(shared_address, page, rw, true) != static_cast<intptr_t>(shared_address)) return;
    *reinterpret_cast<volatile uint64_t*>(shared_address) = t->mark;
    __atomic_fetch_add(t->ready, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(t->ready, __ATOMIC_SEQ_CST) < 2) mica::arch::cpu_relax();
    // Both run now, each on its CPU: each still sees its own page at the same address.
    bool ok = true;
    for (int i = 0; i < 100000; ++i) ok &= *reinterpret_cast<volatile uint64_t*>(shared_address) == t->mark;
    t->ok = ok && vm::stats().resident_pages == 1;
}
}  // namespace

KTEST(vm, spaces_hold_different_pages_at_one_address) {
    if (online_cpus() < 2) return ktest_context.skip("needs 2 CPUs");
    vm::Space* a = vm::create_space();
    if (!a) return ktest_context.skip("single-process kernel (CONFIG_PROCESSES=n)");
    vm::Space* b = vm::create_space();
    KASSERT(b != nullptr);
    volatile unsigned ready = 0;
    Twin ta{0xaaaa, &ready}, tb{0xbbbb, &ready};
    unsigned me = current_cpu();
    Thread* x = thread_in(a, "space-a", twin_main, &ta, static_cast<int>((me + 1) % online_cpus()));
    Thread* y = thread_in(b, "space-b", twin_main, &tb, static_cast<int>(me));
    KASSERT(x && y);
    join(x);
    join(y);
    KEXPECT(ta.ok);
    KEXPECT(tb.ok);
    // Neither address exists in the initial space.
    KEXPECT_EQ(vm::copy_from_app(&me, reinterpret_cast<const void*>(shared_address), 1), -vm::errno_fault);
    vm::destroy_space(a);
    vm::destroy_space(b);
}

KTEST(vm, fork_space_makes_writes_private) {
    vm::Space* parent = vm::create_space();
    if (!parent) return ktest_context.skip("single-process kernel (CONFIG_PROCESSES=n)");
    constexpr size_t pages = 4;
    vm::Space* child = nullptr;
    uint64_t copies_before = vm::stats().copies;
    {
        InSpace in(parent);
        KASSERT(vm::map_anonymous(shared_address, pages * page, rw, true) == static_cast<intptr_t>(shared_address));
        for (size_t p = 0; p < pages; ++p) *reinterpret_cast<volatile uint64_t*>(shared_address + p * page) = 100 + p;
        child = vm::fork_space(parent);
        KASSERT(child != nullptr);
        for (size_t p = 0; p < pages; ++p) KEXPECT_EQ(vm::page_references(parent, shared_address + p * page), 2u);
        // The parent writes page 0 (a copy for the parent) and, through the kernel's checked
        // copy, page 1.
        *reinterpret_cast<volatile uint64_t*>(shared_address) = 200;
        uint64_t v = 201;
        KEXPECT_EQ(vm::copy_to_app(reinterpret_cast<void*>(shared_address + page), &v, sizeof v), 0);
        KEXPECT_EQ(vm::page_references(parent, shared_address), 1u);
        KEXPECT_EQ(vm::page_references(child, shared_address), 1u);
        KEXPECT_EQ(vm::page_references(parent, shared_address + 2 * page), 2u);
    }
    KEXPECT_EQ(vm::stats().copies, copies_before + 2);
    {
        InSpace in(child);
        KEXPECT_EQ(read_word(shared_address), 100u);  // the parent's writes are not seen
        KEXPECT_EQ(read_word(shared_address + page), 101u);
        *reinterpret_cast<volatile uint64_t*>(shared_address + 2 * page) = 302;
        KEXPECT_EQ(vm::stats().resident_pages, pages);
        // Page 0: the child is its last mapping now, so its write copies nothing.
        *reinterpret_cast<volatile uint64_t*>(shared_address) = 300;
    }
    KEXPECT_EQ(vm::stats().copies, copies_before + 3);
    {
        InSpace in(parent);
        KEXPECT_EQ(read_word(shared_address), 200u);
        KEXPECT_EQ(read_word(shared_address + page), 201u);
        KEXPECT_EQ(read_word(shared_address + 2 * page), 102u);
        KEXPECT_EQ(read_word(shared_address + 3 * page), 103u);
    }
    vm::destroy_space(child);
    KEXPECT_EQ(vm::page_references(parent, shared_address + 3 * page), 1u);
    vm::destroy_space(parent);
}

KTEST(vm, read_only_and_shared_pages_stay_shared) {
    vm::Space* parent = vm::create_space();
    if (!parent) return ktest_context.skip("single-process kernel (CONFIG_PROCESSES=n)");
    const uintptr_t ro = shared_address, shared = shared_address + 16 * page;
    vm::Space* child = nullptr;
    size_t shared_before = vm::stats().shared_pages;
    {
        InSpace in(parent);
        KASSERT(vm::map_anonymous(ro, page, prot_read, true) == static_cast<intptr_t>(ro));
        KEXPECT_EQ(read_word(ro), 0u);  // populated by the read
        KASSERT(vm::map_anonymous(shared, 2 * page, rw, true, VmaKind::anonymous, true) == static_cast<intptr_t>(shared));
        *reinterpret_cast<volatile uint64_t*>(shared) = 1;  // the second page is populated by fork
        child = vm::fork_space(parent);
        KASSERT(child != nullptr);
        KEXPECT_EQ(vm::stats().resident_pages, 3u);
    }
    KEXPECT_EQ(vm::stats().shared_pages, shared_before + 3);
    {
        InSpace in(child);
        KEXPECT_EQ(read_word(ro), 0u);
        KEXPECT_EQ(vm::page_references(child, ro), 2u);  // reading copies nothing
        *reinterpret_cast<volatile uint64_t*>(shared) = 2;
        *reinterpret_cast<volatile uint64_t*>(shared + page) = 3;
        KEXPECT_EQ(vm::page_references(child, shared), 2u);
    }
    {
        InSpace in(parent);
        KEXPECT_EQ(read_word(shared), 2u);  // the child's writes, in the parent's pages
        KEXPECT_EQ(read_word(shared + page), 3u);
        // mprotect does not make a copy-on-write page writable behind fork's back.
        KEXPECT_EQ(vm::protect(ro, page, rw), 0);
        *reinterpret_cast<volatile uint64_t*>(ro) = 9;
        KEXPECT_EQ(vm::page_references(parent, ro), 1u);
    }
    {
        InSpace in(child);
        KEXPECT_EQ(read_word(ro), 0u);
    }
    vm::destroy_space(child);
    KEXPECT_EQ(vm::stats().shared_pages, shared_before);
    vm::destroy_space(parent);
}

namespace {
// One round of everything a process's memory goes through: areas, touched pages, a fork,
// copies in both, a break, then both spaces destroyed.
bool fork_round() {
    vm::Space* parent = vm::create_space();
    if (!parent) return false;
    vm::Space* child = nullptr;
    {
        InSpace in(parent);
        if (vm::map_anonymous(shared_address, 64 * page, rw, true) < 0) return false;
        for (size_t p = 0; p < 64; ++p) reinterpret_cast<volatile char*>(shared_address)[p * page] = 1;
        vm::set_break_area(shared_address + (uintptr_t{1} << 30));
        vm::set_break(shared_address + (uintptr_t{1} << 30) + 8 * page);
        reinterpret_cast<volatile char*>(shared_address + (uintptr_t{1} << 30))[0] = 1;
        // Far from the rest: tables of their own, to be freed too.
        if (vm::map_anonymous(uintptr_t{100} << 30, page, rw, true) < 0) return false;
        reinterpret_cast<volatile char*>(uintptr_t{100} << 30)[0] = 1;
        child = vm::fork_space(parent);
        if (!child) return false;
        for (size_t p = 0; p < 64; p += 2) reinterpret_cast<volatile char*>(shared_address)[p * page] = 2;
    }
    {
        InSpace in(child);
        for (size_t p = 0; p < 64; p += 3) reinterpret_cast<volatile char*>(shared_address)[p * page] = 3;
        vm::unmap(shared_address + 32 * page, 8 * page);
    }
    vm::destroy_space(parent);  // the parent first: the child's pages outlive it
    vm::destroy_space(child);
    return true;
}
}  // namespace

KTEST(vm, destroy_space_frees_everything) {
    vm::Space* probe = vm::create_space();
    if (!probe) return ktest_context.skip("single-process kernel (CONFIG_PROCESSES=n)");
    vm::destroy_space(probe);
    KASSERT(fork_round());  // once first: the page shares' table and the heap's caches grow
    size_t spaces = vm::stats().spaces;
    Usage before = usage();
    KASSERT(fork_round());
    Usage after = usage();
    KEXPECT_EQ(after.free_pages + after.heap_pages, before.free_pages + before.heap_pages);
    KEXPECT_EQ(after.live_bytes, before.live_bytes);
    KEXPECT_EQ(after.live_allocations, before.live_allocations);
    KEXPECT_EQ(vm::stats().spaces, spaces);
}

namespace {
struct SpaceProbe {
    volatile bool loaded = false, unmapped = false, stale_read = true;
};

void space_probe(void* arg) {
    auto* s = static_cast<SpaceProbe*>(arg);
    uint64_t v = read_word(shared_address);  // the translation is cached on this CPU now
    s->loaded = v == 7;
    while (!s->unmapped) mica::arch::cpu_relax();
    s->stale_read = read_word(shared_address) != ~uint64_t{0};
}
}  // namespace

KTEST(vm, unmap_in_a_space_is_seen_by_its_thread_on_another_cpu) {
    if (online_cpus() < 2) return ktest_context.skip("needs 2 CPUs");
    vm::Space* space = vm::create_space();
    if (!space) return ktest_context.skip("single-process kernel (CONFIG_PROCESSES=n)");
    SpaceProbe s;
    {
        InSpace in(space);
        KASSERT(vm::map_anonymous(shared_address, page, rw, true) == static_cast<intptr_t>(shared_address));
        *reinterpret_cast<volatile uint64_t*>(shared_address) = 7;
        Thread* t = thread_in(space, "space-tlb", space_probe, &s, static_cast<int>((current_cpu() + 1) % online_cpus()));
        KASSERT(t != nullptr);
        while (!s.loaded) yield();
        KEXPECT_EQ(vm::unmap(shared_address, page), 0);
        s.unmapped = true;
        join(t);
    }
    KEXPECT(!s.stale_read);
    vm::destroy_space(space);
}
