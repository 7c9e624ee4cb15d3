// Memory micro-benchmarks (figures, always pass): malloc/free throughput and the cost of a
// demand-paging fault. Run with --test='benchmm.*'; tools/bench/mm runs them next to the
// same loops in a Linux guest (tools/bench/linux/mm_bench.c). Output: "bench: <name> <ns> ns".
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/ktest.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <stdlib.h>

using namespace mica;
using namespace mica::sched;

namespace {
constexpr int malloc_rounds = 100000;  // malloc+free pairs per thread
constexpr size_t fault_pages = 4096;   // 16 MiB touched once
constexpr int map_rounds = 2000;

uint64_t now_ns() {
    uint64_t c = arch::cycles(), hz = arch::cycles_per_second();
    return c / hz * 1000000000 + c % hz * 1000000000 / hz;
}
void report(const char* name, uint64_t total_ns, uint64_t operations) {
    kprintf("bench: %s %llu ns\n", name, (unsigned long long)(total_ns / operations));
}

// 64-byte objects, eight live at a time (a typical small-object pattern).
void malloc_loop(void*) {
    void* live[8] = {};
    for (int i = 0; i < malloc_rounds; ++i) {
        int slot = i & 7;
        free(live[slot]);
        live[slot] = malloc(64);
        if (!live[slot]) kprintf("benchmm: malloc failed\n");
        *static_cast<volatile char*>(live[slot]) = 1;
    }
    for (void* p : live) free(p);
}
}  // namespace

KTEST(benchmm, malloc_free_one_thread) {
    Thread* t = create("malloc", malloc_loop, nullptr);
    KASSERT(t && pin(t, 0));
    uint64_t start = now_ns();
    sched::start(t);
    join(t);
    report("malloc_free_64B_one_thread", now_ns() - start, malloc_rounds);
}

KTEST(benchmm, malloc_free_thread_per_cpu) {
    unsigned cpus = online_cpus();
    Thread* t[max_cpus];
    for (unsigned i = 0; i < cpus; ++i) {
        t[i] = create("malloc", malloc_loop, nullptr);
        KASSERT(t[i] && pin(t[i], i));
    }
    uint64_t start = now_ns();
    for (unsigned i = 0; i < cpus; ++i) sched::start(t[i]);
    for (unsigned i = 0; i < cpus; ++i) join(t[i]);
    // Wall time per pair of one thread: equal to the one-thread figure if CPUs never contend.
    report("malloc_free_64B_thread_per_cpu", now_ns() - start, malloc_rounds);
}

KTEST(benchmm, page_fault) {
    intptr_t a = mm::vm::map_anonymous(0, fault_pages * 4096, mm::prot_read | mm::prot_write, false);
    KASSERT(a > 0);
    uint64_t start = now_ns();
    for (size_t i = 0; i < fault_pages; ++i) reinterpret_cast<volatile char*>(a)[i * 4096] = 1;
    report("page_fault_anonymous_write", now_ns() - start, fault_pages);
    KEXPECT_EQ(mm::vm::unmap(static_cast<uintptr_t>(a), fault_pages * 4096), 0);
}

KTEST(benchmm, map_touch_unmap) {
    uint64_t start = now_ns();
    for (int i = 0; i < map_rounds; ++i) {
        intptr_t a = mm::vm::map_anonymous(0, 4096, mm::prot_read | mm::prot_write, false);
        KASSERT(a > 0);
        *reinterpret_cast<volatile char*>(a) = 1;
        KEXPECT_EQ(mm::vm::unmap(static_cast<uintptr_t>(a), 4096), 0);
    }
    report("mmap_touch_munmap_page", now_ns() - start, map_rounds);
}
