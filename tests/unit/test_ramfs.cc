// ramfs (fs/ramfs.cc) through the VFS: file data, holes, times, link counts, readdir cookies
// and unlinked-but-open files.
#include <algorithm>
#include <random>
#include <set>
#include <string>

#include "fs_fixture.h"

using namespace fs_test;

namespace {

// A file's page index is one kernel heap allocation: past what it can index (2 GiB) a file is
// EFBIG, not ENOMEM (which sent users looking for memory the machine had). Sparse: only the
// last page is allocated.
TEST_F(VfsTest, FilesStopAtTheLargestAllocationWithEfbig) {
    OpenFile* f;
    ASSERT_EQ(vfs.open(nullptr, "/big", o_rdwr | o_creat, 0644, &f), 0);
    EXPECT_EQ(f->pwrite("x", 1, ramfs_max_file_bytes - 1), 1);
    EXPECT_EQ(f->vnode()->size, ramfs_max_file_bytes);
    EXPECT_EQ(f->pwrite("yz", 2, ramfs_max_file_bytes - 1), -errno_fbig);
    EXPECT_EQ(f->truncate(ramfs_max_file_bytes + 1), -errno_fbig);
    EXPECT_EQ(f->vnode()->size, ramfs_max_file_bytes);
    f->unref();
}

// fallocate as tmpfs: mode 0 extends the size, KEEP_SIZE does not, PUNCH_HOLE zeroes; the
// filesystem says it is tmpfs (statfs), and only regular files take fallocate.
TEST_F(VfsTest, FallocateAllocatesExtendsAndPunches) {
    constexpr int keep_size = 1, punch_hole = 2;
    ASSERT_EQ(write_file("/f", "abcdefgh"), 0);
    Vnode* v = node("/f");
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->fs->type, &ramfs_type);
    EXPECT_EQ(v->fs->type->magic, tmpfs_magic);
    fake_now = Timespec{2000, 0};
    EXPECT_EQ(v->fallocate(0, 4, 8192), 0);
    EXPECT_EQ(v->size, 8196u);
    EXPECT_EQ(v->mtime.sec, 2000);
    EXPECT_EQ(v->fallocate(keep_size, 8196, 4096), 0);
    EXPECT_EQ(v->size, 8196u);
    EXPECT_EQ(v->fallocate(punch_hole | keep_size, 2, 3), 0);
    EXPECT_EQ(read_file("/f").substr(0, 8), std::string("ab\0\0\0fgh", 8));
    EXPECT_EQ(v->size, 8196u);
    EXPECT_EQ(v->fallocate(0, ramfs_max_file_bytes, 1), -errno_fbig);
    // Appending keeps the pages KEEP_SIZE put past the end, and reads stay zeros there.
    ASSERT_EQ(write_file("/f", "tail", o_wronly | o_append), 0);
    EXPECT_EQ(v->size, 8200u);
    EXPECT_EQ(read_file("/f").substr(8196), "tail");
    Vnode* root = node("/");
    EXPECT_EQ(root->fallocate(0, 0, 1), -errno_opnotsupp);
    root->unref();
    v->unref();
}

TEST_F(VfsTest, FileDataGrowsAndHolesReadAsZeros) {
    OpenFile* f;
    ASSERT_EQ(vfs.open(nullptr, "/f", o_rdwr | o_creat, 0644, &f), 0);
    EXPECT_EQ(f->pwrite("end", 3, 10000), 3);
    EXPECT_EQ(f->vnode()->size, 10003u);
    std::string content(10003, '?');
    EXPECT_EQ(f->pread(content.data(), content.size(), 0), 10003);
    EXPECT_EQ(content, std::string(10000, '\0') + "end");
    // Shrink, then grow again: the old bytes must not come back.
    EXPECT_EQ(f->truncate(2), 0);
    EXPECT_EQ(f->truncate(5), 0);
    char five[5];
    EXPECT_EQ(f->pread(five, 5, 0), 5);
    EXPECT_EQ(std::string(five, 5), std::string(5, '\0'));
    EXPECT_EQ(f->pread(five, 5, 5), 0);  // at the end
    EXPECT_EQ(f->truncate(-1), -errno_inval);
    // Many small appends.
    EXPECT_EQ(f->truncate(0), 0);
    std::string expected;
    for (int i = 0; i < 3000; ++i) {
        std::string piece = std::to_string(i) + ",";
        ASSERT_EQ(f->write(piece.data(), piece.size()), static_cast<int64_t>(piece.size()));
        expected += piece;
    }
    f->unref();
    EXPECT_EQ(read_file("/f"), expected);
    EXPECT_EQ(vfs.truncate(nullptr, "/f", 3), 0);
    EXPECT_EQ(read_file("/f"), "0,1");
    EXPECT_EQ(vfs.truncate(nullptr, "/", 3), -errno_isdir);
}

