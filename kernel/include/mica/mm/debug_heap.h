// CONFIG_DEBUG_MEMORY: a checking layer over the heap. Every allocation carries a header
// (size, allocation site, sequence number, links of the live list) and red zones of
// guard bytes on both sides; freed memory is poisoned. Reported, with the allocation site:
// writes past either end (checked at free), double and invalid frees, writes to freed small
// blocks (checked when the block is handed out again), and allocations still live at a
// leak check. Host-testable; the kernel wires it in behind malloc when the option is set.
#pragma once

#include <mica/mm/heap.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

class DebugHeap {
public:
    using Report = void (*)(const char* problem, const void* pointer, size_t size, uintptr_t site);

    // `heap` must have been made with poison_fresh = true.
    DebugHeap(Heap& heap, Report report) : heap_(heap), report_(report) {}

    void* alloc(size_t size, size_t alignment, uintptr_t site);
    void free(void* pointer);
    void* realloc(void* pointer, size_t size, uintptr_t site);
    size_t usable_size(const void* pointer) const;

    // Sequence number of the next allocation: a leak check covers allocations made since.
    uint64_t sequence() const { return sequence_; }
    // Calls f(pointer, size, site) for each live allocation made at or after `since`;
    // returns how many there were.
    template <typename F>
    size_t for_each_live(uint64_t since, F f) const;

    static constexpr uint8_t redzone_byte = 0xfd;
    static constexpr size_t redzone = 16;

    struct Header;  // public for the layout check below; not part of the interface

private:
    Header* header_of(const void* pointer) const;

    Heap& heap_;
    Report report_;
    Header* live_ = nullptr;
    uint64_t sequence_ = 1;
};

struct DebugHeap::Header {
    Header* prev;
    Header* next;
    void* raw;            // what the heap returned
    uintptr_t site;
    size_t size;          // as requested
    uint32_t magic;
    uint32_t sequence;    // low 32 bits are enough to order a leak check
    uint8_t front[redzone];
};
static_assert(sizeof(DebugHeap::Header) == 64);

template <typename F>
size_t DebugHeap::for_each_live(uint64_t since, F f) const {
    size_t n = 0;
    for (const Header* h = live_; h; h = h->next) {
        if (h->sequence >= static_cast<uint32_t>(since)) {
            f(reinterpret_cast<const uint8_t*>(h + 1), h->size, h->site);
            ++n;
        }
    }
    return n;
}

}  // namespace mica::mm
