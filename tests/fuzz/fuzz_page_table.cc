// The page-table core (mm/page_table.h) over both architectures' entry formats, driven by an
// operation sequence from the fuzzer (map with large leaves where aligned, unmap, protect,
// map-if-absent) and checked after every step against a per-page model: what each page maps
// to and with which protection, which physical pages unmapping gives back, and at the end
// that unmapping everything frees every table but the root.
#include <arch/aarch64/page_format.h>
#include <arch/x86_64/page_format.h>
#include <mica/mm/page_table.h>

#include <cstdlib>
#include <map>
#include <set>
#include <type_traits>

#include "fuzz.h"

using namespace mica::mm;

namespace {

constexpr uintptr_t kib4 = 4096, mib2 = 2u << 20;
constexpr uintptr_t base = 0x200000000, span_pages = 4 * 512;  // 8 MiB: four 2 MiB slots

struct TableMemory {
    std::set<void*> live;
    static void* alloc(void* self) {
        void* t = std::aligned_alloc(4096, 4096);
        memset(t, 0, 4096);
        static_cast<TableMemory*>(self)->live.insert(t);
        return t;
    }
    static void release(void* t, void* self) {
        FUZZ_CHECK(static_cast<TableMemory*>(self)->live.erase(t) == 1);  // freed twice, or not ours
        std::free(t);
    }
    ~TableMemory() {
        for (void* t : live) std::free(t);
    }
};

template <typename Format>
void run(fuzz::Input& in) {
    if constexpr (std::is_same_v<Format, mica::x86::PageFormat>) Format::no_execute = Format::no_execute_bit;
    TableMemory memory;
    void* root = TableMemory::alloc(&memory);
    PageTable<Format> table{root, {&TableMemory::alloc, &TableMemory::release,
                                   [](const void* p) { return reinterpret_cast<uintptr_t>(p); },
                                   [](uintptr_t pa) { return reinterpret_cast<void*>(pa); }, &memory}};
    struct Page {
        uintptr_t pa;
        int prot;
    };
    std::map<uintptr_t, Page> model;
    for (int step = 0; step < 200 && !in.done(); ++step) {
        uint8_t op = in.byte();
        uintptr_t first = in.below(span_pages);
        uintptr_t count = op & 0x10 ? 512 : in.below(40) + 1;
        if (op & 0x20) first &= ~uintptr_t{511};  // aligned: large leaves
        if (first + count > span_pages) count = span_pages - first;
        uintptr_t va = base + first * kib4;
        uint8_t p = in.byte();
        int prot = p & 3 ? (prot_read | (p & 4 ? prot_write : 0) | (p & 8 ? prot_exec : 0)) : 0;
        switch (op % 4) {
        case 0: {
            uintptr_t pa = 0x100000000 + in.below(64) * mib2 + (p & 0x10 ? 0 : in.below(512) * kib4);
            if (!prot) prot = prot_read;
            FUZZ_CHECK(table.map(va, pa, count * kib4, {prot}, !(p & 0x20)));
            for (uintptr_t i = 0; i < count; ++i) model[va + i * kib4] = {pa + i * kib4, prot};
            break;
        }
        case 1: {
            // Multisets: two virtual pages may map the same physical one, and each is given back.
            std::multiset<uintptr_t> released, expected;
            FUZZ_CHECK(table.unmap(va, count * kib4, [&](uintptr_t pa, size_t size) {
                for (size_t o = 0; o < size; o += kib4) released.insert(pa + o);
            }));
            for (uintptr_t i = 0; i < count; ++i) {
                auto it = model.find(va + i * kib4);
                if (it == model.end()) continue;
                expected.insert(it->second.pa);
                model.erase(it);
            }
            FUZZ_CHECK(released == expected);
            break;
        }
        case 2:
            FUZZ_CHECK(table.protect(va, count * kib4, {prot}));
            for (uintptr_t i = 0; i < count; ++i) {
                auto it = model.find(va + i * kib4);
                if (it != model.end()) it->second.prot = prot;
            }
            break;
        default: {  // demand paging's primitive: one page, only where nothing is mapped
            uintptr_t pa = 0x300000000 + in.below(4096) * kib4;
            if (!prot) prot = prot_read;
            int r = table.map_page_if_absent(va, pa, {prot});
            FUZZ_CHECK(r == (model.count(va) ? 0 : 1));
            if (r == 1) model[va] = {pa, prot};
        }
        }
        for (int probe = 0; probe < 8; ++probe) {
            uintptr_t page = base + in.below(span_pages) * kib4;
            Translation t = table.translate(page + 8);
            auto it = model.find(page);
            FUZZ_CHECK(t.mapped == (it != model.end()));
            if (t.mapped) FUZZ_CHECK(t.address == it->second.pa + 8 && t.attributes.prot == it->second.prot);
        }
    }
    FUZZ_CHECK(table.unmap(base, span_pages * kib4, [](uintptr_t, size_t) {}));
    FUZZ_CHECK(memory.live.size() == 1);  // only the root is left
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    if (in.byte() & 1) run<mica::x86::PageFormat>(in);
    else run<mica::aarch64::PageFormat>(in);
    return 0;
}
