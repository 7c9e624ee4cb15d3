// The application's part of the address space as system calls check pointers against it
// (mm/app_ranges.h): bounds, kernel ranges, and lengths that wrap around.
#include <gtest/gtest.h>
#include <mica/mm/app_ranges.h>

#include <random>

using mica::mm::AppRanges;

namespace {
constexpr uintptr_t lowest = 0x10000;
constexpr uintptr_t highest = uintptr_t{128} << 40;  // x86_64's lower half
constexpr uintptr_t max = ~uintptr_t{0};

// x86_64's layout: image and low memory, the device window, the stack area.
AppRanges x86_layout() {
    AppRanges r(lowest, highest);
    EXPECT_TRUE(r.add_kernel_range(lowest, 0x400000));
    EXPECT_TRUE(r.add_kernel_range(uintptr_t{1} << 30, uintptr_t{4} << 30));
    EXPECT_TRUE(r.add_kernel_range(uintptr_t{512} << 30, uintptr_t{576} << 30));
    return r;
}
}  // namespace

TEST(AppRanges, EmptyRanges) {
    // A copy of nothing touches nothing; Linux's access_ok still refuses an empty range
    // beyond the application's space (write(fd, kernel_address, 0) is EFAULT there).
    AppRanges r = x86_layout();
    for (uintptr_t a : {uintptr_t{0}, uintptr_t{1}, lowest, uintptr_t{1} << 30, highest, max}) {
        EXPECT_TRUE(r.contains(a, 0)) << std::hex << a;
    }
    for (uintptr_t a : {uintptr_t{0}, uintptr_t{1}, lowest, uintptr_t{1} << 30, highest}) {
        EXPECT_TRUE(r.in_bounds(a, 0)) << std::hex << a;
    }
    EXPECT_FALSE(r.in_bounds(highest + 1, 0));
    EXPECT_FALSE(r.in_bounds(0xffff800000000000, 0));
    EXPECT_FALSE(r.in_bounds(max, 0));
}

TEST(AppRanges, Bounds) {
    AppRanges r = x86_layout();
    EXPECT_FALSE(r.contains(0, 1));                // null
    EXPECT_FALSE(r.contains(lowest - 1, 1));       // below vm.mmap_min_addr
    EXPECT_TRUE(r.contains(0x400000, 4096));       // just past the image
    EXPECT_TRUE(r.contains(highest - 1, 1));       // the last byte
    EXPECT_FALSE(r.contains(highest - 1, 2));      // crosses the end
    EXPECT_FALSE(r.contains(highest, 1));          // non-canonical on x86_64
    EXPECT_FALSE(r.contains(0x8000000000000000, 8));
    EXPECT_FALSE(r.contains(0xffff800000000000, 8));  // the direct map
    EXPECT_FALSE(r.contains(max, 1));
    EXPECT_TRUE(r.in_bounds(highest - 16, 16));
    EXPECT_FALSE(r.in_bounds(highest - 16, 17));
    EXPECT_FALSE(r.in_bounds(highest + 1, 1));
    // in_bounds is Linux's access_ok: kernel ranges inside the bounds pass it (the copy
    // itself checks them); contains does not.
    EXPECT_TRUE(r.in_bounds(uintptr_t{1} << 30, 4096));
    EXPECT_FALSE(r.contains(uintptr_t{1} << 30, 4096));
}

TEST(AppRanges, KernelRangesAndTheirEdges) {
    AppRanges r = x86_layout();
    uintptr_t dev = uintptr_t{1} << 30, dev_end = uintptr_t{4} << 30;
    EXPECT_TRUE(r.contains(dev - 16, 16));    // ends where the window starts
    EXPECT_FALSE(r.contains(dev - 16, 17));   // one byte into it
    EXPECT_FALSE(r.contains(dev + 100, 1));
    EXPECT_FALSE(r.contains(dev_end - 1, 1));
    EXPECT_TRUE(r.contains(dev_end, 1));      // the first byte after it
    EXPECT_FALSE(r.contains(0x400000 - 1, 2));  // the end of the image
    EXPECT_FALSE(r.contains(0x200000, 8));      // inside the image
    // A range that spans a whole kernel range.
    EXPECT_FALSE(r.contains(dev - 4096, dev_end - dev + 8192));
    EXPECT_FALSE(r.contains(0x500000, (uintptr_t{600} << 30) - 0x500000));
}

TEST(AppRanges, LengthsThatWrapAround) {
    AppRanges r = x86_layout();
    EXPECT_FALSE(r.contains(0x500000, max));
    EXPECT_FALSE(r.contains(0x500000, max - 0x500000 + 2));  // end wraps to 1
    EXPECT_FALSE(r.contains(max - 4095, 8192));              // wraps to the bottom
    EXPECT_FALSE(r.in_bounds(0x500000, max));
    EXPECT_FALSE(r.in_bounds(max - 4095, 8192));
    EXPECT_FALSE(r.contains(highest - 4096, max - 100));
}

TEST(AppRanges, ListIsBounded) {
    AppRanges r(lowest, highest);
    EXPECT_FALSE(r.add_kernel_range(0x20000, 0x20000));  // empty
    EXPECT_FALSE(r.add_kernel_range(0x30000, 0x20000));  // inverted
    for (size_t i = 0; i < AppRanges::max_kernel_ranges; ++i) {
        EXPECT_TRUE(r.add_kernel_range(0x100000 * (i + 1), 0x100000 * (i + 1) + 4096));
    }
    EXPECT_FALSE(r.add_kernel_range(0x7000000000, 0x7000001000));
    EXPECT_TRUE(r.contains(0x7000000000, 4096));  // the refused range stays the application's
    EXPECT_FALSE(r.contains(0x100000 * AppRanges::max_kernel_ranges, 1));
}

// Random ranges against a byte-granular model over a small space.
TEST(AppRanges, MatchesAModel) {
    constexpr uintptr_t lo = 64, hi = 4096;
    AppRanges r(lo, hi);
    bool kernel[hi] = {};
    std::mt19937_64 rng(16);
    for (int i = 0; i < 6; ++i) {
        uintptr_t start = rng() % hi, end = start + 1 + rng() % 200;
        if (end > hi) end = hi;
        ASSERT_TRUE(r.add_kernel_range(start, end));
        for (uintptr_t a = start; a < end; ++a) kernel[a] = true;
    }
    for (int i = 0; i < 20000; ++i) {
        uintptr_t a = rng() % (hi + 64);
        size_t n = i % 50 == 0 ? max - rng() % 8 : rng() % 300;
        bool expected = true;
        if (n > 0) {
            if (a < lo || a >= hi || n > hi - a) {
                expected = false;
            } else {
                for (uintptr_t b = a; b < a + n; ++b) expected &= !kernel[b];
            }
        }
        ASSERT_EQ(r.contains(a, n), expected) << a << "+" << n;
        ASSERT_EQ(r.in_bounds(a, n), a <= hi && n <= hi - a) << a << "+" << n;
    }
}
