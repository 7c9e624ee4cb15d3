// squashfs as a mounted file system (fs/squashfs_vfs.cc): an image mksquashfs made, mounted
// as the VFS root; lookups and ".." across directories, readdir with "." and "..", file data
// through the page cache, one vnode per inode, read-only answers, pages for mappings
// (prepare_pages, and the pager that faults use), a corrupt data block reported, and
// everything given back at unmount; with the reader's data block cache and without it
// (streaming, as on small machines), where a miss fills its block's pages in one pass.
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <mica/fs/file.h>
#include <mica/fs/page_cache.h>
#include <mica/fs/squashfs_vfs.h>
#include <mica/fs/vfs.h>
#include <string.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "squashfs_fixture.h"

namespace mica::fs {
extern long host_data_pages_live;
}

namespace {

using namespace mica::fs;
using squashfs_test::MemorySource;
using squashfs_test::TempDir;

std::vector<std::string> reports;
void record_report(const char* message) { reports.emplace_back(message); }
int lock_depth = 0, max_lock_depth = 0, locks_taken = 0;
void test_lock(void*) {
    ++locks_taken;
    if (++lock_depth > max_lock_depth) max_lock_depth = lock_depth;
}
void test_unlock(void*) { --lock_depth; }

// A file of `size` bytes whose byte i is a function of i and the seed.
std::string pattern(size_t size, unsigned seed) {
    std::string s(size, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; ++i) {
        x = x * 1103515245u + 12345u;
        s[i] = static_cast<char>(x >> 16);
    }
    return s;
}

void write(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary);
    out << data;
}