TEST_F(VfsTest, TimesComeFromTheClock) {
    fake_now = Timespec{100, 1};
    ASSERT_EQ(vfs.mkdir(nullptr, "/d", 0755), 0);
    fake_now = Timespec{200, 2};
    ASSERT_EQ(write_file("/d/f", "x"), 0);
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/d", true, &st), 0);
    EXPECT_EQ(st.st_mtime_sec, 200u);  // a new entry modifies the directory
    EXPECT_EQ(st.st_mtime_nsec, 2u);
    fake_now = Timespec{300, 3};
    OpenFile* f;
    ASSERT_EQ(vfs.open(nullptr, "/d/f", o_wronly, 0, &f), 0);
    ASSERT_EQ(f->write("y", 1), 1);
    f->unref();
    ASSERT_EQ(vfs.stat(nullptr, "/d/f", true, &st), 0);
    EXPECT_EQ(st.st_mtime_sec, 300u);
    EXPECT_EQ(st.st_ctime_sec, 300u);
    EXPECT_EQ(st.st_atime_sec, 200u);
    ASSERT_EQ(vfs.stat(nullptr, "/d", true, &st), 0);
    EXPECT_EQ(st.st_mtime_sec, 200u);  // writing a file leaves its directory alone
}

TEST_F(VfsTest, DirectoryLinkCounts) {
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 2u);
    ASSERT_EQ(vfs.mkdir(nullptr, "/a", 0755), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/b", 0755), 0);
    ASSERT_EQ(write_file("/c", ""), 0);
    ASSERT_EQ(vfs.stat(nullptr, "/", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 4u);
    ASSERT_EQ(vfs.stat(nullptr, "/a", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 2u);
    EXPECT_EQ(st.st_mode, s_ifdir | 0755);
    ASSERT_EQ(vfs.rmdir(nullptr, "/b"), 0);
    ASSERT_EQ(vfs.stat(nullptr, "/", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 3u);
}

TEST_F(VfsTest, UnlinkedFileStaysReadableWhileOpen) {
    ASSERT_EQ(write_file("/tmpfile", "still here"), 0);
    OpenFile* f;
    ASSERT_EQ(vfs.open(nullptr, "/tmpfile", o_rdwr, 0, &f), 0);
    ASSERT_EQ(vfs.unlink(nullptr, "/tmpfile"), 0);
    EXPECT_EQ(lookup_error("/tmpfile"), -errno_noent);
    EXPECT_EQ(f->vnode()->nlink, 0u);
    char buffer[32];
    EXPECT_EQ(f->read(buffer, sizeof buffer), 10);
    EXPECT_EQ(std::string(buffer, 10), "still here");
    EXPECT_EQ(f->write("!", 1), 1);
    EXPECT_EQ(f->pread(buffer, sizeof buffer, 0), 11);
    // A new file of the same name is a different file.
    ASSERT_EQ(write_file("/tmpfile", "new"), 0);
    EXPECT_NE(ino("/tmpfile"), f->vnode()->ino);
    EXPECT_EQ(f->vnode()->references(), 1u);  // only the open file keeps it
    f->unref();                                // freed here (ASan would catch a leak or a reuse)
    EXPECT_EQ(read_file("/tmpfile"), "new");
    // Same for a file replaced by rename.
    ASSERT_EQ(write_file("/other", "other"), 0);
    ASSERT_EQ(vfs.open(nullptr, "/tmpfile", o_rdonly, 0, &f), 0);
    ASSERT_EQ(vfs.rename(nullptr, "/other", nullptr, "/tmpfile"), 0);
    EXPECT_EQ(f->read(buffer, sizeof buffer), 3);
    f->unref();
}

TEST_F(VfsTest, ReaddirListsInInsertionOrderWithTypes) {
    ASSERT_EQ(vfs.mkdir(nullptr, "/d", 0755), 0);
    ASSERT_EQ(write_file("/d/zeta", ""), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/d/alpha", 0755), 0);
    ASSERT_EQ(vfs.symlink("zeta", nullptr, "/d/link"), 0);
    OpenFile* f;
    ASSERT_EQ(vfs.open(nullptr, "/d", o_rdonly | o_directory, 0, &f), 0);
    alignas(8) char buffer[1024];
    int64_t n = f->getdents64(buffer, sizeof buffer);
    ASSERT_GT(n, 0);
    std::vector<std::pair<std::string, int>> seen;
    for (int64_t at = 0; at < n;) {
        auto* d = reinterpret_cast<LinuxDirent64*>(buffer + at);
        EXPECT_EQ(d->d_reclen % 8, 0);
        EXPECT_NE(d->d_ino, 0u);
        seen.emplace_back(d->d_name, d->d_type);
        at += d->d_reclen;
    }
    std::vector<std::pair<std::string, int>> expected{
        {".", dt_dir}, {"..", dt_dir}, {"zeta", dt_reg}, {"alpha", dt_dir}, {"link", dt_lnk}};
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(f->getdents64(buffer, sizeof buffer), 0);  // the end
    EXPECT_EQ(f->seek(0, seek_set), 0);                  // rewinddir
    EXPECT_EQ(f->getdents64(buffer, 10), -errno_inval);  // not even one record fits
    EXPECT_GT(f->getdents64(buffer, 24), 0);             // exactly "."
    EXPECT_EQ(f->seek(0, seek_end), -errno_inval);
    char byte;
    EXPECT_EQ(f->read(&byte, 1), -errno_isdir);
    f->unref();
    ASSERT_EQ(vfs.open(nullptr, "/d/zeta", o_rdonly, 0, &f), 0);
    EXPECT_EQ(f->getdents64(buffer, sizeof buffer), -errno_notdir);
    f->unref();
}

// Entries removed during a listing are not returned afterwards, the others exactly once,
// whatever else is added or removed in between (the cookie is the entry's sequence number).
TEST_F(VfsTest, ReaddirCookiesSurviveModifications) {
    ASSERT_EQ(vfs.mkdir(nullptr, "/d", 0755), 0);
    std::set<std::string> present;
    for (int i = 0; i < 50; ++i) {
        std::string name = "/d/f" + std::to_string(i);
        ASSERT_EQ(write_file(name.c_str(), ""), 0);
        present.insert("f" + std::to_string(i));
    }
    std::mt19937 random(7);
    OpenFile* f;
    ASSERT_EQ(vfs.open(nullptr, "/d", o_rdonly, 0, &f), 0);
    std::multiset<std::string> listed;
    std::set<std::string> removed_during, always_there = present;
    alignas(8) char buffer[64];  // one or two records per call
    int added = 0;
    for (;;) {
        int64_t n = f->getdents64(buffer, sizeof buffer);
        ASSERT_GE(n, 0);
        if (n == 0) break;
        for (int64_t at = 0; at < n;) {
            auto* d = reinterpret_cast<LinuxDirent64*>(buffer + at);
            std::string name = d->d_name;
            if (name != "." && name != "..") {
                listed.insert(name);
                EXPECT_FALSE(removed_during.count(name)) << name << " listed after its removal";
            }
            at += d->d_reclen;
        }
        // Remove a random present entry and, for a while, add a new one (forever would be a
        // chase the listing never finishes: new entries come after the cookie).
        if (present.empty()) continue;
        auto victim = present.begin();
        std::advance(victim, random() % present.size());
        std::string path = "/d/" + *victim;
        ASSERT_EQ(vfs.unlink(nullptr, path.c_str()), 0);
        removed_during.insert(*victim);
        always_there.erase(*victim);
        present.erase(victim);
        if (added == 20) continue;
        std::string fresh = "n" + std::to_string(added++);
        ASSERT_EQ(write_file(("/d/" + fresh).c_str(), ""), 0);
        present.insert(fresh);
    }
    f->unref();
    for (const auto& name : always_there) EXPECT_EQ(listed.count(name), 1u) << name;
    for (const auto& name : listed) EXPECT_EQ(listed.count(name), 1u) << name << " listed twice";
    // A fresh listing shows exactly what is present.
    auto now = list("/d");
    EXPECT_EQ(std::set<std::string>(now.begin(), now.end()), present);
}

TEST_F(VfsTest, CookieOfARemovedEntryContinuesWithTheNext) {
    ASSERT_EQ(vfs.mkdir(nullptr, "/d", 0755), 0);
    for (const char* name : {"/d/a", "/d/b", "/d/c"}) ASSERT_EQ(write_file(name, ""), 0);
    Vnode* d = node("/d");
    DirEntry e;
    ASSERT_EQ(d->readdir(2, &e), 1);
    EXPECT_STREQ(e.name, "a");
    uint64_t after_a = e.next_cookie;
    ASSERT_EQ(vfs.unlink(nullptr, "/d/b"), 0);
    ASSERT_EQ(d->readdir(after_a, &e), 1);
    EXPECT_STREQ(e.name, "c");
    EXPECT_EQ(d->readdir(e.next_cookie, &e), 0);
    d->unref();
}

}  // namespace
