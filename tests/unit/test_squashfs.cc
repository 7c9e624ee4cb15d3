// The squashfs reader against images mksquashfs makes from a generated tree, in several
// layouts (block sizes, fragments or not, uncompressed tables, all-root, zlib options), each
// read with a data block cache and without one (streaming): every file's bytes (read whole,
// in pages, at random places, and through read_pages), mode, owner, mtime, size, link target,
// readdir order and device numbers are compared with the source tree; lookups that must fail
// do.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <tuple>

#include "squashfs_fixture.h"

namespace {

using namespace squashfs_test;
namespace fs = mica::fs;

struct Variant {
    const char* name;
    std::vector<std::string> args;
    bool all_root;
};

const Variant variants[] = {
    {"default_128k", {}, false},
    {"b4k_no_fragments_no_exports", {"-b", "4K", "-no-fragments", "-no-exports"}, false},
    {"b64k_always_fragments", {"-b", "64K", "-always-use-fragments"}, false},
    {"b1m_uncompressed", {"-b", "1M", "-noI", "-noD", "-noF", "-no-xattrs"}, false},
    {"b4k_all_root_uncompressed_data", {"-b", "4K", "-all-root", "-noD", "-always-use-fragments"}, true},
    {"zlib_options_exportable", {"-comp", "gzip", "-Xcompression-level", "1", "-Xwindow-size", "10"}, false},
};

// Options::data_cache_blocks of the two reading modes: the default cache, and none.
constexpr unsigned cached = 2, streaming = 0;

// The tree is built once; each variant makes its own image of it, read in both modes.
class SquashfsImage : public ::testing::TestWithParam<std::tuple<Variant, unsigned>> {
protected:
    static void SetUpTestSuite() {
        tree_ = new TempDir;
        build_tree(tree_->path() + "/root");
    }
    static void TearDownTestSuite() {
        delete tree_;
        tree_ = nullptr;
    }
    void SetUp() override {
        // Each variant's image once per process (make check runs the tests of a reading mode
        // in one process: the tree and the images cost more than the tests).
        std::string image = tree_->path() + "/" + variant().name + ".img";
        if (::access(image.c_str(), F_OK) != 0) {
            std::vector<std::string> args = variant().args;
            for (auto& a : pseudo_arguments()) args.push_back(a);
            std::string output;
            ASSERT_TRUE(mksquashfs(tree_->path() + "/root", image, args, &output)) << output;
        }
        source_ = std::make_unique<MemorySource>(read_file(image));
        char error[160];
        sq::Image* opened = nullptr;
        sq::Options options;
        options.data_cache_blocks = std::get<1>(GetParam());
        ASSERT_EQ(0, sq::Image::open(*source_, options, &opened, error, sizeof(error))) << error;
        image_.reset(opened);
        ASSERT_EQ(options.data_cache_blocks != 0, image_->caches_data());
        ASSERT_EQ(0, image_->root(&root_)) << image_->last_error();
    }
    static const Variant& variant() { return std::get<0>(GetParam()); }
    void check_read_pages(const sq::Inode& inode, const std::vector<uint8_t>& expected);
    std::string source_path(const std::string& relative) { return tree_->path() + "/root" + relative; }

    void check_inode(const sq::Inode& inode, const std::string& relative);
    void check_directory(const sq::Inode& dir, const std::string& relative, size_t* count);
    void check_pseudo_nodes(const sq::Inode& dev);

    static TempDir* tree_;
    std::unique_ptr<MemorySource> source_;
    std::unique_ptr<sq::Image> image_;
    sq::Inode root_;
    std::map<uint32_t, ino_t> numbers_;  // squashfs inode number -> the source's
};
TempDir* SquashfsImage::tree_ = nullptr;

std::vector<std::string> source_names(const std::string& path) {
    std::vector<std::string> names;
    DIR* d = opendir(path.c_str());
    if (!d) return names;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());  // char_traits<char> compares bytes as unsigned
    return names;
}