// The parameter: Options::data_cache_blocks (2: the default, 0: streaming).
class SquashfsMount : public ::testing::TestWithParam<unsigned> {
protected:
    void SetUp() override {
        pages_before = host_data_pages_live;
        const std::string& root = dir.path();
        ASSERT_EQ(::mkdir((root + "/tree").c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((root + "/tree/bin").c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((root + "/tree/etc").c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((root + "/tree/etc/deep").c_str(), 0700), 0);
        write(root + "/tree/bin/program", pattern(300 * 1024 + 123, 1));
        write(root + "/tree/etc/small", "hello, disk\n");
        std::string text;
        while (text.size() < 100 * 1024) text += "a compressible line of text, " + std::to_string(text.size()) + "\n";
        write(root + "/tree/etc/text", text);
        write(root + "/tree/etc/empty", "");
        write(root + "/tree/etc/deep/page", pattern(4096, 2));
        ASSERT_EQ(::symlink("../bin/program", (root + "/tree/etc/link").c_str()), 0);
        std::string output;
        image_path = root + "/image.sqfs";
        ASSERT_TRUE(squashfs_test::mksquashfs(root + "/tree", image_path, {"-b", "65536", "-all-root"}, &output))
            << output;
        mount(squashfs_test::read_file(image_path));
    }
    void mount(std::vector<uint8_t> bytes) {
        source = new MemorySource(std::move(bytes));
        squashfs::Image* image = nullptr;
        char error[200] = "";
        squashfs::Options options;
        options.data_cache_blocks = GetParam();
        ASSERT_EQ(squashfs::Image::open(*source, options, &image, error, sizeof error), 0) << error;
        FileSystem* fs = nullptr;
        SquashfsLock lock{test_lock, test_unlock, nullptr};
        ASSERT_EQ(squashfs_create(nullptr, image, source, true, cache, lock, record_report, &fs, error, sizeof error),
                  0)
            << error;
        ASSERT_EQ(vfs.mount_instance(fs, &squashfs_type, nullptr, "/"), 0);
    }
    void TearDown() override {
        vfs.~Vfs();
        new (&vfs) Vfs(nullptr);
        EXPECT_EQ(cache.stats().pages, 0u);
        EXPECT_EQ(host_data_pages_live, pages_before);
        EXPECT_EQ(lock_depth, 0);
    }
    Vnode* node(const char* path, bool follow = true) {
        Vnode* v = nullptr;
        EXPECT_EQ(vfs.lookup(nullptr, path, follow, &v), 0) << path;
        return v;
    }
    std::string read_all(const char* path) {
        OpenFile* file = nullptr;
        EXPECT_EQ(vfs.open(nullptr, path, o_rdonly, 0, &file), 0) << path;
        if (!file) return "";
        std::string out;
        char buffer[5000];  // not a multiple of the page size
        for (;;) {
            int64_t n = file->read(buffer, sizeof buffer);
            EXPECT_GE(n, 0);
            if (n <= 0) break;
            out.append(buffer, static_cast<size_t>(n));
        }
        file->unref();
        return out;
    }

    long pages_before = 0;
    TempDir dir;
    std::string image_path;
    PageCache cache{PageCache::min_limit};
    MemorySource* source = nullptr;
    Vfs vfs{nullptr};
};

TEST_P(SquashfsMount, LooksUpReadsAndListsLikeTheTree) {
    EXPECT_EQ(read_all("/etc/small"), "hello, disk\n");
    EXPECT_EQ(read_all("/etc/empty"), "");
    EXPECT_EQ(read_all("/bin/program"), pattern(300 * 1024 + 123, 1));
    EXPECT_EQ(read_all("/etc/link"), pattern(300 * 1024 + 123, 1));  // through the symlink
    EXPECT_EQ(read_all("/etc/deep/../deep/./page"), pattern(4096, 2));
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/etc/deep", true, &st), 0);
    EXPECT_EQ(st.st_mode, S_IFDIR | 0700u);
    ASSERT_EQ(vfs.stat(nullptr, "/bin/program", true, &st), 0);
    EXPECT_EQ(st.st_size, 300 * 1024 + 123);
    EXPECT_EQ(st.st_mode & S_IFMT, static_cast<uint32_t>(S_IFREG));
    ASSERT_EQ(vfs.stat(nullptr, "/etc/link", false, &st), 0);
    EXPECT_EQ(st.st_mode & S_IFMT, static_cast<uint32_t>(S_IFLNK));
    char target[64];
    ASSERT_EQ(vfs.readlink(nullptr, "/etc/link", target, sizeof target), 14);
    EXPECT_EQ(std::string(target, 14), "../bin/program");
    // ".." of a directory, and of the root (itself).
    Vnode* etc = node("/etc");
    Vnode* up = nullptr;
    ASSERT_EQ(vfs.lookup(etc, "..", true, &up), 0);
    EXPECT_EQ(up, vfs.root());
    up->unref();
    // readdir: ".", "..", then the entries in mksquashfs's (sorted) order.
    std::vector<std::string> names;
    std::set<uint64_t> inos;
    DirEntry e;
    for (uint64_t cookie = 0; etc->readdir(cookie, &e) == 1; cookie = e.next_cookie) {
        names.emplace_back(e.name);
        if (names.size() == 2) EXPECT_EQ(e.ino, vfs.root()->ino);
    }
    EXPECT_EQ(names, (std::vector<std::string>{".", "..", "deep", "empty", "link", "small", "text"}));
    etc->unref();
    // Missing names and files used as directories.
    Vnode* v = nullptr;
    EXPECT_EQ(vfs.lookup(nullptr, "/etc/missing", true, &v), -errno_noent);
    EXPECT_EQ(vfs.lookup(nullptr, "/etc/small/x", true, &v), -errno_notdir);
}

TEST_P(SquashfsMount, CachedPagesOutliveTheLastClose) {
    EXPECT_EQ(read_all("/etc/text"), read_all("/etc/text"));
    uint64_t misses = cache.stats().misses;
    EXPECT_GT(misses, 0u);
    EXPECT_GT(cache.stats().hits, 0u);
    read_all("/etc/text");  // closed in between: the same vnode, the same pages
    EXPECT_EQ(cache.stats().misses, misses);
}

TEST_P(SquashfsMount, AMissReadsTheRestOfItsBlock) {
    OpenFile* file = nullptr;
    ASSERT_EQ(vfs.open(nullptr, "/bin/program", o_rdonly, 0, &file), 0);
    char byte;
    ASSERT_EQ(file->pread(&byte, 1, 5 * 4096 + 7), 1);  // page 5 of the 64 KiB block 0
    EXPECT_EQ(cache.stats().pages, 16u);                // the block's 16 pages
    uint64_t misses = cache.stats().misses;
    char buffer[4096];
    for (uint64_t i = 0; i < 16; ++i) ASSERT_EQ(file->pread(buffer, sizeof buffer, static_cast<int64_t>(i * 4096)), 4096);
    EXPECT_EQ(cache.stats().misses, misses);            // all there
    ASSERT_EQ(file->pread(&byte, 1, 16 * 4096), 1);     // the next block
    EXPECT_EQ(cache.stats().pages, 32u);
    file->unref();
}

// A miss on a compressible file reads the block's compressed bytes once for its 16 pages:
// a few reads of the source (the block list, an 8 KiB piece of input), where filling the pages
// one at a time without a data cache would inflate the block again for each.
TEST_P(SquashfsMount, AMissIsOnePassOverItsBlock) {
    OpenFile* file = nullptr;
    ASSERT_EQ(vfs.open(nullptr, "/etc/text", o_rdonly, 0, &file), 0);
    uint64_t reads = source->reads;
    char byte;
    ASSERT_EQ(file->pread(&byte, 1, 3 * 4096 + 1), 1);
    EXPECT_EQ(cache.stats().pages, 16u);
    EXPECT_LT(source->reads - reads, 8u);
    std::string text = read_all("/etc/text");
    EXPECT_EQ(byte, text[3 * 4096 + 1]);
    file->unref();
}

TEST_P(SquashfsMount, OneVnodePerInodeWhileReferenced) {
    Vnode* a = node("/bin/program");
    Vnode* b = node("/etc/link");  // followed: the same file
    EXPECT_EQ(a, b);
    a->unref();
    b->unref();
}

TEST_P(SquashfsMount, NothingChangesOnAReadOnlyFileSystem) {
    OpenFile* file = nullptr;
    EXPECT_EQ(vfs.open(nullptr, "/etc/small", o_wronly, 0, &file), -errno_rofs);
    EXPECT_EQ(vfs.open(nullptr, "/etc/small", o_rdwr, 0, &file), -errno_rofs);
    EXPECT_EQ(vfs.open(nullptr, "/etc/new", o_wronly | o_creat, 0644, &file), -errno_rofs);
    EXPECT_EQ(vfs.open(nullptr, "/etc", o_rdwr, 0, &file), -errno_isdir);
    EXPECT_EQ(vfs.mkdir(nullptr, "/etc/dir", 0755), -errno_rofs);
    EXPECT_EQ(vfs.mkdir(nullptr, "/etc/deep", 0755), -errno_exist);  // exists: Linux's order
    EXPECT_EQ(vfs.unlink(nullptr, "/etc/small"), -errno_rofs);
    EXPECT_EQ(vfs.rmdir(nullptr, "/etc/deep"), -errno_rofs);
    EXPECT_EQ(vfs.symlink("x", nullptr, "/etc/s"), -errno_rofs);
    EXPECT_EQ(vfs.rename(nullptr, "/etc/small", nullptr, "/etc/other"), -errno_rofs);
    EXPECT_EQ(vfs.truncate(nullptr, "/etc/small", 0), -errno_rofs);
    EXPECT_TRUE(vfs.root()->fs->read_only);
    EXPECT_EQ(read_all("/etc/small"), "hello, disk\n");
}

TEST_P(SquashfsMount, FilePagesComeFromThePageCacheOnce) {
    std::string expected = pattern(300 * 1024 + 123, 1);
    EXPECT_EQ(read_all("/bin/program"), expected);
    uint64_t misses = cache.stats().misses;
    EXPECT_EQ(misses, (expected.size() + 4095) / 4096);
    EXPECT_EQ(read_all("/bin/program"), expected);  // the cache holds at most 64 unmapped pages
    Vnode* program = node("/bin/program");
    ASSERT_TRUE(program->has_mappable_pages());
    // Mapping: prepared pages are there to map, with the file's bytes and zeros past its end.
    uint64_t last = expected.size() / 4096;
    ASSERT_EQ(program->prepare_pages(last - 3, 4), 0);
    for (uint64_t i = last - 3; i <= last; ++i) {
        auto* page = static_cast<const char*>(program->mappable_page(i));
        ASSERT_NE(page, nullptr);
        size_t n = std::min<size_t>(4096, expected.size() - i * 4096);
        EXPECT_EQ(std::string(page, n), expected.substr(i * 4096, n));
        if (n < 4096) EXPECT_EQ(page[n], 0);
    }
    // The pager faults use: read=false gives only what is cached, read=true reads the rest.
    mica::mm::FilePager* pager = program->pager();
    ASSERT_NE(pager, nullptr);
    EXPECT_EQ(pager, program->pager());  // pinned once
    EXPECT_EQ(pager->page_count(), last + 1);
    struct Seen {
        std::vector<const void*> pages;
    } seen;
    auto collect = [](void* const* pages, size_t count, void* context) {
        auto* s = static_cast<Seen*>(context);
        for (size_t i = 0; i < count; ++i) s->pages.push_back(pages[i]);
    };
    int before = locks_taken;
    ASSERT_EQ(pager->with_pages(last - 1, 4, false, collect, &seen), 0);
    ASSERT_EQ(seen.pages.size(), 4u);
    EXPECT_NE(seen.pages[0], nullptr);  // prepared above
    EXPECT_EQ(seen.pages[2], nullptr);  // past the end
    EXPECT_GT(locks_taken, before);
    EXPECT_EQ(max_lock_depth, 1);
    seen.pages.clear();
    ASSERT_EQ(pager->with_pages(0, 40, true, collect, &seen), 0);  // more than a chunk
    ASSERT_EQ(seen.pages.size(), 40u);
    for (size_t i = 0; i < 40; ++i) {
        ASSERT_NE(seen.pages[i], nullptr);
        EXPECT_EQ(memcmp(seen.pages[i], expected.data() + i * 4096, 4096), 0) << i;
    }
    program->unref();
}

TEST_P(SquashfsMount, ACorruptDataBlockIsAnIoErrorAndSaysWhich) {
    // Unmount the good image, then mount a copy whose file data (from the superblock's end to
    // the inode table, whose offset the superblock holds at byte 64) is overwritten: the
    // compressed blocks no longer inflate. (Uncompressed blocks would read as the garbage
    // they now hold: squashfs has no checksums, as on Linux.)
    vfs.~Vfs();
    new (&vfs) Vfs(nullptr);
    std::vector<uint8_t> bytes = squashfs_test::read_file(image_path);
    uint64_t inode_table = 0;
    memcpy(&inode_table, bytes.data() + 64, sizeof inode_table);
    ASSERT_LT(inode_table, bytes.size());
    for (size_t i = 96; i < inode_table; ++i) bytes[i] = static_cast<uint8_t>(i * 7);
    mount(std::move(bytes));
    reports.clear();
    OpenFile* file = nullptr;
    ASSERT_EQ(vfs.open(nullptr, "/etc/text", o_rdonly, 0, &file), 0);
    char buffer[4096];
    EXPECT_EQ(file->read(buffer, sizeof buffer), -errno_io);
    file->unref();
    ASSERT_FALSE(reports.empty());
    EXPECT_NE(reports[0].find("squashfs: inode"), std::string::npos) << reports[0];
}

INSTANTIATE_TEST_SUITE_P(DataCache, SquashfsMount, ::testing::Values(2u, 0u),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                             return std::string(info.param ? "cached" : "streaming");
                         });

}  // namespace
