// The kernel heap used from many threads at once, in the guest.
#include <mica/ktest.h>
#include <mica/sched/sched.h>
#include <stdlib.h>
#include <string.h>

using namespace mica::sched;

KTEST(mm, heap_from_many_threads) {
    // Eight threads allocate, fill, check and free blocks of assorted sizes, yielding often,
    // so allocations interleave; any corruption shows up as a wrong byte.
    static volatile int corrupted;
    corrupted = 0;
    auto worker = [](void* arg) {
        auto seed = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg)) * 2654435761u;
        void* blocks[16] = {};
        size_t sizes[16] = {};
        for (int step = 0; step < 400; ++step) {
            seed = seed * 1103515245 + 12345;
            int slot = (seed >> 8) % 16;
            if (blocks[slot]) {
                auto* p = static_cast<unsigned char*>(blocks[slot]);
                for (size_t i = 0; i < sizes[slot]; ++i) {
                    if (p[i] != static_cast<unsigned char>(slot + 1)) corrupted = 1;
                }
                free(blocks[slot]);
                blocks[slot] = nullptr;
            } else {
                sizes[slot] = (seed >> 12) % 3 == 0 ? (seed >> 4) % 9000 + 1 : (seed >> 4) % 200 + 1;
                blocks[slot] = malloc(sizes[slot]);
                if (!blocks[slot]) corrupted = 1;
                else memset(blocks[slot], slot + 1, sizes[slot]);
            }
            if (step % 5 == 0) yield();
        }
        for (void* b : blocks) free(b);
    };
    Thread* t[8];
    for (uintptr_t i = 0; i < 8; ++i) {
        t[i] = create("heap", worker, reinterpret_cast<void*>(i + 1));
        KASSERT(t[i] != nullptr);
        start(t[i]);
    }
    for (auto* th : t) join(th);
    KEXPECT(!corrupted);
}