void SquashfsImage::check_inode(const sq::Inode& inode, const std::string& relative) {
    SCOPED_TRACE(relative);
    struct stat st;
    ASSERT_EQ(0, lstat(source_path(relative).c_str(), &st));
    EXPECT_EQ(st.st_mode, inode.mode);
    EXPECT_EQ(variant().all_root ? 0u : st.st_uid, inode.uid);
    EXPECT_EQ(variant().all_root ? 0u : st.st_gid, inode.gid);
    EXPECT_EQ(st.st_mtime, inode.mtime);
    if (!S_ISDIR(st.st_mode)) {
        EXPECT_EQ(uint64_t(st.st_size), inode.size);
    }
    EXPECT_EQ(st.st_nlink + (relative.empty() ? 1 : 0), inode.nlink);  // the root also has /dev
    // Hard links share an inode number, nothing else does.
    auto [it, added] = numbers_.emplace(inode.number, st.st_ino);
    if (!added) {
        EXPECT_EQ(it->second, st.st_ino) << "inode number " << inode.number << " reused";
    }

    if (S_ISLNK(st.st_mode)) {
        std::vector<char> target(st.st_size + 1);
        ASSERT_EQ(st.st_size, readlink(source_path(relative).c_str(), target.data(), target.size()));
        char buffer[5000];
        ASSERT_EQ(st.st_size, image_->readlink(inode, buffer, sizeof(buffer))) << image_->last_error();
        EXPECT_EQ(0, memcmp(buffer, target.data(), size_t(st.st_size)));
        ASSERT_EQ(3, image_->readlink(inode, buffer, 3));  // a short buffer gets the start
        EXPECT_EQ(0, memcmp(buffer, target.data(), 3));
        EXPECT_EQ(-fs::errno_inval, image_->read(inode, 0, buffer, 1));
    } else if (S_ISREG(st.st_mode)) {
        std::vector<uint8_t> expected = read_file(source_path(relative));
        ASSERT_EQ(size_t(st.st_size), expected.size());
        std::vector<uint8_t> got(expected.size() + 10, 0xaa);
        // All at once, then in page-sized pieces, then at pseudo-random places.
        ASSERT_EQ(int64_t(expected.size()), image_->read(inode, 0, got.data(), got.size())) << image_->last_error();
        EXPECT_TRUE(std::equal(expected.begin(), expected.end(), got.begin())) << "whole read differs";
        std::fill(got.begin(), got.end(), 0x55);
        for (size_t at = 0; at < expected.size(); at += 4096) {
            size_t want = std::min<size_t>(4096, expected.size() - at);
            ASSERT_EQ(int64_t(want), image_->read(inode, at, got.data() + at, 4096)) << image_->last_error();
        }
        EXPECT_TRUE(std::equal(expected.begin(), expected.end(), got.begin())) << "page reads differ";
        std::mt19937 rng(uint32_t(inode.number));
        for (int i = 0; i < 8 && !expected.empty(); ++i) {
            size_t at = rng() % expected.size();
            size_t want = rng() % 200000;
            std::vector<uint8_t> piece(want);
            size_t expect = std::min(want, expected.size() - at);
            ASSERT_EQ(int64_t(expect), image_->read(inode, at, piece.data(), want)) << image_->last_error();
            EXPECT_TRUE(std::equal(piece.begin(), piece.begin() + expect, expected.begin() + at)) << "at " << at;
        }
        check_read_pages(inode, expected);
        if (HasFatalFailure()) return;
        uint8_t byte;
        EXPECT_EQ(0, image_->read(inode, expected.size(), &byte, 1));  // at and past the end
        EXPECT_EQ(0, image_->read(inode, expected.size() + 100000, &byte, 1));
        char name[8];
        EXPECT_EQ(-fs::errno_inval, image_->readlink(inode, name, sizeof(name)));
        sq::Entry entry;
        EXPECT_EQ(-fs::errno_notdir, image_->readdir(inode, 0, &entry));
        sq::Inode child;
        EXPECT_EQ(-fs::errno_notdir, image_->lookup(inode, "x", 1, &child));
    } else if (S_ISDIR(st.st_mode)) {
        uint8_t byte;
        EXPECT_EQ(-fs::errno_isdir, image_->read(inode, 0, &byte, 1));
    }
}

// What a page of `size` bytes at `start` of the file must hold: its bytes then zeros, or the
// `fill` it had when not wanted.
std::vector<uint8_t> page_of(const std::vector<uint8_t>& file, uint64_t start, uint32_t size, bool unwanted,
                             uint8_t fill) {
    std::vector<uint8_t> page(size, unwanted ? fill : 0);
    if (!unwanted && start < file.size()) {
        size_t n = std::min<uint64_t>(size, file.size() - start);
        memcpy(page.data(), file.data() + start, n);
    }
    return page;
}

