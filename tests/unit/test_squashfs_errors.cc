// Images the reader must refuse, with a message naming the problem: not squashfs at all
// (random bytes, an ext2 filesystem, a cpio archive), truncated, another compressor, another
// version, a bad block size.
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <random>

#include "squashfs_fixture.h"

namespace {

using namespace squashfs_test;

std::string open_error(std::vector<uint8_t> bytes, int expected = -mica::fs::errno_inval) {
    MemorySource source(std::move(bytes));
    char error[160] = "unset";
    sq::Image* image = nullptr;
    int r = sq::Image::open(source, sq::Options{}, &image, error, sizeof(error));
    EXPECT_EQ(expected, r) << error;
    EXPECT_EQ(nullptr, image);
    delete image;
    return error;
}

class SquashfsErrors : public ::testing::Test {
protected:
    void SetUp() override {
        std::string root = dir_.path() + "/root";
        ASSERT_EQ(0, mkdir(root.c_str(), 0755));
        build_small_tree(root);
    }
    std::vector<uint8_t> image(const std::vector<std::string>& args) {
        std::string path = dir_.path() + "/image.img";
        std::string output;
        EXPECT_TRUE(mksquashfs(dir_.path() + "/root", path, args, &output)) << output;
        return read_file(path);
    }
    TempDir dir_;
};

TEST_F(SquashfsErrors, RandomBytesAreNotSquashfs) {
    std::mt19937 rng(7);
    std::vector<uint8_t> bytes(65536);
    for (auto& b : bytes) b = uint8_t(rng());
    EXPECT_NE(std::string::npos, open_error(bytes).find("not a squashfs image (magic"));
}

TEST_F(SquashfsErrors, Ext2IsNotSquashfs) {
    std::string path = dir_.path() + "/ext2.img";
    std::string command = "dd if=/dev/zero of='" + path + "' bs=1024 count=1024 2>/dev/null && "
                          "PATH=$PATH:/sbin:/usr/sbin mke2fs -q -F -t ext2 '" + path + "' >/dev/null 2>&1";
    if (system(command.c_str()) != 0) GTEST_SKIP() << "mke2fs (e2fsprogs) is missing";
    std::vector<uint8_t> bytes = read_file(path);
    ASSERT_EQ(0xef53, bytes[1080] | bytes[1081] << 8);  // it is ext2
    EXPECT_NE(std::string::npos, open_error(bytes).find("not a squashfs image"));
}

TEST_F(SquashfsErrors, CpioIsNotSquashfs) {
    std::string path = dir_.path() + "/archive.cpio";
    std::string command = "cd '" + dir_.path() + "/root' && find . | cpio -o -H newc --quiet > '" + path + "'";
    ASSERT_EQ(0, system(command.c_str())) << "cpio is missing (tools/install-deps)";
    std::vector<uint8_t> bytes = read_file(path);
    ASSERT_EQ(0, memcmp(bytes.data(), "070701", 6));
    EXPECT_NE(std::string::npos, open_error(bytes).find("not a squashfs image"));
}

TEST_F(SquashfsErrors, TooShortOrTruncated) {
    std::vector<uint8_t> valid = image({});
    EXPECT_NE(std::string::npos, open_error({}).find("truncated: 0 bytes"));
    EXPECT_NE(std::string::npos, open_error(std::vector<uint8_t>(valid.begin(), valid.begin() + 50)).find("truncated"));
    for (size_t keep : {size_t(96), size_t(4096), valid.size() / 2, size_t(valid[40] | valid[41] << 8) - 1}) {
        std::string error = open_error(std::vector<uint8_t>(valid.begin(), valid.begin() + keep));
        EXPECT_NE(std::string::npos, error.find("truncated: the superblock says")) << keep << ": " << error;
    }
}

TEST_F(SquashfsErrors, OtherCompressorsAreNamed) {
    for (const char* compressor : {"xz", "lzo", "lz4", "zstd", "lzma"}) {
        std::string path = dir_.path() + "/" + compressor + ".img";
        std::string output;
        if (!mksquashfs(dir_.path() + "/root", path, {"-comp", compressor}, &output)) {
            // Debian's squashfs-tools has xz and lzo; the others may be left out of a build.
            EXPECT_STRNE("xz", compressor) << output;
            EXPECT_STRNE("lzo", compressor) << output;
            continue;
        }
        std::string error = open_error(read_file(path));
        EXPECT_NE(std::string::npos, error.find(std::string("compression ") + compressor)) << error;
        EXPECT_NE(std::string::npos, error.find("only zlib (gzip) is supported")) << error;
    }
}

TEST_F(SquashfsErrors, VersionAndBlockSize) {
    std::vector<uint8_t> bad = image({});
    bad[28] = 3;  // major version
    EXPECT_NE(std::string::npos, open_error(bad).find("squashfs version 3.0: only 4.0 is supported"));
    bad = image({});
    bad[12] = 1;  // block size 128 KiB + 1
    EXPECT_NE(std::string::npos, open_error(bad).find("block size"));
    bad = image({});
    bad[22] = 16;  // block log disagrees with 128 KiB
    EXPECT_NE(std::string::npos, open_error(bad).find("block log 16"));
}

// A file whose inode says another size than its blocks hold: its last data block inflates
// to more or fewer bytes than the size gives it. With a data cache and streaming, reading that
// block to its end (read, read_pages) is -EIO naming the block; the first block still reads.
TEST_F(SquashfsErrors, ADataBlockOfTheWrongSizeIsAnIoError) {
    constexpr uint32_t real_size = 200000, block = 131072;
    std::string tree = dir_.path() + "/sized";
    ASSERT_EQ(0, mkdir(tree.c_str(), 0755));
    std::string text;
    while (text.size() < real_size) text += "line " + std::to_string(text.size()) + " of a compressible file\n";
    text.resize(real_size);
    FILE* f = fopen((tree + "/file").c_str(), "wb");
    ASSERT_NE(nullptr, f);
    ASSERT_EQ(text.size(), fwrite(text.data(), 1, text.size(), f));
    fclose(f);
    std::string path = dir_.path() + "/sized.img", output;
    ASSERT_TRUE(mksquashfs(tree, path, {"-b", "128K", "-noI", "-no-fragments"}, &output)) << output;
    std::vector<uint8_t> valid = read_file(path);
    // The basic file inode (uncompressed inode table): fragment none, offset 0, then the size.
    const uint8_t tail[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, uint8_t(real_size), uint8_t(real_size >> 8),
                            uint8_t(real_size >> 16), uint8_t(real_size >> 24)};
    auto at = std::search(valid.begin(), valid.end(), std::begin(tail), std::end(tail));
    ASSERT_NE(valid.end(), at) << "no basic file inode of " << real_size << " bytes";
    size_t size_at = size_t(at - valid.begin()) + 8;
    for (uint32_t lie : {block + 10, 2 * block}) {  // block 1 inflates to more, to fewer bytes
        std::vector<uint8_t> bytes = valid;
        for (int i = 0; i < 4; ++i) bytes[size_at + i] = uint8_t(lie >> (8 * i));
        for (unsigned data_cache : {2u, 0u}) {
            SCOPED_TRACE("size " + std::to_string(lie) + (data_cache ? ", cached" : ", streaming"));
            MemorySource source(bytes);
            sq::Options options;
            options.data_cache_blocks = data_cache;
            char error[160];
            sq::Image* opened = nullptr;
            ASSERT_EQ(0, sq::Image::open(source, options, &opened, error, sizeof(error))) << error;
            std::unique_ptr<sq::Image> image(opened);
            sq::Inode root, file;
            ASSERT_EQ(0, image->root(&root));
            ASSERT_EQ(0, image->lookup(root, "file", 4, &file)) << image->last_error();
            ASSERT_EQ(lie, file.size);
            std::vector<uint8_t> buffer(lie + 4096);  // whole pages
            ASSERT_EQ(4096, image->read(file, 0, buffer.data(), 4096)) << image->last_error();
            EXPECT_EQ(0, memcmp(buffer.data(), text.data(), 4096));
            EXPECT_EQ(-mica::fs::errno_io, image->read(file, 0, buffer.data(), lie));
            EXPECT_NE(nullptr, strstr(image->last_error(), "corrupt")) << image->last_error();
            std::vector<void*> pages;
            for (size_t page = block; page < lie; page += 4096) pages.push_back(buffer.data() + page);
            EXPECT_EQ(-mica::fs::errno_io, image->read_pages(file, block, 4096, pages.data(), unsigned(pages.size())));
            EXPECT_NE(nullptr, strstr(image->last_error(), "block at")) << image->last_error();
        }
    }
}

TEST_F(SquashfsErrors, MissingMksquashfsIsAFailureNotASkip) {
    // make check installs squashfs-tools (tools/install-deps): the reader's tests need it.
    ASSERT_STRNE("", MICA_MKSQUASHFS) << "mksquashfs is missing: run tools/install-deps";
}

}  // namespace
