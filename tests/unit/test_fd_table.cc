// Open files and the descriptor table (fs/file.cc): lowest-free allocation, dup/dup2/dup3,
// close-on-exec, the limit, lseek, access modes and O_APPEND.
#include <string>

#include "fs_fixture.h"

using namespace fs_test;

namespace {

class FdTest : public VfsTest {
protected:
    FdTable table{16};
    int open_fd(const char* path, int flags, uint32_t mode = 0644) {
        OpenFile* f;
        int r = vfs.open(nullptr, path, flags, mode, &f);
        if (r < 0) return r;
        int fd = table.install(f, (flags & o_cloexec) != 0);
        f->unref();  // the table holds it now
        return fd;
    }
};

TEST_F(FdTest, LowestFreeDescriptorAndLimit) {
    ASSERT_EQ(write_file("/f", "x"), 0);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(open_fd("/f", o_rdonly), i);
    EXPECT_EQ(open_fd("/f", o_rdonly), -errno_mfile);
    EXPECT_EQ(table.dup(0), -errno_mfile);
    EXPECT_EQ(table.close(5), 0);
    EXPECT_EQ(table.close(5), -errno_badf);
    EXPECT_EQ(table.close(-1), -errno_badf);
    EXPECT_EQ(table.close(99), -errno_badf);
    EXPECT_EQ(table.close(3), 0);
    EXPECT_EQ(open_fd("/f", o_rdonly), 3);
    EXPECT_EQ(table.dup(0), 5);
    EXPECT_EQ(table.count(), 16);
}

TEST_F(FdTest, DupSharesTheOffset) {
    ASSERT_EQ(write_file("/f", "abcdef"), 0);
    int fd = open_fd("/f", o_rdonly);
    int copy = table.dup(fd);
    ASSERT_EQ(copy, 1);
    EXPECT_EQ(table.get(fd), table.get(copy));
    char c;
    EXPECT_EQ(table.get(fd)->read(&c, 1), 1);
    EXPECT_EQ(table.get(copy)->read(&c, 1), 1);
    EXPECT_EQ(c, 'b');  // one offset for both
    EXPECT_EQ(table.close(fd), 0);
    EXPECT_EQ(table.get(copy)->read(&c, 1), 1);  // still open through the copy
    EXPECT_EQ(c, 'c');
    EXPECT_EQ(table.dup(42), -errno_badf);
}

TEST_F(FdTest, Dup2AndDup3) {
    ASSERT_EQ(write_file("/a", "a"), 0);
    ASSERT_EQ(write_file("/b", "b"), 0);
    int a = open_fd("/a", o_rdonly);
    int b = open_fd("/b", o_rdonly | o_cloexec);
    EXPECT_EQ(table.close_on_exec(b), 1);
    // dup2 onto an open descriptor closes it silently; close-on-exec is clear on the copy.
    EXPECT_EQ(table.dup2(a, b), b);
    EXPECT_EQ(table.get(b), table.get(a));
    EXPECT_EQ(table.close_on_exec(b), 0);
    // dup2(fd, fd) only checks fd.
    EXPECT_EQ(table.dup2(a, a), a);
    EXPECT_EQ(table.dup2(9, 9), -errno_badf);
    EXPECT_EQ(table.dup2(9, 3), -errno_badf);
    EXPECT_EQ(table.dup2(a, 16), -errno_badf);  // past the limit
    EXPECT_EQ(table.dup2(a, -1), -errno_badf);
    // dup2 to a high descriptor leaves the ones below free.
    EXPECT_EQ(table.dup2(a, 10), 10);
    EXPECT_EQ(table.dup(a), 2);
    // dup3.
    EXPECT_EQ(table.dup3(a, a, 0), -errno_inval);
    EXPECT_EQ(table.dup3(a, 11, o_rdonly | 1), -errno_inval);
    EXPECT_EQ(table.dup3(a, 11, o_cloexec), 11);
    EXPECT_EQ(table.close_on_exec(11), 1);
    EXPECT_EQ(table.dup3(7, 12, 0), -errno_badf);
    // F_DUPFD-style.
    EXPECT_EQ(table.dup_from(a, 10, true), 12);
    EXPECT_EQ(table.close_on_exec(12), 1);
    // execve closes the close-on-exec ones.
    EXPECT_EQ(table.set_close_on_exec(10, true), 0);
    table.close_all_on_exec();
    EXPECT_EQ(table.get(10), nullptr);
    EXPECT_EQ(table.get(11), nullptr);
    EXPECT_EQ(table.get(12), nullptr);
    EXPECT_NE(table.get(a), nullptr);
    EXPECT_EQ(table.set_close_on_exec(10, true), -errno_badf);
}

TEST_F(FdTest, Lseek) {
    ASSERT_EQ(write_file("/f", "0123456789"), 0);
    OpenFile* f = table.get(open_fd("/f", o_rdwr));
    EXPECT_EQ(f->seek(4, seek_set), 4);
    EXPECT_EQ(f->seek(2, seek_cur), 6);
    EXPECT_EQ(f->seek(-1, seek_end), 9);
    char c;
    EXPECT_EQ(f->read(&c, 1), 1);
    EXPECT_EQ(c, '9');
    EXPECT_EQ(f->read(&c, 1), 0);
    EXPECT_EQ(f->seek(-11, seek_end), -errno_inval);
    EXPECT_EQ(f->seek(-1, seek_set), -errno_inval);
    EXPECT_EQ(f->offset(), 10u);  // unchanged by the failures
    EXPECT_EQ(f->seek(0, 3), -errno_inval);
    EXPECT_EQ(f->seek(INT64_MAX, seek_cur), -errno_overflow);
    // Past the end is allowed; a write there leaves a hole of zeros.
    EXPECT_EQ(f->seek(12, seek_set), 12);
    EXPECT_EQ(f->write("!", 1), 1);
    EXPECT_EQ(read_file("/f"), std::string("0123456789\0\0!", 13));
}

TEST_F(FdTest, AccessModesAndAppend) {
    ASSERT_EQ(write_file("/f", "abc"), 0);
    OpenFile* w = table.get(open_fd("/f", o_wronly));
    OpenFile* r = table.get(open_fd("/f", o_rdonly));
    char buffer[8];
    EXPECT_EQ(w->read(buffer, 1), -errno_badf);
    EXPECT_EQ(r->write("x", 1), -errno_badf);
    EXPECT_EQ(r->truncate(0), -errno_inval);
    EXPECT_EQ(w->write("X", 1), 1);
    EXPECT_EQ(read_file("/f"), "Xbc");
    OpenFile* a = table.get(open_fd("/f", o_wronly | o_append));
    EXPECT_EQ(a->write("1", 1), 1);
    EXPECT_EQ(w->write("Y", 1), 1);   // w writes at its own offset 1
    EXPECT_EQ(a->seek(0, seek_set), 0);
    EXPECT_EQ(a->write("2", 1), 1);   // O_APPEND: at the end regardless
    EXPECT_EQ(read_file("/f"), "XYc12");
    EXPECT_EQ(a->offset(), 5u);
    EXPECT_EQ(a->pwrite("Z", 1, 0), 1);
    EXPECT_EQ(read_file("/f"), "ZYc12");
    a->set_status_flags(0);
    EXPECT_EQ(a->seek(0, seek_set), 0);
    EXPECT_EQ(a->write("W", 1), 1);
    EXPECT_EQ(read_file("/f"), "WYc12");
    EXPECT_EQ(a->flags() & o_cloexec, 0);
    // O_TRUNC through open.
    EXPECT_GE(open_fd("/f", o_wronly | o_trunc), 0);
    EXPECT_EQ(read_file("/f"), "");
}

TEST_F(FdTest, TableDestructorClosesEverything) {
    ASSERT_EQ(write_file("/f", "x"), 0);
    Vnode* v = node("/f");
    {
        FdTable other(4);
        OpenFile* f;
        ASSERT_EQ(vfs.open(nullptr, "/f", o_rdonly, 0, &f), 0);
        EXPECT_EQ(other.install(f, false), 0);
        EXPECT_EQ(other.dup2(0, 3), 3);
        f->unref();
        EXPECT_EQ(v->references(), 3u);  // directory entry, this test, the open file
    }
    EXPECT_EQ(v->references(), 2u);
    v->unref();
}



TEST_F(FdTest, CloseRangeClosesOrMarksAndStopsAtTheTable) {
    ASSERT_EQ(write_file("/f", "x"), 0);
    for (int i = 0; i < 6; ++i) ASSERT_EQ(open_fd("/f", o_rdonly), i);
    table.close_range(1, 2, false);
    EXPECT_EQ(table.get(1), nullptr);
    EXPECT_EQ(table.get(2), nullptr);
    EXPECT_NE(table.get(3), nullptr);
    table.close_range(4, ~0u, true);  // past the table: no overflow, no crash
    EXPECT_EQ(table.close_on_exec(4), 1);
    EXPECT_EQ(table.close_on_exec(5), 1);
    EXPECT_EQ(table.close_on_exec(3), 0);
    table.close_range(0, ~0u, false);
    EXPECT_EQ(table.count(), 0);
}

TEST_F(FdTest, LoweredLimitKeepsOpenDescriptorsAndForkCopiesThem) {
    ASSERT_EQ(write_file("/f", "x"), 0);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(open_fd("/f", o_rdonly), i);
    table.set_limit(4);
    EXPECT_EQ(table.limit(), 4);
    EXPECT_NE(table.get(8), nullptr) << "open above the new limit: still usable";
    EXPECT_EQ(table.close(2), 0);
    EXPECT_EQ(table.dup(0), 2);
    EXPECT_EQ(table.dup(0), -errno_mfile);
    EXPECT_EQ(table.dup2(0, 5), -errno_badf);
    FdTable copy;
    ASSERT_EQ(table.copy_to(copy), 0);
    EXPECT_EQ(copy.limit(), 4);
    EXPECT_EQ(copy.count(), 10);
    EXPECT_NE(copy.get(9), nullptr);
}

TEST_F(FdTest, CopyAndSwapForFork) {
    ASSERT_EQ(write_file("/x", "data"), 0);
    ASSERT_EQ(open_fd("/x", o_rdwr), 0);
    ASSERT_EQ(table.dup2(0, 5), 5);
    ASSERT_EQ(table.set_close_on_exec(5, true), 0);
    OpenFile* file = table.get(0);
    {
        FdTable saved{16};
        ASSERT_EQ(table.copy_to(saved), 0);
        EXPECT_EQ(saved.get(0), file);
        EXPECT_EQ(saved.get(5), file);
        EXPECT_EQ(saved.close_on_exec(5), 1);
        // The "child" closes and dups; then the parent's descriptors come back.
        EXPECT_EQ(table.close(0), 0);
        EXPECT_EQ(table.dup2(5, 7), 7);
        table.swap(saved);
        EXPECT_EQ(table.get(0), file);
        EXPECT_EQ(table.get(7), nullptr);
        EXPECT_EQ(saved.get(7), file);
    }  // the child's table closes its descriptors; the file stays open for the parent
    EXPECT_EQ(table.count(), 2);
    char c;
    EXPECT_EQ(table.get(0)->pread(&c, 1, 0), 1);
}

}  // namespace
