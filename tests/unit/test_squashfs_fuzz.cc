// Corrupted images: deterministic seeded mutations of valid images (bit flips, byte sets,
// interesting values in every table, table offsets pointing outside or backwards, huge
// counts, truncations at every table). Each is opened twice, with a data block cache and
// without one (streaming), and, when that succeeds, fully walked (every entry read, looked up,
// its inode loaded, files read whole and through read_pages, links read) under iteration
// bounds: every one must end in an error with a message or a consistent result, never a
// crash, a sanitizer report (this binary is built with ASan and UBSan) or a loop.
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <sys/stat.h>

#include <memory>
#include <random>

#include "squashfs_fixture.h"

namespace {

using namespace squashfs_test;

// Walk bounds: far above what the valid images need, small enough to finish quickly.
constexpr size_t max_entries_per_walk = 4000;
constexpr size_t max_entries_per_directory = 2000;
constexpr int max_depth = 40;
constexpr size_t file_read_limit = 256 * 1024;

uint64_t le(const std::vector<uint8_t>& b, size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = v << 8 | b[at + i];
    return v;
}
void set_le(std::vector<uint8_t>& b, size_t at, int bytes, uint64_t v) {
    for (int i = 0; i < bytes && at + i < b.size(); ++i) b[at + i] = uint8_t(v >> (8 * i));
}

struct Outcome {
    bool opened = false;
    size_t entries = 0, errors = 0;
};

class Walker {
public:
    explicit Walker(sq::Image& image) : image_(image) {}

    void directory(const sq::Inode& dir, int depth, Outcome* outcome) {
        if (depth > max_depth) return;
        uint64_t cookie = 0;
        for (size_t n = 0; n < max_entries_per_directory; ++n) {
            sq::Entry entry;
            int r = image_.readdir(dir, cookie, &entry);
            if (r <= 0) {
                note(r, outcome);
                return;
            }
            ASSERT_EQ(1, r);
            ASSERT_GT(entry.next_cookie, cookie) << "readdir went backwards: it could loop";
            ASSERT_LE(entry.name_length, 256u);
            ASSERT_EQ(strlen(entry.name), entry.name_length);
            cookie = entry.next_cookie;
            if (++outcome->entries > max_entries_per_walk) return;
            sq::Inode inode, found;
            int ri = image_.inode(entry, &inode);
            note(ri, outcome);
            int rl = image_.lookup(dir, entry.name, entry.name_length, &found);
            note(rl == -mica::fs::errno_noent ? 0 : rl, outcome);  // corrupt sort order hides names
            if (ri < 0) continue;
            check(inode, depth, outcome);
            if (::testing::Test::HasFatalFailure()) return;
        }
    }

    void check(const sq::Inode& inode, int depth, Outcome* outcome) {
        switch (inode.type) {
        case sq::Type::directory:
            directory(inode, depth + 1, outcome);
            break;
        case sq::Type::regular: {
            uint64_t want = inode.size < file_read_limit ? inode.size : file_read_limit;
            for (uint64_t at = 0; at < want; at += buffer_.size()) {
                int64_t r = image_.read(inode, at, buffer_.data(), buffer_.size());
                if (r < 0) return note(int(r), outcome);
                ASSERT_LE(uint64_t(r), buffer_.size());
                ASSERT_EQ(std::min<uint64_t>(buffer_.size(), inode.size - at), uint64_t(r));
            }
            if (inode.size > 100) {
                int64_t r = image_.read(inode, inode.size - 100, buffer_.data(), buffer_.size());
                if (r < 0) return note(int(r), outcome);
                ASSERT_EQ(100, r);
            }
            // Pages around the tail, every other one wanted, the last past the end.
            constexpr uint32_t page = 4096;
            constexpr unsigned count = 6;
            void* pages[count];
            for (unsigned i = 0; i < count; ++i) pages[i] = i % 2 ? nullptr : buffer_.data() + i * page;
            uint64_t first = inode.size > 4 * page ? (inode.size - 4 * page) & ~uint64_t(page - 1) : 0;
            note(image_.read_pages(inode, first, page, pages, count), outcome);
            break;
        }
        case sq::Type::symlink: {
            int64_t r = image_.readlink(inode, reinterpret_cast<char*>(buffer_.data()), 5000);
            if (r < 0) return note(int(r), outcome);
            ASSERT_EQ(int64_t(inode.size), r);
            break;
        }
        default:
            break;
        }
    }

