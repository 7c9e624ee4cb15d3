// The virtio rings against a hostile device (drivers/virtio/virtqueue.cc and net_spec.cc's
// receive assembler): the device side is the fuzzer's bytes. The driver's queue hands back
// only buffers it has in flight, each once, and marks the device broken otherwise; the
// assembler turns any sequence of used receive buffers (with any header and any written
// length) into frames inside the buffers, drops or breaks, and every buffer comes back
// exactly once.
#include <mica/virtio/net_spec.h>
#include <mica/virtio/virtqueue.h>

#include <set>
#include <vector>

#include "fuzz.h"

using namespace mica::virtio;
using net_spec::RxAssembler;

namespace {

std::set<void*> live_tables;
void* table_allocate(size_t size, uint64_t* address, void*) {
    void* p = aligned_alloc(16, (size + 15) & ~size_t{15});
    live_tables.insert(p);
    *address = reinterpret_cast<uint64_t>(p);
    return p;
}
void table_release(void* table, void*) {
    FUZZ_CHECK(live_tables.erase(table) == 1);
    free(table);
}

void fuzz_queue(fuzz::Input& in) {
    uint16_t size = static_cast<uint16_t>(2u << in.below(5));  // 2..32
    bool event_idx = in.byte() & 1, indirect = in.byte() & 1;
    Virtqueue::Layout layout = Virtqueue::layout(size);
    void* memory = aligned_alloc(4096, (layout.total + 4095) & ~size_t{4095});
    memset(memory, 0, layout.total);
    void* state = aligned_alloc(64, (Virtqueue::state_size(size) + 63) & ~size_t{63});
    Virtqueue q;
    FUZZ_CHECK(q.init(size, memory, reinterpret_cast<uint64_t>(memory), state, event_idx, indirect,
                      {table_allocate, table_release, nullptr}) == 0);
    auto* used = static_cast<uint8_t*>(memory) + layout.used_offset;
    auto* used_idx = reinterpret_cast<volatile uint16_t*>(used + 2);
    auto* ring = reinterpret_cast<volatile UsedElement*>(used + 4);
    std::set<uintptr_t> in_flight;
    uintptr_t next_token = 1;
    uint8_t buffer[64];
    for (int step = 0; step < 200 && !in.done(); ++step) {
        switch (in.byte() % 5) {
        case 0: {  // the driver offers a buffer chain
            unsigned out = static_cast<unsigned>(in.below(3)), input = static_cast<unsigned>(in.below(3));
            if (out + input == 0) input = 1;
            Segment segments[6];
            for (unsigned i = 0; i < out + input; ++i) segments[i] = {reinterpret_cast<uint64_t>(buffer), 16};
            void* token = reinterpret_cast<void*>(next_token);
            if (q.add(segments, out, input, token) == 0) in_flight.insert(next_token);
            ++next_token;
            break;
        }
        case 1:
            q.publish();
            break;
        case 2: {  // the device writes a used entry: any id, any length, any index step
            uint16_t idx = *used_idx;
            ring[idx & (size - 1)].id = in.value<uint32_t>() % (size + 4u);
            ring[idx & (size - 1)].length = in.value<uint32_t>();
            *used_idx = static_cast<uint16_t>(idx + 1 + (in.byte() % 8 == 0 ? in.byte() : 0));
            break;
        }
        case 3:
            if (in.byte() & 1) q.disable_interrupts();
            else q.enable_interrupts();
            break;
        default: {  // the driver takes what the device finished
            for (int k = 0; k < 40; ++k) {
                uint32_t written = 0;
                void* token = q.take_used(&written);
                if (!token) break;
                FUZZ_CHECK(in_flight.erase(reinterpret_cast<uintptr_t>(token)) == 1);
            }
            if (q.broken()) FUZZ_CHECK(q.take_used(nullptr) == nullptr);
            break;
        }
        }
        FUZZ_CHECK(q.free_descriptors() <= size);
    }
    free(memory);
    free(state);
    for (void* t : live_tables) free(t);  // tables of chains still in flight
    live_tables.clear();
}

struct Pool {
    std::vector<mica::net::RxBuffer> buffers;
    std::vector<std::vector<uint8_t>> memory;
    std::vector<int> out;  // 1 while the assembler (or a frame) holds it
    uint32_t capacity;
    void give_back(mica::net::RxBuffer* chain) {
        for (auto* b = chain; b;) {
            auto* next = b->next;
            size_t i = static_cast<size_t>(b - buffers.data());
            FUZZ_CHECK(i < buffers.size() && out[i] == 1);
            out[i] = 0;
            b = next;
        }
    }
};

void fuzz_assembler(fuzz::Input& in) {
    Pool pool;
    bool mergeable = in.byte() & 1;
    pool.capacity = mergeable ? static_cast<uint32_t>(64 + in.below(2048)) : static_cast<uint32_t>(12 + 1518 + in.below(64));
    size_t count = 8;
    pool.buffers.resize(count);
    pool.memory.assign(count, std::vector<uint8_t>(pool.capacity));
    pool.out.assign(count, 0);
    net_spec::RxLayout layout;
    layout.capacity = pool.capacity;
    layout.mergeable = mergeable;
    layout.guest_csum = in.byte() & 1;
    layout.max_parts = static_cast<uint16_t>(count);
    layout.max_frame = net_spec::max_frame_length(1500);
    RxAssembler a;
    a.configure(layout);
    for (int step = 0; step < 64 && !in.done(); ++step) {
        size_t i = 0;
        while (i < count && pool.out[i]) ++i;
        if (i == count) {  // every buffer is held by a frame being assembled: the driver resets
            pool.give_back(a.take_partial());
            a.configure(layout);
            continue;
        }
        uint8_t* start = pool.memory[i].data();
        size_t fill = in.below(pool.capacity + 1);
        for (size_t k = 0; k < fill; ++k) start[k] = in.byte();
        uint32_t written = in.byte() % 8 == 0 ? in.value<uint32_t>() : static_cast<uint32_t>(in.below(pool.capacity + 1));
        pool.out[i] = 1;
        auto r = a.add(&pool.buffers[i], start, written);
        if (r == RxAssembler::Result::frame) {
            mica::net::RxBuffer* f = a.take_frame();
            for (auto* b = f; b; b = b->next) {
                size_t j = static_cast<size_t>(b - pool.buffers.data());
                FUZZ_CHECK(j < count);
                const uint8_t* lo = pool.memory[j].data();
                FUZZ_CHECK(b->data >= lo && b->data + b->length <= lo + pool.capacity);
            }
            pool.give_back(f);
        } else if (r == RxAssembler::Result::dropped) {
            pool.give_back(a.take_dropped());
        } else if (r == RxAssembler::Result::broken) {
            FUZZ_CHECK(a.problem() != nullptr);
            pool.give_back(a.take_dropped());
            a.configure(layout);
        }
    }
    pool.give_back(a.take_partial());
    for (int held : pool.out) FUZZ_CHECK(held == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    if (in.byte() & 1) fuzz_queue(in);
    else fuzz_assembler(in);
    return 0;
}
