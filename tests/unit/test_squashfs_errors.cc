// Images the reader must refuse, with a message naming the problem: not squashfs at all
// (random bytes, an ext2 filesystem, a cpio archive), truncated, another compressor, another
// version, a bad block size.
#include <gtest/gtest.h>
#include <mica/fs/abi.h>
#include <sys/stat.h>

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

TEST_F(SquashfsErrors, MissingMksquashfsIsAFailureNotASkip) {
    // make check installs squashfs-tools (tools/install-deps): the reader's tests need it.
    ASSERT_STRNE("", MICA_MKSQUASHFS) << "mksquashfs is missing: run tools/install-deps";
}

}  // namespace