    void note(int r, Outcome* outcome) {
        if (r >= 0) return;
        ++outcome->errors;
        ASSERT_TRUE(r == -mica::fs::errno_io || r == -mica::fs::errno_inval || r == -mica::fs::errno_notdir)
            << "unexpected error " << r;
        if (r == -mica::fs::errno_io) {
            ASSERT_NE(0, image_.last_error()[0]) << "an error without a message";
        }
    }

private:
    sq::Image& image_;
    std::vector<uint8_t> buffer_ = std::vector<uint8_t>(65536);
};

// The two reading modes: a data cache of cache_blocks / 4 + 1 blocks, or none.
enum class Data { cached, streaming };

Outcome open_and_walk(std::vector<uint8_t> bytes, unsigned cache_blocks, Data data) {
    Outcome outcome;
    MemorySource source(std::move(bytes));
    char error[160] = {};
    sq::Image* opened = nullptr;
    sq::Options options;
    options.metadata_cache_blocks = cache_blocks;
    options.data_cache_blocks = data == Data::cached ? cache_blocks / 4 + 1 : 0;
    int r = sq::Image::open(source, options, &opened, error, sizeof(error));
    if (r < 0) {
        EXPECT_TRUE(r == -mica::fs::errno_inval || r == -mica::fs::errno_io) << r;
        EXPECT_NE(0, error[0]) << "open failed without a message";
        return outcome;
    }
    std::unique_ptr<sq::Image> image(opened);
    outcome.opened = true;
    sq::Inode root;
    Walker walker(*image);
    r = image->root(&root);
    if (r < 0) {
        walker.note(r, &outcome);
        return outcome;
    }
    walker.directory(root, 0, &outcome);
    return outcome;
}

// The tables of a valid image, from its superblock: [start, end) byte ranges to aim at.
struct Regions {
    std::vector<std::pair<uint64_t, uint64_t>> tables;
    std::vector<uint64_t> starts;  // every table start, for truncations
};

Regions regions_of(const std::vector<uint8_t>& b) {
    uint64_t used = le(b, 40, 8), ids = le(b, 48, 8), inodes = le(b, 64, 8), dirs = le(b, 72, 8),
             fragments = le(b, 80, 8), exports = le(b, 88, 8);
    Regions r;
    r.tables.push_back({0, 96});
    r.tables.push_back({inodes, dirs});
    uint64_t after_dirs = fragments != ~0ull && le(b, 16, 4) ? le(b, fragments, 8)
                          : exports != ~0ull                  ? le(b, exports, 8)
                                                              : le(b, ids, 8);
    r.tables.push_back({dirs, after_dirs});
    r.tables.push_back({after_dirs, used});  // fragment, export and id tables and their indexes
    r.tables.push_back({96, inodes});        // data blocks and fragments
    r.starts = {96, inodes, dirs, after_dirs, ids, used};
    if (fragments != ~0ull) r.starts.push_back(fragments);
    if (exports != ~0ull) r.starts.push_back(exports);
    return r;
}

class SquashfsFuzz : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir;
        std::string root = dir_->path() + "/root";
        if (mkdir(root.c_str(), 0755) != 0) abort();
        build_small_tree(root);
        const std::vector<std::vector<std::string>> layouts = {
            {"-b", "4K", "-noI", "-noD", "-noF", "-no-xattrs"},  // structures in the clear: the parser gets the mutations
            {"-b", "4K", "-noI", "-noD", "-noF", "-no-fragments", "-no-exports"},
            {"-b", "4K", "-always-use-fragments"},               // compressed: zlib meets the mutations first
        };
        for (auto& args : layouts) {
            std::string path = dir_->path() + "/base.img";
            std::string output;
            std::vector<std::string> all = args;
            for (auto& a : pseudo_arguments()) all.push_back(a);
            // Fixed times: the base images, so the mutated ones, are the same bytes every run
            // (mksquashfs stamps the build time and the files' times otherwise).
            for (const char* a : {"-mkfs-time", "0", "-all-time", "0"}) all.push_back(a);
            if (!mksquashfs(root, path, all, &output)) {
                failure_ = output;
                return;
            }
            images_.push_back(read_file(path));
        }
    }
    static void TearDownTestSuite() {
        delete dir_;
        images_.clear();
    }
    void SetUp() override { ASSERT_EQ(3u, images_.size()) << failure_; }

    static TempDir* dir_;
    static std::vector<std::vector<uint8_t>> images_;
    static std::string failure_;
};
TempDir* SquashfsFuzz::dir_ = nullptr;
std::vector<std::vector<uint8_t>> SquashfsFuzz::images_;
std::string SquashfsFuzz::failure_;

TEST_F(SquashfsFuzz, ValidImagesWalkCleanly) {
    for (auto& image : images_) {
        for (Data data : {Data::cached, Data::streaming}) {
            Outcome o = open_and_walk(image, 8, data);
            EXPECT_TRUE(o.opened);
            EXPECT_EQ(0u, o.errors);
            EXPECT_GT(o.entries, 600u);
        }
    }
}