// read_pages: the whole file in chunks of 32 pages with every third page not wanted (those
// buffers must stay untouched), zeros past the end; then unaligned offsets, odd page sizes and
// random unwanted pages.
void SquashfsImage::check_read_pages(const sq::Inode& inode, const std::vector<uint8_t>& expected) {
    constexpr uint32_t page = 4096;
    constexpr unsigned chunk = 32;
    std::vector<uint8_t> memory(size_t(chunk) * page);
    void* pages[chunk];
    for (uint64_t first = 0; first < expected.size() + page; first += uint64_t(chunk) * page) {
        std::fill(memory.begin(), memory.end(), 0xaa);
        for (unsigned i = 0; i < chunk; ++i) pages[i] = (first / page + i) % 3 == 1 ? nullptr : &memory[size_t(i) * page];
        ASSERT_EQ(0, image_->read_pages(inode, first, page, pages, chunk)) << image_->last_error();
        for (unsigned i = 0; i < chunk; ++i) {
            const uint8_t* got = &memory[size_t(i) * page];
            ASSERT_EQ(0, memcmp(got, page_of(expected, first + uint64_t(i) * page, page, !pages[i], 0xaa).data(), page))
                << "read_pages at " << first << ": page " << i << (pages[i] ? "" : " (an unwanted page)");
        }
    }
    std::mt19937 rng(uint32_t(inode.number) * 7 + 1);
    const uint32_t page_sizes[] = {1, 100, 4096, 5000, 65536 + 3};
    for (int round = 0; round < 6; ++round) {
        uint64_t first = expected.empty() ? 0 : rng() % (expected.size() + 2);
        uint32_t size = page_sizes[rng() % std::size(page_sizes)];
        unsigned count = 1 + rng() % 8;
        std::vector<std::vector<uint8_t>> buffers(count, std::vector<uint8_t>(size, 0x5a));
        std::vector<void*> list(count);
        for (unsigned i = 0; i < count; ++i) list[i] = rng() % 4 == 0 ? nullptr : buffers[i].data();
        ASSERT_EQ(0, image_->read_pages(inode, first, size, list.data(), count)) << image_->last_error();
        for (unsigned i = 0; i < count; ++i) {
            ASSERT_TRUE(buffers[i] == page_of(expected, first + uint64_t(i) * size, size, !list[i], 0x5a))
                << "read_pages from " << first << " in " << size << "-byte pages: page " << i;
        }
    }
}

void SquashfsImage::check_pseudo_nodes(const sq::Inode& dev) {
    for (size_t i = 0; i < pseudo_node_count; ++i) {
        const PseudoNode& n = pseudo_nodes[i];
        SCOPED_TRACE(n.name);
        sq::Inode node;
        ASSERT_EQ(0, image_->lookup(dev, n.name, strlen(n.name), &node)) << image_->last_error();
        uint32_t type = n.type == 'c' ? S_IFCHR : n.type == 'b' ? S_IFBLK : n.type == 'f' ? S_IFIFO : S_IFSOCK;
        EXPECT_EQ(type | n.permissions, node.mode);
        EXPECT_EQ(variant().all_root ? 0 : n.uid, node.uid);
        EXPECT_EQ(variant().all_root ? 0 : n.gid, node.gid);
        if (n.type == 'c' || n.type == 'b') {
            EXPECT_EQ(makedev(n.major, n.minor), node.rdev);
        }
    }
}

