// Transfer vectors (fs/io.h): copies across segment boundaries, the cursor, rewinding, and
// -EFAULT from a bad application segment (fake_app_memory.cc: addresses below 64 KiB).
#include <gtest/gtest.h>
#include <mica/fs/io.h>

#include <string>
#include <vector>

using namespace mica::fs;

namespace {

IoSegment seg(void* p, size_t n) { return IoSegment{reinterpret_cast<uint64_t>(p), n}; }

TEST(IoVector, PutSpansSegments) {
    char a[3], b[0 + 1], c[5];
    IoSegment segments[] = {seg(a, 3), seg(b, 0), seg(c, 5)};
    IoVector v(segments, 3, true);
    EXPECT_EQ(v.total(), 8u);
    EXPECT_EQ(v.put("hello", 5), 5);
    EXPECT_EQ(v.done(), 5u);
    EXPECT_EQ(v.put("world!", 6), 3);  // only three bytes left
    EXPECT_EQ(v.remaining(), 0u);
    EXPECT_EQ(std::string(a, 3), "hel");
    EXPECT_EQ(std::string(c, 5), "lowor");
    EXPECT_EQ(v.put("x", 1), 0);
}

TEST(IoVector, GetSkipAndRewind) {
    char a[] = "abc", b[] = "defgh";
    IoSegment segments[] = {seg(a, 3), seg(b, 5)};
    IoVector v(segments, 2, false);
    char out[8] = {};
    EXPECT_EQ(v.get(out, 2), 2);
    IoVector::Position p = v.position();
    v.skip(2);
    EXPECT_EQ(v.get(out, 8), 4);
    EXPECT_EQ(std::string(out, 4), "efgh");
    v.rewind(p);
    EXPECT_EQ(v.remaining(), 6u);
    EXPECT_EQ(v.get(out, 3), 3);
    EXPECT_EQ(std::string(out, 3), "cde");
}

TEST(IoVector, FaultsReturnWhatWasCopiedFirst) {
    char good[4];
    IoSegment segments[] = {seg(good, 4), IoSegment{8, 4}};
    IoVector v(segments, 2, true);
    EXPECT_EQ(v.put("12345678", 8), 4);  // the good segment, then the fault stops it
    EXPECT_EQ(v.put("5678", 4), -14);    // nothing copied: -EFAULT
    IoVector single(reinterpret_cast<void*>(16), 10, true);
    char dst[10];
    EXPECT_EQ(single.get(dst, 10), -14);
    IoVector kernel(reinterpret_cast<void*>(dst), 10, false);  // kernel memory is not checked
    EXPECT_EQ(kernel.put("abc", 3), 3);
}

}  // namespace

namespace {

TEST(IoVector, PieceIsTheContiguousRunAtTheCursor) {
    char a[] = "abc", b[] = "defgh";
    IoSegment segments[] = {seg(a, 3), IoSegment{0, 0}, seg(b, 5)};
    IoVector v(segments, 3, true);
    IoVector::Piece p = v.piece(100);
    EXPECT_EQ(p.base, reinterpret_cast<uint64_t>(a));
    EXPECT_EQ(p.length, 3u);
    EXPECT_EQ(v.piece(2).length, 2u);  // capped
    EXPECT_EQ(v.done(), 0u);           // no advance
    v.skip(3);                         // past the empty segment too
    p = v.piece(100);
    EXPECT_EQ(p.base, reinterpret_cast<uint64_t>(b));
    EXPECT_EQ(p.length, 5u);
    v.skip(1);
    p = v.piece(100);
    EXPECT_EQ(p.base, reinterpret_cast<uint64_t>(b + 1));
    EXPECT_EQ(p.length, 4u);
    v.skip(4);
    EXPECT_EQ(v.piece(100).length, 0u);
}

}  // namespace