TEST_F(SquashfsFuzz, SeededMutations) {
    const uint64_t interesting[] = {0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x1fff, 0x2000, 0x2001, 0x7fff, 0x8000,
                                    0xffff, 0x10000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xfffffffe,
                                    0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, ~0ull};
    size_t opened = 0, walked_entries = 0, runs = 0, streaming_errors = 0;
    for (uint32_t seed = 0; seed < 1500; ++seed) {
        std::mt19937_64 rng(seed);
        std::vector<uint8_t> bytes = images_[seed % images_.size()];
        Regions regions = regions_of(bytes);
        uint64_t used = le(bytes, 40, 8);
        auto pick = [&](std::pair<uint64_t, uint64_t> range) {
            if (range.second <= range.first || range.second > bytes.size()) range = {0, used};
            return range.first + rng() % (range.second - range.first);
        };
        auto region = [&] { return regions.tables[rng() % regions.tables.size()]; };
        int kind = int(seed / images_.size() % 7);
        int edits = 1 + int(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            switch (kind) {
            case 0:  // bit flips anywhere
                bytes[pick({0, used})] ^= uint8_t(1u << (rng() % 8));
                break;
            case 1:  // byte sets anywhere
                bytes[pick({0, used})] = uint8_t(rng() % 3 == 0 ? 0 : rng() % 3 == 1 ? 0xff : rng());
                break;
            case 2:  // bit flips and byte sets inside one table
                bytes[pick(region())] ^= uint8_t(rng() % 2 ? 1u << (rng() % 8) : rng());
                break;
            case 3: {  // an interesting value in a 16-, 32- or 64-bit field of a table
                int width = 2 << (rng() % 3);
                uint64_t at = pick(region());
                uint64_t value = rng() % 4 == 0 ? used + rng() % 16 - 8 : interesting[rng() % std::size(interesting)];
                set_le(bytes, at, width, value);
                break;
            }
            case 4: {  // a superblock table offset pointing outside, backwards, at another table
                static const size_t offsets[] = {32, 40, 48, 56, 64, 72, 80, 88};
                size_t field = offsets[rng() % std::size(offsets)];
                uint64_t choices[] = {used, used + 1 + rng() % 100000, regions.starts[rng() % regions.starts.size()],
                                      le(bytes, field, 8) - 1 - rng() % 64, le(bytes, field, 8) + 1 + rng() % 64,
                                      interesting[rng() % std::size(interesting)]};
                set_le(bytes, field, 8, choices[rng() % std::size(choices)]);
                break;
            }
            case 5: {  // huge or tiny counts: inodes, fragments, ids, and counts inside the tables
                static const size_t counts[] = {4, 16, 26};
                if (rng() % 2) {
                    size_t field = counts[rng() % std::size(counts)];
                    set_le(bytes, field, field == 26 ? 2 : 4, interesting[rng() % std::size(interesting)]);
                } else {
                    set_le(bytes, pick(region()), 4, interesting[10 + rng() % (std::size(interesting) - 10)]);
                }
                break;
            }
            default: {  // truncated at (or near) a table start, the superblock told or not
                uint64_t cut = regions.starts[rng() % regions.starts.size()] + rng() % 9 - 4;
                if (cut > bytes.size()) cut = bytes.size() / 2;
                bytes.resize(cut);
                if (rng() % 2 && cut >= 48) set_le(bytes, 40, 8, cut);
                e = edits;
                break;
            }
            }
        }
        SCOPED_TRACE("seed " + std::to_string(seed));
        Outcome o = open_and_walk(bytes, 1 + unsigned(seed % 8), Data::cached);
        if (::testing::Test::HasFatalFailure()) return;
        Outcome s = open_and_walk(std::move(bytes), 1 + unsigned(seed % 8), Data::streaming);
        if (::testing::Test::HasFatalFailure()) return;
        EXPECT_EQ(o.opened, s.opened) << "opening does not depend on the data cache";
        opened += o.opened;
        walked_entries += o.entries;
        streaming_errors += s.errors;
        ++runs;
    }
    printf("%zu corrupted images: %zu opened, %zu entries walked; %zu errors streaming\n", runs, opened,
           walked_entries, streaming_errors);
    EXPECT_GT(streaming_errors, 0u);
    EXPECT_GT(opened, runs / 4);  // the mutations reach past the superblock
}

TEST_F(SquashfsFuzz, TruncatedAtEveryTable) {
    size_t runs = 0;
    for (auto& image : images_) {
        Regions regions = regions_of(image);
        for (uint64_t start : regions.starts) {
            for (int delta = -3; delta <= 3; ++delta) {
                uint64_t cut = start + delta;
                if (cut > image.size()) continue;
                for (bool tell : {false, true}) {
                    std::vector<uint8_t> bytes(image.begin(), image.begin() + cut);
                    if (tell && cut >= 48) set_le(bytes, 40, 8, cut);
                    SCOPED_TRACE("cut at " + std::to_string(cut));
                    open_and_walk(bytes, 4, Data::cached);
                    if (::testing::Test::HasFatalFailure()) return;
                    open_and_walk(std::move(bytes), 4, Data::streaming);
                    if (::testing::Test::HasFatalFailure()) return;
                    ++runs;
                }
            }
        }
    }
    EXPECT_GT(runs, 100u);
}

}  // namespace