void SquashfsImage::check_directory(const sq::Inode& dir, const std::string& relative, size_t* count) {
    SCOPED_TRACE(relative.empty() ? "/" : relative);
    std::vector<std::string> expected = source_names(source_path(relative));
    bool is_root = relative.empty();
    if (is_root) {
        expected.push_back("dev");
        std::sort(expected.begin(), expected.end());
    }
    std::vector<sq::Entry> entries;
    std::vector<uint64_t> cookies = {0};
    uint64_t cookie = 0;
    for (;;) {
        sq::Entry entry;
        int r = image_->readdir(dir, cookie, &entry);
        ASSERT_GE(r, 0) << image_->last_error();
        if (r == 0) break;
        ASSERT_GT(entry.next_cookie, cookie);
        ASSERT_EQ(strlen(entry.name), entry.name_length);
        cookie = entry.next_cookie;
        cookies.push_back(cookie);
        entries.push_back(entry);
        ASSERT_LE(entries.size(), expected.size() + 1);
    }
    std::vector<std::string> names;
    for (auto& e : entries) names.emplace_back(e.name, e.name_length);
    ASSERT_EQ(expected, names);
    // Resuming at any cookie gives the entry after it.
    std::mt19937 rng(uint32_t(entries.size()));
    for (int i = 0; i < 20 && !entries.empty(); ++i) {
        size_t k = rng() % entries.size();
        sq::Entry again;
        ASSERT_EQ(1, image_->readdir(dir, cookies[k], &again)) << image_->last_error();
        EXPECT_STREQ(entries[k].name, again.name);
    }
    for (const sq::Entry& entry : entries) {
        std::string child_path = relative + "/" + entry.name;
        sq::Inode by_lookup, by_entry;
        ASSERT_EQ(0, image_->lookup(dir, entry.name, entry.name_length, &by_lookup)) << image_->last_error();
        ASSERT_EQ(0, image_->inode(entry, &by_entry)) << image_->last_error();
        EXPECT_EQ(by_entry.number, by_lookup.number);
        EXPECT_EQ(entry.inode_number, by_lookup.number);
        EXPECT_EQ(entry.type, by_lookup.type);
        ++*count;
        if (is_root && child_path == "/dev") {
            check_pseudo_nodes(by_lookup);
            continue;
        }
        check_inode(by_lookup, child_path);
        if (by_lookup.type == sq::Type::directory) check_directory(by_lookup, child_path, count);
        if (HasFatalFailure()) return;
    }
    // Names that are not there: before the first, after the last, between, and prefixes.
    sq::Inode missing;
    for (const char* name : {"!", "~~~~", "entry_00001", "entry_01500_nnnnx", "zzz", "A0", "."}) {
        if (std::find(expected.begin(), expected.end(), name) == expected.end()) {
            EXPECT_EQ(-fs::errno_noent, image_->lookup(dir, name, strlen(name), &missing)) << name;
        }
    }
}

TEST_P(SquashfsImage, EveryFileMatchesTheSourceTree) {
    check_inode(root_, "");
    size_t count = 0;
    check_directory(root_, "", &count);
    EXPECT_GT(count, 3100u);
}

TEST_P(SquashfsImage, BigDirectoriesHaveAnIndexAndLookupsUseIt) {
    sq::Inode bigdir, leaf;
    ASSERT_EQ(0, image_->lookup(root_, "bigdir", 6, &bigdir)) << image_->last_error();
    EXPECT_GT(bigdir.index_count, 5u);  // the listing spans many 8 KiB metadata blocks
    uint64_t before = source_->reads;
    std::string last = "entry_02999_" + std::string(2999 % 37, 'n');  // as build_tree names them
    ASSERT_EQ(0, image_->lookup(bigdir, last.data(), last.size(), &leaf)) << image_->last_error();
    // Through the index the lookup reads a block or two of the listing, not all of it.
    EXPECT_LT(source_->reads - before, 40u);
    EXPECT_EQ(-fs::errno_noent, image_->lookup(bigdir, "entry_02999", 11, &leaf));
    EXPECT_EQ(-fs::errno_noent, image_->lookup(bigdir, "entry_03000_", 12, &leaf));
    EXPECT_EQ(0, image_->lookup(bigdir, "entry_00000_", 12, &leaf)) << image_->last_error();
}

TEST_P(SquashfsImage, DeepPathsAndFailingLookups) {
    sq::Inode at = root_;
    for (int level = 0; level < 60; ++level) {
        std::string name = "d" + std::to_string(level);
        sq::Inode next;
        ASSERT_EQ(0, image_->lookup(at, name.data(), name.size(), &next)) << name << ": " << image_->last_error();
        ASSERT_EQ(sq::Type::directory, next.type);
        at = next;
    }
    sq::Inode leaf, missing;
    ASSERT_EQ(0, image_->lookup(at, "leaf", 4, &leaf));
    EXPECT_EQ(777u, leaf.size);
    EXPECT_EQ(-fs::errno_notdir, image_->lookup(leaf, "x", 1, &missing));
    EXPECT_EQ(-fs::errno_noent, image_->lookup(at, "leaf2", 5, &missing));
    EXPECT_EQ(-fs::errno_noent, image_->lookup(at, "", 0, &missing));
    EXPECT_EQ(-fs::errno_noent, image_->lookup(root_, "d0/d1", 5, &missing));
    EXPECT_EQ(-fs::errno_noent, image_->lookup(root_, "..", 2, &missing));
    std::string too_long(257, 'x');
    EXPECT_EQ(-fs::errno_nametoolong, image_->lookup(root_, too_long.data(), too_long.size(), &missing));
    sq::Entry entry;
    EXPECT_EQ(-fs::errno_inval, image_->readdir(root_, uint64_t(1) << 62, &entry));
    EXPECT_EQ(-fs::errno_inval, image_->readdir(root_, uint64_t(0xffffffff) << 26, &entry));
}

