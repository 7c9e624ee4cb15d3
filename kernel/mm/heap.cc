#include <mica/mm/heap.h>
#include <string.h>

namespace mica::mm {

namespace {
constexpr uint32_t slab_magic = 0x51ab51ab;
constexpr uint32_t large_magic = 0x1a23e000;
constexpr uint64_t free_marker = 0xf4eef4eef4eef4eeull;
}  // namespace

struct Heap::PageHeader {
    uint32_t magic;
    uint32_t size_class;   // slab pages
    uint32_t pages;        // large runs: pages of the run (its tail past them went back)
    uint32_t reserved;
    size_t usable;         // large runs: bytes usable from the returned pointer
};


Heap::PageHeader* Heap::header_of(const void* pointer) const {
    auto addr = reinterpret_cast<uintptr_t>(pointer) - 1;
    return reinterpret_cast<PageHeader*>(addr & ~(page_size - 1));
}

void* Heap::alloc_small(unsigned size_class) {
    if (!free_lists_[size_class]) {
        auto* page = static_cast<uint8_t*>(pages_.alloc(0));
        if (!page) return nullptr;
        if (poison_fresh_) memset(page, Heap::freed_poison, page_size);
        auto* header = reinterpret_cast<PageHeader*>(page);
        *header = PageHeader{slab_magic, size_class, 0, 0, 0};
        size_t size = class_sizes[size_class];
        // Carve the page back to front so the list hands out ascending addresses.
        size_t count = (page_size - header_bytes) / size;
        for (size_t i = count; i-- > 0;) {
            auto* object = reinterpret_cast<FreeObject*>(page + header_bytes + i * size);
            object->next = free_lists_[size_class];
            object->marker = free_marker;
            free_lists_[size_class] = object;
        }
        ++stats_.slab_pages;
    }
    FreeObject* object = free_lists_[size_class];
    free_lists_[size_class] = object->next;
    object->marker = 0;
    return object;
}

// Pages [first, end) of a large run, given to the page allocator as naturally aligned blocks
// (the largest that fit each position): how a run's unused tail goes back at allocation and
// its kept part at free. Within an allocated run each such block is allocated, so the
// allocator takes it whatever order the run had.
bool Heap::free_run_pages(uint8_t* run, size_t first, size_t end) {
    bool ok = true;
    while (first < end) {
        unsigned order = 0;
        while (order + 1 < max_order && first % (size_t{2} << order) == 0 && first + (size_t{2} << order) <= end) {
            ++order;
        }
        ok &= pages_.free(run + first * page_size, order) == FreeError::none;
        first += size_t{1} << order;
    }
    return ok;
}

void* Heap::alloc_large(size_t size, size_t alignment) {
    // The header lives in the first page; the object starts after it (or, for alignments
    // above the header size, on the next page boundary).
    size_t offset = alignment <= header_bytes ? header_bytes : page_size;
    if (size > (page_size << (max_order - 1)) - offset) return nullptr;
    unsigned order = order_for_bytes(size + offset);
    auto* run = static_cast<uint8_t*>(pages_.alloc(order));
    if (!run) return nullptr;
    // A buddy block is a power of two of pages: keep the ones the object needs and give the
    // tail back (a 32 KiB object with its header would otherwise hold 64 KiB).
    size_t pages = (size + offset + page_size - 1) / page_size;
    free_run_pages(run, pages, size_t{1} << order);
    size_t usable = pages * page_size - offset;
    *reinterpret_cast<PageHeader*>(run) = PageHeader{large_magic, 0, static_cast<uint32_t>(pages), 0, usable};
    stats_.large_pages += pages;
    return run + offset;
}

int Heap::small_class(size_t size, size_t alignment) {
    if (alignment < min_alignment) alignment = min_alignment;
    if (size == 0) size = 1;
    size_t need = size < alignment ? alignment : size;
    if (alignment > header_bytes || need > class_sizes[class_count - 1]) return -1;
    // Classes that are not powers of two only guarantee 16-byte alignment.
    auto fits = [&](size_t s) { return s >= need && (alignment == min_alignment || (s & (s - 1)) == 0); };
    unsigned c = 0;
    while (!fits(class_sizes[c])) ++c;
    return static_cast<int>(c);
}

int Heap::class_of(const void* pointer) const {
    if (!pointer) return -1;
    const PageHeader* header = header_of(pointer);
    return header->magic == slab_magic && header->size_class < class_count ? static_cast<int>(header->size_class) : -1;
}

unsigned Heap::alloc_batch(unsigned size_class, void** out, unsigned wanted) {
    unsigned n = 0;
    while (n < wanted && (out[n] = alloc_small(size_class))) {
        stats_.bytes_in_use += class_sizes[size_class];
        ++stats_.allocations;
        ++n;
    }
    return n;
}

void* Heap::alloc(size_t size, size_t alignment) {
    if (alignment < min_alignment) alignment = min_alignment;
    if ((alignment & (alignment - 1)) || alignment > page_size) return nullptr;
    if (size == 0) size = 1;
    void* result = nullptr;
    int c = small_class(size, alignment);
    if (c >= 0) {
        result = alloc_small(static_cast<unsigned>(c));
        if (result) stats_.bytes_in_use += class_sizes[c];
    } else {
        result = alloc_large(size, alignment);
        if (result) stats_.bytes_in_use += header_of(result)->usable;
    }
    if (result) ++stats_.allocations;
    return result;
}

bool Heap::on_free_list(unsigned size_class, const FreeObject* object) const {
    for (const FreeObject* o = free_lists_[size_class]; o; o = o->next) {
        if (o == object) return true;
    }
    return false;
}

void Heap::free(void* pointer) {
    if (!pointer) return;
    PageHeader* header = header_of(pointer);
    auto offset = reinterpret_cast<uintptr_t>(pointer) - reinterpret_cast<uintptr_t>(header);
    if (header->magic == slab_magic && header->size_class < class_count) {
        size_t size = class_sizes[header->size_class];
        if (offset < header_bytes || (offset - header_bytes) % size) {
            on_error_("free of a pointer into the middle of a heap object", pointer);
            return;
        }
        auto* object = static_cast<FreeObject*>(pointer);
        // The marker may be user data that happens to match; the list walk settles it.
        if (object->marker == free_marker && on_free_list(header->size_class, object)) {
            on_error_("double free", pointer);
            return;
        }
        object->next = free_lists_[header->size_class];
        object->marker = free_marker;
        free_lists_[header->size_class] = object;
        stats_.bytes_in_use -= size;
    } else if (header->magic == large_magic && (offset == header_bytes || offset == page_size)) {
        size_t pages = header->pages;
        stats_.bytes_in_use -= header->usable;
        stats_.large_pages -= pages;
        header->magic = 0;  // a second free of this run now fails the magic check
        if (!free_run_pages(reinterpret_cast<uint8_t*>(header), 0, pages)) {
            on_error_("heap run rejected by the page allocator", pointer);
            return;
        }
    } else {
        on_error_(header->magic == 0 && offset == header_bytes ? "double free"
                                                               : "free of a pointer not from the heap",
                  pointer);
        return;
    }
    --stats_.allocations;
}

size_t Heap::usable_size(const void* pointer) const {
    if (!pointer) return 0;
    const PageHeader* header = header_of(pointer);
    if (header->magic == slab_magic) return class_sizes[header->size_class];
    if (header->magic == large_magic) return header->usable;
    return 0;
}

void* Heap::realloc(void* pointer, size_t size) {
    if (!pointer) return alloc(size);
    if (size == 0) {
        free(pointer);
        return nullptr;
    }
    size_t old = usable_size(pointer);
    if (size <= old) return pointer;
    void* fresh = alloc(size);
    if (!fresh) return nullptr;
    memcpy(fresh, pointer, old);
    free(pointer);
    return fresh;
}

}  // namespace mica::mm
