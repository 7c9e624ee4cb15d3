#include <mica/mm/debug_heap.h>
#include <string.h>

namespace mica::mm {
namespace {
constexpr uint32_t live_magic = 0xa110c8ed, freed_magic = 0xf4eef4ee;
constexpr size_t largest_checked_block = 2048;  // small classes: reused blocks keep their poison

// A freed block is poison throughout, except the freed_magic word its header kept (to
// recognise double frees); which word that was depends on the old alignment.
bool still_poisoned(const uint8_t* p, size_t n) {
    constexpr uint32_t poison_word = 0x01010101u * Heap::freed_poison;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        if (w != poison_word && w != freed_magic) return false;
    }
    return true;
}

bool all_bytes(const uint8_t* p, size_t n, uint8_t value) {
    for (size_t i = 0; i < n; ++i) {
        if (p[i] != value) return false;
    }
    return true;
}

size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }
}  // namespace

DebugHeap::Header* DebugHeap::header_of(const void* pointer) const {
    return reinterpret_cast<Header*>(const_cast<uint8_t*>(static_cast<const uint8_t*>(pointer))) - 1;
}

void* DebugHeap::alloc(size_t size, size_t alignment, uintptr_t site) {
    if (alignment < Heap::min_alignment) alignment = Heap::min_alignment;
    if (alignment > page_size || (alignment & (alignment - 1))) return nullptr;
    // [slack][Header (front red zone at its end)][user bytes][back red zone]
    // raw is 16-aligned, so aligning the user pointer up costs at most alignment - 16.
    size_t extra = sizeof(Header) + redzone + (alignment - Heap::min_alignment);
    if (size > ~size_t{0} - extra) return nullptr;
    auto* raw = static_cast<uint8_t*>(heap_.alloc(size + extra, Heap::min_alignment));
    if (!raw) return nullptr;
    size_t block = heap_.usable_size(raw);
    // A reused small block must still hold the poison written when it was freed.
    // (The first header's worth is skipped: the heap's free-list link and, for the usual
    // alignments, the kept header fields of the previous owner live there.)
    if (block <= largest_checked_block && !still_poisoned(raw + sizeof(Header), block - sizeof(Header))) {
        report_("write to freed memory (found when the block was reused)", raw, block, 0);
    }
    auto* user = reinterpret_cast<uint8_t*>(align_up(reinterpret_cast<uintptr_t>(raw) + sizeof(Header), alignment));
    Header* h = header_of(user);
    h->raw = raw;
    h->site = site;
    h->size = size;
    h->magic = live_magic;
    h->sequence = static_cast<uint32_t>(sequence_++);
    memset(h->front, redzone_byte, redzone);
    memset(user + size, redzone_byte, redzone);
    h->prev = nullptr;
    h->next = live_;
    if (live_) live_->prev = h;
    live_ = h;
    return user;
}

void DebugHeap::free(void* pointer) {
    if (!pointer) return;
    Header* h = header_of(pointer);
    auto* user = static_cast<uint8_t*>(pointer);
    if (h->magic == freed_magic) {
        report_("double free", pointer, h->size, h->site);  // size/site: see the poisoning below
        return;
    }
    if (h->magic != live_magic || heap_.usable_size(h->raw) == 0) {
        report_("free of a pointer that malloc did not return", pointer, 0, 0);
        return;
    }
    if (!all_bytes(h->front, redzone, redzone_byte)) {
        report_("heap buffer underflow (bytes before the allocation were overwritten)", pointer, h->size, h->site);
    }
    if (!all_bytes(user + h->size, redzone, redzone_byte)) {
        report_("heap buffer overflow (bytes after the allocation were overwritten)", pointer, h->size, h->site);
    }
    if (h->prev) h->prev->next = h->next;
    else live_ = h->next;
    if (h->next) h->next->prev = h->prev;
    void* raw = h->raw;
    size_t block = heap_.usable_size(raw);
    // Poison the block. A header at the block's start keeps its magic, size and site, so a
    // second free can say "double free" and name the site; a header further in (large
    // alignments) keeps only the magic word, which the reuse check tolerates.
    auto* bytes = static_cast<uint8_t*>(raw);
    uintptr_t site = h->site;
    size_t size = h->size;
    memset(bytes, Heap::freed_poison, block);
    h->magic = freed_magic;
    if (reinterpret_cast<uint8_t*>(h) == bytes) {
        h->site = site;
        h->size = size;
    }
    heap_.free(raw);
}

void* DebugHeap::realloc(void* pointer, size_t size, uintptr_t site) {
    if (!pointer) return alloc(size, Heap::min_alignment, site);
    if (size == 0) {
        free(pointer);
        return nullptr;
    }
    Header* h = header_of(pointer);
    if (h->magic != live_magic) {
        report_(h->magic == freed_magic ? "realloc of freed memory" : "realloc of a pointer that malloc did not return",
                pointer, 0, h->magic == freed_magic ? h->site : 0);
        return nullptr;
    }
    void* fresh = alloc(size, Heap::min_alignment, site);
    if (!fresh) return nullptr;
    memcpy(fresh, pointer, h->size < size ? h->size : size);
    free(pointer);
    return fresh;
}

size_t DebugHeap::usable_size(const void* pointer) const { return pointer ? header_of(pointer)->size : 0; }

}  // namespace mica::mm
