// The area tree (mm/vma.h) under an operation sequence from the fuzzer — fixed and hinted
// mappings, unmaps, protection changes, reserved ranges, resizing the break — checked after
// every step against a per-page model of protections and kinds: areas sorted, disjoint and
// matching the model; results Linux's (-EINVAL, -ENOMEM) where the model says so; every tree
// node freed with the address space.
#include <mica/mm/vma.h>

#include <map>

#include "fuzz.h"

using namespace mica::mm;

namespace {

constexpr uintptr_t page = 4096;
constexpr uintptr_t lowest = 0x10000, highest = lowest + 256 * page;

int live_nodes = 0;
AddressSpace::NodeAllocator nodes{[](void*) -> Vma* { ++live_nodes; return new Vma{}; },
                                  [](Vma* v, void*) { --live_nodes; delete v; }, nullptr};

struct Page {
    int prot;
    VmaKind kind;
    bool operator==(const Page& o) const { return prot == o.prot && kind == o.kind; }
};
using Model = std::map<uintptr_t, Page>;

void check(const AddressSpace& as, const Model& model) {
    Model seen;
    uintptr_t previous_end = 0;
    as.for_each([&](const Vma& v) {
        FUZZ_CHECK(v.start < v.end && v.start % page == 0 && v.end % page == 0);
        FUZZ_CHECK(v.start >= previous_end && v.start >= lowest && v.end <= highest);
        previous_end = v.end;
        for (uintptr_t p = v.start; p < v.end; p += page) seen[p] = {v.prot, v.kind};
    });
    FUZZ_CHECK(seen == model);
}

bool all_mapped(const Model& model, uintptr_t start, size_t length, bool allow_reserved) {
    for (uintptr_t p = start; p < start + length; p += page) {
        auto it = model.find(p);
        if (it == model.end() || (!allow_reserved && it->second.kind == VmaKind::reserved)) return false;
    }
    return true;
}
bool has_free_run(const Model& model, size_t length) {
    size_t run = 0;
    for (uintptr_t p = lowest; p < highest; p += page) {
        run = model.count(p) ? 0 : run + page;
        if (run >= length) return true;
    }
    return false;
}
bool any_reserved(const Model& model, uintptr_t start, size_t length) {
    for (uintptr_t p = start; p < start + length; p += page) {
        auto it = model.find(p);
        if (it != model.end() && it->second.kind == VmaKind::reserved) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    {
        AddressSpace as(lowest, highest, nodes);
        Model model;
        uintptr_t heap = 0;  // start of the one heap area resize() works on, 0 when none
        for (int step = 0; step < 200 && !in.done(); ++step) {
            uintptr_t start = lowest + in.below(256) * page;
            size_t length = (in.below(16) + 1) * page;
            int prot = static_cast<int>(in.below(8));
            bool fits = start + length <= highest;
            uint64_t op = in.below(6);
            switch (op) {
            case 0: {  // fixed
                intptr_t r = as.map(start, length, prot, true);
                if (!fits) {
                    FUZZ_CHECK(r == -errno_inval);
                } else if (any_reserved(model, start, length)) {
                    FUZZ_CHECK(r == -errno_nomem);
                } else {
                    FUZZ_CHECK(r == static_cast<intptr_t>(start));
                    for (uintptr_t p = start; p < start + length; p += page) {
                        if (heap && p == heap) heap = 0;  // the heap area's start was replaced
                        model[p] = {prot, VmaKind::anonymous};
                    }
                }
                break;
            }
            case 1: {  // hinted
                intptr_t r = as.map(start, length, prot, false);
                if (r < 0) {  // first fit above the hint, else anywhere: no free run anywhere
                    FUZZ_CHECK(!has_free_run(model, length));
                    break;
                }
                FUZZ_CHECK(r % page == 0 && static_cast<uintptr_t>(r) + length <= highest);
                for (uintptr_t p = r; p < r + length; p += page) {
                    FUZZ_CHECK(model.count(p) == 0);
                    model[p] = {prot, VmaKind::anonymous};
                }
                break;
            }
            case 2: {  // unmap
                int r = as.unmap(start, length);
                if (!fits || any_reserved(model, start, length)) {
                    FUZZ_CHECK(r == -errno_inval);
                } else {
                    FUZZ_CHECK(r == 0);
                    for (uintptr_t p = start; p < start + length; p += page) model.erase(p);
                    if (heap && !model.count(heap)) heap = 0;
                }
                break;
            }
            case 3: {  // protect
                int r = as.protect(start, length, prot);
                if (fits && all_mapped(model, start, length, false)) {
                    FUZZ_CHECK(r == 0);
                    for (uintptr_t p = start; p < start + length; p += page) model[p].prot = prot;
                } else {
                    FUZZ_CHECK(r != 0);
                }
                break;
            }
            case 4: {  // reserve (the kernel's ranges)
                bool free = fits;
                for (uintptr_t p = start; free && p < start + length; p += page) free = !model.count(p);
                int r = as.reserve(start, length);
                FUZZ_CHECK((r == 0) == free);
                if (r == 0) {
                    for (uintptr_t p = start; p < start + length; p += page) model[p] = {0, VmaKind::reserved};
                }
                break;
            }
            default: {  // the break: create a heap area, or grow or shrink it in place
                if (!heap) {
                    intptr_t r = as.map(start, page, prot_read | prot_write, false, VmaKind::heap);
                    if (r >= 0) {
                        FUZZ_CHECK(!model.count(static_cast<uintptr_t>(r)));
                        model[static_cast<uintptr_t>(r)] = {prot_read | prot_write, VmaKind::heap};
                        heap = static_cast<uintptr_t>(r);
                    }
                    break;
                }
                const Vma* v = as.find(heap);
                FUZZ_CHECK(v != nullptr && v->start == heap && v->kind == VmaKind::heap);
                uintptr_t old_end = v->end, new_end = heap + length;
                int area_prot = v->prot;  // new pages get the area's protection
                bool room = new_end <= highest;
                for (uintptr_t p = old_end; room && p < new_end; p += page) room = !model.count(p);
                int r = as.resize(heap, new_end);
                FUZZ_CHECK((r == 0) == room);
                if (r == 0) {
                    for (uintptr_t p = new_end; p < old_end; p += page) model.erase(p);
                    for (uintptr_t p = old_end; p < new_end; p += page) model[p] = {area_prot, VmaKind::heap};
                }
            }
            }
            check(as, model);
        }
    }
    FUZZ_CHECK(live_nodes == 0);
    return 0;
}