TEST_P(SquashfsImage, ReadsAllocateNothingAfterOpen) {
    size_t memory = image_->memory_used();
    sq::Inode file;
    ASSERT_EQ(0, image_->lookup(root_, "big_text", 8, &file));
    std::vector<uint8_t> buffer(file.size);
    ASSERT_EQ(int64_t(file.size), image_->read(file, 0, buffer.data(), buffer.size()));
    void* pages[3] = {buffer.data(), nullptr, buffer.data() + 8192};
    ASSERT_EQ(0, image_->read_pages(file, 12345, 4096, pages, 3));
    EXPECT_EQ(memory, image_->memory_used());
    if (!image_->caches_data()) {
        // Nothing block-sized: 8 metadata blocks, zlib's state and window, the input buffer,
        // the scratch buffer, the id table; the same whatever the block size (up to 1 MiB here).
        constexpr size_t streaming_bound = 128 * 1024;
        EXPECT_LT(memory, streaming_bound);
    }
    RecordProperty("memory_used", std::to_string(memory));
    printf("%s, %s: reader memory %zu bytes (block size %u)\n", variant().name,
           image_->caches_data() ? "data cache" : "streaming", memory, image_->block_size());
}

// Without a cache a read stops inflating after the bytes it wants: the first page of a
// compressible file reads a fraction of its first block's compressed bytes, the last page of
// the block all of them (and checks the block ends there).
TEST_P(SquashfsImage, StreamingStopsAfterTheWantedBytes) {
    if (image_->caches_data()) GTEST_SKIP() << "streaming only";
    sq::Inode file;
    ASSERT_EQ(0, image_->lookup(root_, "big_text", 8, &file));
    uint32_t block = image_->block_size();
    if (block < 65536 || variant().name == std::string("b1m_uncompressed")) GTEST_SKIP() << "needs big compressed blocks";
    std::vector<uint8_t> page(4096);
    uint64_t before = source_->bytes_read;
    ASSERT_EQ(4096, image_->read(file, 0, page.data(), page.size())) << image_->last_error();
    uint64_t first_page = source_->bytes_read - before;
    // (Another block in between, so that the next read starts the first block afresh rather
    // than going on from where the first page stopped.)
    ASSERT_EQ(4096, image_->read(file, block, page.data(), page.size())) << image_->last_error();
    before = source_->bytes_read;
    ASSERT_EQ(4096, image_->read(file, block - 4096, page.data(), page.size())) << image_->last_error();
    uint64_t last_page = source_->bytes_read - before;
    EXPECT_LT(first_page, last_page) << "the first page's read went on inflating";
}

// Without a cache, reading a block page by page in order goes on where the last read stopped:
// about one pass over its compressed bytes, not one per page (16 or 32 per block here).
TEST_P(SquashfsImage, StreamingPageByPageIsOnePass) {
    if (image_->caches_data()) GTEST_SKIP() << "streaming only";
    sq::Inode file;
    ASSERT_EQ(0, image_->lookup(root_, "big_text", 8, &file));
    uint32_t block = image_->block_size();
    if (block < 65536 || variant().name == std::string("b1m_uncompressed")) GTEST_SKIP() << "needs big compressed blocks";
    std::vector<uint8_t> expected = read_file(source_path("/big_text")), buffer(block);
    uint64_t before = source_->bytes_read;
    ASSERT_EQ(int64_t(block), image_->read(file, block, buffer.data(), block)) << image_->last_error();  // block 1 whole
    uint64_t whole = source_->bytes_read - before;
    before = source_->bytes_read;
    for (uint32_t at = 0; at < block; at += 4096) {
        ASSERT_EQ(4096, image_->read(file, block + at, buffer.data() + at, 4096)) << image_->last_error();
    }
    uint64_t by_page = source_->bytes_read - before;
    EXPECT_TRUE(std::equal(buffer.begin(), buffer.end(), expected.begin() + block));
    EXPECT_LT(by_page, 2 * whole) << "each page inflated the block again from its start";
    // Going back restarts the block, and reads the right bytes.
    ASSERT_EQ(4096, image_->read(file, block + 4096, buffer.data(), 4096)) << image_->last_error();
    EXPECT_TRUE(std::equal(buffer.begin(), buffer.begin() + 4096, expected.begin() + block + 4096));
}

