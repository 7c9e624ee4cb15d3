// fs/file_pages.cc: file data in pages allocated on first write, holes as zeros, truncation
// giving pages back (counted by fake_data_pages.cc).
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <mica/fs/file_pages.h>
#include <random>
#include <string>

namespace mica::fs {
extern long host_data_pages_live;
}

using namespace mica::fs;

namespace {

constexpr uint64_t page = data_page_size;

std::string read_all(const FilePages& f, uint64_t offset, size_t length) {
    std::string out(length, '?');
    f.read(offset, out.data(), length);
    return out;
}

TEST(FilePages, WritesAcrossPagesReadBackAndHolesAreZeros) {
    long before = host_data_pages_live;
    {
        FilePages f;
        ASSERT_EQ(f.resize(5 * page + 10), 0);
        std::string data(page + 100, 'a');
        for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
        ASSERT_EQ(f.write(3 * page - 50, data.data(), data.size()), 0);
        EXPECT_EQ(f.allocated_pages(), 3u) << "pages 2, 3 and 4 only";
        EXPECT_EQ(f.page(0), nullptr);
        EXPECT_EQ(read_all(f, 3 * page - 50, data.size()), data);
        EXPECT_EQ(read_all(f, 0, 3 * page - 50), std::string(3 * page - 50, '\0'));
        EXPECT_EQ(read_all(f, 4 * page + 50, page - 40), std::string(page - 40, '\0'));
        EXPECT_EQ(host_data_pages_live - before, 3);
    }
    EXPECT_EQ(host_data_pages_live, before) << "every page given back";
}

TEST(FilePages, ShrinkingFreesPagesAndGrowingAgainReadsZeros) {
    long before = host_data_pages_live;
    FilePages f;
    std::string data(3 * page, 'x');
    ASSERT_EQ(f.resize(data.size()), 0);
    ASSERT_EQ(f.write(0, data.data(), data.size()), 0);
    ASSERT_EQ(f.resize(page + 7), 0);
    EXPECT_EQ(f.allocated_pages(), 2u);
    EXPECT_EQ(host_data_pages_live - before, 2);
    ASSERT_EQ(f.resize(3 * page), 0);
    EXPECT_EQ(read_all(f, 0, page + 7), std::string(page + 7, 'x'));
    EXPECT_EQ(read_all(f, page + 7, 2 * page - 7), std::string(2 * page - 7, '\0'));
    ASSERT_EQ(f.resize(0), 0);
    EXPECT_EQ(f.allocated_pages(), 0u);
    EXPECT_EQ(host_data_pages_live, before);
}

TEST(FilePages, BeyondTheIndexIsEfbig) {
    FilePages f;
    EXPECT_EQ(f.resize(FilePages::max_bytes() + 1), -errno_fbig);
    EXPECT_EQ(f.resize(FilePages::max_bytes()), 0);  // sparse: only the index
    EXPECT_EQ(f.allocated_pages(), 0u);
}

TEST(FilePages, AllocateFillsHolesWithZeroedPagesAndKeepsData) {
    long before = host_data_pages_live;
    FilePages f;
    std::string data(page, 'd');
    ASSERT_EQ(f.resize(2 * page), 0);
    ASSERT_EQ(f.write(page, data.data(), data.size()), 0);
    // Past the index (as fallocate's FALLOC_FL_KEEP_SIZE beyond the end): it grows.
    ASSERT_EQ(f.allocate(10, 4 * page), 0);
    EXPECT_EQ(f.allocated_pages(), 5u) << "pages 0 to 4, page 1 kept as it was";
    EXPECT_EQ(read_all(f, page, page), data);
    EXPECT_EQ(read_all(f, 0, page), std::string(page, '\0'));
    EXPECT_EQ(read_all(f, 2 * page, 3 * page), std::string(3 * page, '\0'));
    EXPECT_EQ(f.allocate(FilePages::max_bytes(), 1), -errno_fbig);
    // A write that extends the file keeps the pages allocated past its end (reserve).
    ASSERT_EQ(f.reserve(3 * page), 0);
    EXPECT_EQ(f.allocated_pages(), 5u);
    ASSERT_EQ(f.resize(0), 0);
    EXPECT_EQ(host_data_pages_live, before);
}

TEST(FilePages, PunchZeroesTheRangeAndFreesItsWholePages) {
    long before = host_data_pages_live;
    FilePages f;
    std::string data(4 * page, 'p');
    ASSERT_EQ(f.resize(data.size()), 0);
    ASSERT_EQ(f.write(0, data.data(), data.size()), 0);
    f.punch(100, 2 * page);  // the end of page 0, all of page 1, the start of page 2
    EXPECT_EQ(f.allocated_pages(), 3u);
    EXPECT_EQ(f.page(1), nullptr);
    std::string expected = data;
    expected.replace(100, 2 * page, 2 * page, '\0');
    EXPECT_EQ(read_all(f, 0, data.size()), expected);
    f.punch(3 * page, ~uint64_t{0} - 3 * page);  // to the end of everything, without wrapping
    EXPECT_EQ(f.allocated_pages(), 2u);
    ASSERT_EQ(f.resize(0), 0);
    EXPECT_EQ(host_data_pages_live, before);
}

// Random writes and truncations against a std::string model.
TEST(FilePages, MatchesAModelUnderRandomOperations) {
    std::mt19937 rng(12345);
    FilePages f;
    std::string model;
    for (int step = 0; step < 2000; ++step) {
        if (rng() % 5 == 0) {
            size_t size = rng() % (8 * page);
            ASSERT_EQ(f.resize(size), 0);
            model.resize(size, '\0');
        } else {
            size_t offset = rng() % (8 * page), length = 1 + rng() % (2 * page);
            std::string chunk(length, static_cast<char>('A' + step % 50));
            if (offset + length > model.size()) {
                ASSERT_EQ(f.resize(offset + length), 0);
                model.resize(offset + length, '\0');
            }
            ASSERT_EQ(f.write(offset, chunk.data(), length), 0);
            model.replace(offset, length, chunk);
        }
        ASSERT_EQ(read_all(f, 0, model.size()), model) << "step " << step;
    }
}

}  // namespace
