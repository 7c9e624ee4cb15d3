// Which addresses a system call may touch on the application's behalf: the application's part
// of the address space, [lowest, highest) minus the kernel's ranges inside it (its image and
// low memory, device windows, thread stacks: docs/architecture.md "Address space"). The
// application runs in the kernel's address space at the kernel's privilege, so those ranges
// are mapped and a copy into them would not fault: they must be refused before copying.
//
// Every copy to or from the application asks, so the check takes no lock. Ranges are only
// ever added: each is written before the count that publishes it, so a reader sees a prefix
// of the list, and a range is added before any kernel object can live in it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::mm {

class AppRanges {
public:
    static constexpr size_t max_kernel_ranges = 16;

    constexpr AppRanges(uintptr_t lowest, uintptr_t highest) : lowest_(lowest), highest_(highest) {}

    // Marks [start, end) as the kernel's. False when the list is full or the range is empty.
    bool add_kernel_range(uintptr_t start, uintptr_t end) {
        size_t n = __atomic_load_n(&count_, __ATOMIC_RELAXED);
        if (start >= end || n == max_kernel_ranges) return false;
        ranges_[n] = Range{start, end};
        __atomic_store_n(&count_, n + 1, __ATOMIC_RELEASE);
        return true;
    }

    // Linux's access_ok: the range does not wrap and ends at or below `highest`; an empty
    // range too must start there (Linux refuses a kernel address even for 0 bytes). A cheap
    // up-front check for calls that would otherwise do work before their first copy.
    bool in_bounds(uintptr_t address, size_t length) const {
        return address <= highest_ && length <= highest_ - address;
    }

    // The whole range belongs to the application: in bounds, at or above `lowest`, and clear
    // of every kernel range. An empty range always does (nothing is touched).
    bool contains(uintptr_t address, size_t length) const {
        if (length == 0) return true;
        if (address < lowest_ || !in_bounds(address, length)) return false;
        uintptr_t end = address + length;  // no wrap: in_bounds
        size_t n = __atomic_load_n(&count_, __ATOMIC_ACQUIRE);
        for (size_t i = 0; i < n; ++i) {
            if (address < ranges_[i].end && ranges_[i].start < end) return false;
        }
        return true;
    }

    uintptr_t lowest() const { return lowest_; }
    uintptr_t highest() const { return highest_; }

private:
    struct Range {
        uintptr_t start, end;
    };
    uintptr_t lowest_, highest_;
    Range ranges_[max_kernel_ranges] = {};
    size_t count_ = 0;
};

}  // namespace mica::mm