INSTANTIATE_TEST_SUITE_P(Layouts, SquashfsImage, ::testing::Combine(::testing::ValuesIn(variants), ::testing::Values(cached, streaming)),
                         [](const ::testing::TestParamInfo<std::tuple<Variant, unsigned>>& info) {
                             return std::string(std::get<0>(info.param).name) +
                                    (std::get<1>(info.param) ? "_cached" : "_streaming");
                         });

// A sparse 5 GiB file makes a small image; its size needs an extended inode, and a read near
// its end finds the bytes written there (with a data cache and without).
class SquashfsHuge : public ::testing::TestWithParam<unsigned> {};
TEST_P(SquashfsHuge, FileOverFourGiB) {
    TempDir dir;
    std::string root = dir.path() + "/root";
    ASSERT_EQ(0, mkdir(root.c_str(), 0755));
    const uint64_t size = 5ull << 30;
    const uint64_t marker_at = size - 12345;
    const char marker[] = "the end is near";
    int fd = open((root + "/huge").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(0, ftruncate(fd, off_t(size)));
    ASSERT_EQ(ssize_t(sizeof(marker)), pwrite(fd, marker, sizeof(marker), off_t(marker_at)));
    close(fd);
    std::string output;
    ASSERT_TRUE(mksquashfs(root, dir.path() + "/huge.img", {"-b", "1M"}, &output)) << output;
    MemorySource source(read_file(dir.path() + "/huge.img"));
    EXPECT_LT(source.size(), 1u << 20) << "the holes should be sparse blocks";
    char error[160];
    sq::Image* opened;
    sq::Options options;
    options.data_cache_blocks = GetParam();
    ASSERT_EQ(0, sq::Image::open(source, options, &opened, error, sizeof(error))) << error;
    std::unique_ptr<sq::Image> image(opened);
    sq::Inode root_inode, huge;
    ASSERT_EQ(0, image->root(&root_inode));
    ASSERT_EQ(0, image->lookup(root_inode, "huge", 4, &huge)) << image->last_error();
    EXPECT_EQ(size, huge.size);
    char buffer[100];
    ASSERT_EQ(int64_t(sizeof(buffer)), image->read(huge, marker_at - 50, buffer, sizeof(buffer))) << image->last_error();
    for (int i = 0; i < 50; ++i) EXPECT_EQ(0, buffer[i]);
    EXPECT_EQ(0, memcmp(buffer + 50, marker, sizeof(marker)));
    std::vector<char> tail(20000);
    ASSERT_EQ(12345, image->read(huge, marker_at, tail.data(), tail.size()));  // short: the end of the file
    EXPECT_EQ(0, memcmp(tail.data(), marker, sizeof(marker)));
    ASSERT_EQ(int64_t(sizeof(buffer)), image->read(huge, 3ull << 30, buffer, sizeof(buffer)));
    for (char c : buffer) EXPECT_EQ(0, c);
    EXPECT_EQ(0, image->read(huge, size, buffer, 1));
    // Pages across the marker and past the end: the hole's zeros, the marker, zeros after it.
    std::vector<uint8_t> pages(3 * 4096, 0xee);
    void* list[3] = {&pages[0], &pages[4096], &pages[8192]};
    uint64_t first = (marker_at & ~uint64_t(4095)) - 4096;
    ASSERT_EQ(0, image->read_pages(huge, first, 4096, list, 3)) << image->last_error();
    for (uint64_t i = 0; i < pages.size(); ++i) {
        uint64_t at = first + i;
        uint8_t want = at >= marker_at && at < marker_at + sizeof(marker) ? uint8_t(marker[at - marker_at]) : 0;
        ASSERT_EQ(want, pages[i]) << "at " << at;
    }
}
INSTANTIATE_TEST_SUITE_P(Modes, SquashfsHuge, ::testing::Values(cached, streaming),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                             return std::string(info.param ? "cached" : "streaming");
                         });

}  // namespace
