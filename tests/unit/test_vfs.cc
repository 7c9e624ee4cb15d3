// Path lookup, mounts, rename rules and the stat layouts of the VFS core (fs/vfs.cc).
#include <sys/stat.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "fs_fixture.h"

using namespace fs_test;

namespace {

class Lookup : public VfsTest {
protected:
    void SetUp() override {
        VfsTest::SetUp();
        ASSERT_EQ(vfs.mkdir(nullptr, "/a", 0755), 0);
        ASSERT_EQ(vfs.mkdir(nullptr, "/a/b", 0755), 0);
        ASSERT_EQ(write_file("/a/b/file", "hello"), 0);
        ASSERT_EQ(vfs.symlink("b/file", nullptr, "/a/rel"), 0);     // relative target
        ASSERT_EQ(vfs.symlink("/a/b", nullptr, "/abs"), 0);          // absolute target
        ASSERT_EQ(vfs.symlink("../../a/b/..", nullptr, "/a/b/up"), 0);  // via ".." (= /a)
        ASSERT_EQ(vfs.symlink("missing", nullptr, "/dangling"), 0);
    }
};

TEST_F(Lookup, AbsoluteRelativeDotsAndSlashes) {
    uint64_t file = ino("/a/b/file");
    ASSERT_NE(file, 0u);
    EXPECT_EQ(ino("//a///b//file"), file);
    EXPECT_EQ(ino("/a/./b/../b/file"), file);
    EXPECT_EQ(ino("/../../a/b/file"), file);  // ".." at the root stays there
    Vnode* a = node("/a");
    EXPECT_EQ(ino("/a"), a->ino);
    Vnode* v;
    ASSERT_EQ(vfs.lookup(a, "b/file", true, &v), 0);  // relative to a directory
    EXPECT_EQ(v->ino, file);
    v->unref();
    ASSERT_EQ(vfs.lookup(a, "/a/b/file", true, &v), 0);  // absolute ignores it
    v->unref();
    ASSERT_EQ(vfs.lookup(a, ".", true, &v), 0);
    EXPECT_EQ(v, a);
    v->unref();
    ASSERT_EQ(vfs.lookup(a, "..", true, &v), 0);
    EXPECT_EQ(v, vfs.root());
    v->unref();
    EXPECT_EQ(read_file("b/file", a), "hello");
    a->unref();
    EXPECT_EQ(ino("/"), vfs.root()->ino);
    EXPECT_EQ(ino("///"), vfs.root()->ino);
}

TEST_F(Lookup, Errors) {
    EXPECT_EQ(lookup_error(""), -errno_noent);
    EXPECT_EQ(lookup_error("/nope"), -errno_noent);
    EXPECT_EQ(lookup_error("/a/nope/file"), -errno_noent);
    EXPECT_EQ(lookup_error("/a/b/file/x"), -errno_notdir);
    EXPECT_EQ(lookup_error("/a/b/file/"), -errno_notdir);  // trailing slash wants a directory
    EXPECT_EQ(lookup_error("/a/b/file/."), -errno_notdir);
    EXPECT_EQ(lookup_error("/a/b/"), 0);
    EXPECT_EQ(lookup_error("/a/b/."), 0);
}

TEST_F(Lookup, NameAndPathLimits) {
    std::string longest(name_max, 'n');
    EXPECT_EQ(write_file(("/" + longest).c_str(), "x"), 0);
    EXPECT_EQ(read_file(("/" + longest).c_str()), "x");
    std::string too_long(name_max + 1, 'n');
    EXPECT_EQ(lookup_error(("/" + too_long).c_str()), -errno_nametoolong);
    EXPECT_EQ(write_file(("/" + too_long).c_str(), "x"), -errno_nametoolong);
    // 4095 bytes is a valid path length (with the NUL: 4096); 4096 is too long.
    std::string path;
    while (path.size() < path_max - 1) path += "/.";
    path.resize(path_max - 1, '/');
    EXPECT_EQ(lookup_error(path.c_str()), 0);
    path += "/";
    EXPECT_EQ(lookup_error(path.c_str()), -errno_nametoolong);
}

TEST_F(Lookup, Symlinks) {
    uint64_t file = ino("/a/b/file");
    EXPECT_EQ(ino("/a/rel"), file);               // followed in the last component
    EXPECT_NE(ino("/a/rel", false), file);        // ... unless asked not to
    Vnode* link = node("/a/rel", false);
    EXPECT_TRUE(link->is_symlink());
    EXPECT_EQ(link->size, 6u);
    link->unref();
    EXPECT_EQ(ino("/abs/file"), file);            // absolute, intermediate
    EXPECT_EQ(ino("/abs/file", false), file);     // intermediate ones always followed
    EXPECT_EQ(ino("/a/b/up/b/file"), file);       // target with ".." (resolved from the link's directory)
    EXPECT_EQ(ino("/abs/../rel"), file);          // ".." after a symlink: the target's parent
    EXPECT_EQ(lookup_error("/dangling"), -errno_noent);
    EXPECT_EQ(lookup_error("/dangling", false), 0);
    EXPECT_EQ(lookup_error("/abs/"), 0);          // trailing slash: followed even with nofollow
    EXPECT_EQ(lookup_error("/abs/", false), 0);
    EXPECT_EQ(lookup_error("/a/rel/"), -errno_notdir);
    char target[64];
    EXPECT_EQ(vfs.readlink(nullptr, "/a/rel", target, sizeof target), 6);
    EXPECT_EQ(std::string(target, 6), "b/file");
    EXPECT_EQ(vfs.readlink(nullptr, "/a/rel", target, 3), 3);  // truncated, like Linux
    EXPECT_EQ(vfs.readlink(nullptr, "/a", target, sizeof target), -errno_inval);
    EXPECT_EQ(vfs.symlink("", nullptr, "/empty"), -errno_noent);
    EXPECT_EQ(vfs.symlink("x", nullptr, "/abs"), -errno_exist);
}

TEST_F(Lookup, SymlinkLoopsAndTheFortyLinkLimit) {
    ASSERT_EQ(vfs.symlink("loop2", nullptr, "/loop1"), 0);
    ASSERT_EQ(vfs.symlink("loop1", nullptr, "/loop2"), 0);
    EXPECT_EQ(lookup_error("/loop1"), -errno_loop);
    EXPECT_EQ(lookup_error("/loop1/x"), -errno_loop);
    EXPECT_EQ(lookup_error("/loop1", false), 0);
    // A chain of n links: 40 resolve, 41 do not.
    ASSERT_EQ(write_file("/end", "end"), 0);
    std::string previous = "/end";
    for (int i = 1; i <= 41; ++i) {
        std::string name = "/chain" + std::to_string(i);
        ASSERT_EQ(vfs.symlink(previous.c_str(), nullptr, name.c_str()), 0);
        previous = name;
    }
    EXPECT_EQ(read_file("/chain40"), "end");
    EXPECT_EQ(lookup_error("/chain41"), -errno_loop);
    // Intermediate links count too.
    ASSERT_EQ(vfs.mkdir(nullptr, "/d", 0755), 0);
    previous = "/d";
    for (int i = 1; i <= 41; ++i) {
        std::string name = "/dchain" + std::to_string(i);
        ASSERT_EQ(vfs.symlink(previous.c_str(), nullptr, name.c_str()), 0);
        previous = name;
    }
    EXPECT_EQ(lookup_error("/dchain40/."), 0);
    EXPECT_EQ(lookup_error("/dchain41/."), -errno_loop);
}

TEST_F(Lookup, OpenFlags) {
    OpenFile* f;
    EXPECT_EQ(vfs.open(nullptr, "/a/rel", o_rdonly | o_nofollow, 0, &f), -errno_loop);
    EXPECT_EQ(vfs.open(nullptr, "/a/b/file", o_rdonly | o_directory, 0, &f), -errno_notdir);
    EXPECT_EQ(vfs.open(nullptr, "/a", o_wronly, 0, &f), -errno_isdir);
    EXPECT_EQ(vfs.open(nullptr, "/a", o_rdonly | o_creat, 0644, &f), -errno_isdir);
    EXPECT_EQ(vfs.open(nullptr, "/new/", o_wronly | o_creat, 0644, &f), -errno_isdir);
    EXPECT_EQ(vfs.open(nullptr, "/a/b/file", o_wronly | o_creat | o_excl, 0644, &f), -errno_exist);
    EXPECT_EQ(vfs.open(nullptr, "/a/rel", o_wronly | o_creat | o_excl, 0644, &f), -errno_exist);
    EXPECT_EQ(vfs.open(nullptr, "/nodir/x", o_wronly | o_creat, 0644, &f), -errno_noent);
    EXPECT_EQ(vfs.open(nullptr, "/a/b/file", o_accmode, 0, &f), -errno_inval);
    // O_CREAT through a dangling symlink creates its target.
    ASSERT_EQ(vfs.open(nullptr, "/dangling", o_wronly | o_creat, 0600, &f), 0);
    f->unref();
    EXPECT_EQ(lookup_error("/missing"), 0);
    // O_TRUNC empties; mode is recorded.
    ASSERT_EQ(vfs.open(nullptr, "/a/b/file", o_rdwr | o_trunc, 0, &f), 0);
    EXPECT_EQ(f->vnode()->size, 0u);
    f->unref();
    ASSERT_EQ(vfs.open(nullptr, "/a", o_rdonly | o_directory, 0, &f), 0);
    f->unref();
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/missing", true, &st), 0);
    EXPECT_EQ(st.st_mode, s_ifreg | 0600);
}

TEST_F(VfsTest, MkdirUnlinkRmdir) {
    EXPECT_EQ(vfs.mkdir(nullptr, "/d", 0700), 0);
    EXPECT_EQ(vfs.mkdir(nullptr, "/d", 0700), -errno_exist);
    EXPECT_EQ(vfs.mkdir(nullptr, "/d/e/", 0700), 0);  // trailing slash allowed
    EXPECT_EQ(vfs.mkdir(nullptr, "/", 0700), -errno_exist);
    EXPECT_EQ(vfs.mkdir(nullptr, "/x/y", 0700), -errno_noent);
    EXPECT_EQ(write_file("/d/f", "x"), 0);
    EXPECT_EQ(vfs.rmdir(nullptr, "/d"), -errno_notempty);
    EXPECT_EQ(vfs.rmdir(nullptr, "/d/f"), -errno_notdir);
    EXPECT_EQ(vfs.rmdir(nullptr, "/d/e/."), -errno_inval);
    EXPECT_EQ(vfs.rmdir(nullptr, "/"), -errno_busy);
    EXPECT_EQ(vfs.unlink(nullptr, "/d/e"), -errno_isdir);
    EXPECT_EQ(vfs.unlink(nullptr, "/d/f/"), -errno_notdir);
    EXPECT_EQ(vfs.unlink(nullptr, "/d/nope"), -errno_noent);
    EXPECT_EQ(vfs.unlink(nullptr, "/d/f"), 0);
    EXPECT_EQ(vfs.rmdir(nullptr, "/d/e"), 0);
    EXPECT_EQ(vfs.rmdir(nullptr, "/d"), 0);
    EXPECT_EQ(lookup_error("/d"), -errno_noent);
}

TEST_F(VfsTest, RemovedWorkingDirectory) {
    ASSERT_EQ(vfs.mkdir(nullptr, "/gone", 0755), 0);
    Vnode* cwd = node("/gone");
    ASSERT_EQ(vfs.rmdir(nullptr, "/gone"), 0);
    EXPECT_EQ(cwd->nlink, 0u);
    Vnode* v;
    EXPECT_EQ(vfs.lookup(cwd, "..", true, &v), -errno_noent);
    EXPECT_EQ(vfs.mkdir(cwd, "x", 0755), -errno_noent);
    OpenFile* f;
    EXPECT_EQ(vfs.open(cwd, "x", o_wronly | o_creat, 0644, &f), -errno_noent);
    cwd->unref();
}

TEST_F(VfsTest, RenameRules) {
    ASSERT_EQ(vfs.mkdir(nullptr, "/d1", 0755), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/d1/sub", 0755), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/d2", 0755), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/full", 0755), 0);
    ASSERT_EQ(write_file("/full/x", "x"), 0);
    ASSERT_EQ(write_file("/f1", "one"), 0);
    ASSERT_EQ(write_file("/f2", "two"), 0);

    EXPECT_EQ(vfs.rename(nullptr, "/nope", nullptr, "/x"), -errno_noent);
    EXPECT_EQ(vfs.rename(nullptr, "/f1", nullptr, "/d1"), -errno_isdir);
    EXPECT_EQ(vfs.rename(nullptr, "/d1", nullptr, "/f1"), -errno_notdir);
    EXPECT_EQ(vfs.rename(nullptr, "/d2", nullptr, "/full"), -errno_notempty);
    EXPECT_EQ(vfs.rename(nullptr, "/d1", nullptr, "/d1/sub/inside"), -errno_inval);
    EXPECT_EQ(vfs.rename(nullptr, "/d1", nullptr, "/d1/inside"), -errno_inval);
    EXPECT_EQ(vfs.rename(nullptr, "/d1/.", nullptr, "/d3"), -errno_busy);
    EXPECT_EQ(vfs.rename(nullptr, "/f1/", nullptr, "/f3"), -errno_notdir);
    EXPECT_EQ(vfs.rename(nullptr, "/f1", nullptr, "/nodir/f"), -errno_noent);

    // Replacing a file: the old name disappears, the new one has the moved content.
    uint64_t f1 = ino("/f1");
    EXPECT_EQ(vfs.rename(nullptr, "/f1", nullptr, "/f2"), 0);
    EXPECT_EQ(lookup_error("/f1"), -errno_noent);
    EXPECT_EQ(read_file("/f2"), "one");
    EXPECT_EQ(ino("/f2"), f1);
    // Replacing an empty directory; the moved directory's ".." follows it.
    EXPECT_EQ(vfs.rename(nullptr, "/d1", nullptr, "/d2"), 0);
    EXPECT_EQ(lookup_error("/d1"), -errno_noent);
    EXPECT_EQ(lookup_error("/d2/sub"), 0);
    // Moving a directory down into another one, and back via "..".
    EXPECT_EQ(vfs.rename(nullptr, "/d2", nullptr, "/full/d2"), 0);
    EXPECT_EQ(ino("/full/d2/sub/../.."), ino("/full"));
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/full", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 3u);  // ".", its entry, and d2's ".."
    ASSERT_EQ(vfs.stat(nullptr, "/", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 3u);  // "/" has only "full" below it now
    // Renaming onto itself or another link of the same file does nothing.
    EXPECT_EQ(vfs.rename(nullptr, "/f2", nullptr, "/f2"), 0);
    ASSERT_EQ(vfs.link(nullptr, "/f2", nullptr, "/f2link"), 0);
    EXPECT_EQ(vfs.rename(nullptr, "/f2", nullptr, "/f2link"), 0);
    EXPECT_EQ(lookup_error("/f2"), 0);
    // A symlink is renamed, not followed.
    ASSERT_EQ(vfs.symlink("/full", nullptr, "/ln"), 0);
    EXPECT_EQ(vfs.rename(nullptr, "/ln", nullptr, "/ln2"), 0);
    EXPECT_EQ(ino("/ln2"), ino("/full"));
}

TEST_F(VfsTest, HardLinks) {
    ASSERT_EQ(write_file("/f", "data"), 0);
    ASSERT_EQ(vfs.link(nullptr, "/f", nullptr, "/g"), 0);
    EXPECT_EQ(ino("/f"), ino("/g"));
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/g", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 2u);
    EXPECT_EQ(vfs.link(nullptr, "/f", nullptr, "/g"), -errno_exist);
    EXPECT_EQ(vfs.link(nullptr, "/", nullptr, "/h"), -errno_perm);
    ASSERT_EQ(vfs.unlink(nullptr, "/f"), 0);
    EXPECT_EQ(read_file("/g"), "data");
    ASSERT_EQ(vfs.stat(nullptr, "/g", true, &st), 0);
    EXPECT_EQ(st.st_nlink, 1u);
}

// A filesystem whose root holds one character device that returns 'z' bytes and swallows
// writes: what devfs will do with /dev/zero-like devices.
class DeviceNode final : public Vnode {
public:
    explicit DeviceNode(FileSystem* fs) : Vnode(fs, s_ifchr | 0666) { rdev = (1 << 8) | 5; }
    int64_t read(uint64_t, void* buffer, size_t length) override {
        memset(buffer, 'z', length);
        return static_cast<int64_t>(length);
    }
    int64_t write(uint64_t, const void*, size_t length) override { return static_cast<int64_t>(length); }
    bool seekable() const override { return false; }
};

class DeviceRoot final : public Vnode {
public:
    explicit DeviceRoot(FileSystem* fs) : Vnode(fs, s_ifdir | 0755), device(make_object<DeviceNode>(fs)) { nlink = 2; }
    ~DeviceRoot() override { device->unref(); }
    int lookup(Name name, Vnode** out) override {
        Vnode* found = name.is_dot() || name.is_dotdot() ? static_cast<Vnode*>(this)
                       : name.equals("zero")               ? device
                                                           : nullptr;
        if (!found) return -errno_noent;
        found->ref();
        *out = found;
        return 0;
    }
    Vnode* device;
};

class DeviceFs final : public FileSystem {
public:
    explicit DeviceFs(Clock clock) : FileSystem(clock), root_(make_object<DeviceRoot>(this)) {}
    ~DeviceFs() override { root_->unref(); }
    Vnode* root() override { return root_; }
    Vnode* root_;
};

const FileSystemType device_type{"testdev", [](Clock clock, FileSystem** out) {
                                     *out = make_object<DeviceFs>(clock);
                                     return 0;
                                 }};

TEST_F(VfsTest, MountsAndCharacterDevices) {
    EXPECT_EQ(vfs.register_filesystem(&ramfs_type), -errno_exist);
    ASSERT_EQ(vfs.register_filesystem(&device_type), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/dev", 0755), 0);
    ASSERT_EQ(write_file("/file", "x"), 0);
    EXPECT_EQ(vfs.mount("nosuchfs", nullptr, "/dev"), -errno_nodev);
    EXPECT_EQ(vfs.mount("testdev", nullptr, "/file"), -errno_notdir);
    EXPECT_EQ(vfs.mount("testdev", nullptr, "/nowhere"), -errno_noent);
    uint64_t covered = ino("/dev");
    ASSERT_EQ(vfs.mount("testdev", nullptr, "/dev"), 0);
    // Down into the mount, and ".." back up into the parent filesystem.
    Vnode* dev = node("/dev");
    ASSERT_NE(dev, nullptr);
    EXPECT_NE(dev->fs, vfs.root()->fs);
    EXPECT_FALSE(dev->ino == covered && dev->fs == vfs.root()->fs);
    EXPECT_EQ(ino("/dev/.."), vfs.root()->ino);
    Vnode* v;
    ASSERT_EQ(vfs.lookup(dev, "../file", true, &v), 0);
    EXPECT_EQ(v->fs, vfs.root()->fs);
    v->unref();
    dev->unref();
    EXPECT_EQ(vfs.rmdir(nullptr, "/dev"), -errno_busy);
    EXPECT_EQ(vfs.rename(nullptr, "/dev", nullptr, "/dev2"), -errno_busy);
    EXPECT_EQ(vfs.rename(nullptr, "/file", nullptr, "/dev/file"), -errno_xdev);
    EXPECT_EQ(vfs.mkdir(nullptr, "/dev/x", 0755), -errno_perm);

    // The device: its own read/write, not seekable, stat reports it.
    OpenFile* f;
    ASSERT_EQ(vfs.open(nullptr, "/dev/zero", o_rdwr, 0, &f), 0);
    char buffer[4] = {};
    EXPECT_EQ(f->read(buffer, sizeof buffer), 4);
    EXPECT_EQ(std::string(buffer, 4), "zzzz");
    EXPECT_EQ(f->write("abc", 3), 3);
    EXPECT_EQ(f->seek(0, seek_set), -errno_spipe);
    EXPECT_EQ(f->pread(buffer, 1, 0), -errno_spipe);
    EXPECT_EQ(f->offset(), 0u);
    f->unref();
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/dev/zero", true, &st), 0);
    EXPECT_EQ(st.st_mode, s_ifchr | 0666);
    EXPECT_EQ(st.st_rdev, (1u << 8) | 5);
    EXPECT_NE(st.st_dev, 0u);

    // A ramfs stacked on a ramfs directory; ".." from its root climbs out.
    ASSERT_EQ(vfs.mkdir(nullptr, "/mnt", 0755), 0);
    ASSERT_EQ(vfs.mount("ramfs", nullptr, "/mnt"), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/mnt/inner", 0755), 0);
    ASSERT_EQ(vfs.mount("ramfs", nullptr, "/mnt/inner"), 0);
    ASSERT_EQ(write_file("/mnt/inner/deep", "deep"), 0);
    EXPECT_EQ(read_file("/mnt/inner/../inner/deep"), "deep");
    EXPECT_EQ(ino("/mnt/inner/../.."), vfs.root()->ino);
    ASSERT_EQ(vfs.symlink("/mnt/inner", nullptr, "/shortcut"), 0);
    EXPECT_EQ(read_file("/shortcut/deep"), "deep");
    EXPECT_EQ(vfs.rename(nullptr, "/mnt/inner/deep", nullptr, "/mnt/deep"), -errno_xdev);
}

TEST(StatLayout, MatchesLinux) {
    // x86_64: arch/x86/include/uapi/asm/stat.h
    EXPECT_EQ(sizeof(StatX86_64), 144u);
    EXPECT_EQ(offsetof(StatX86_64, st_ino), 8u);
    EXPECT_EQ(offsetof(StatX86_64, st_nlink), 16u);
    EXPECT_EQ(offsetof(StatX86_64, st_mode), 24u);
    EXPECT_EQ(offsetof(StatX86_64, st_gid), 32u);
    EXPECT_EQ(offsetof(StatX86_64, st_size), 48u);
    EXPECT_EQ(offsetof(StatX86_64, st_blksize), 56u);
    EXPECT_EQ(offsetof(StatX86_64, st_mtime_nsec), 96u);
    // aarch64: asm-generic/stat.h
    EXPECT_EQ(sizeof(StatGeneric), 128u);
    EXPECT_EQ(offsetof(StatGeneric, st_mode), 16u);
    EXPECT_EQ(offsetof(StatGeneric, st_nlink), 20u);
    EXPECT_EQ(offsetof(StatGeneric, st_gid), 28u);
    EXPECT_EQ(offsetof(StatGeneric, st_size), 48u);
    EXPECT_EQ(offsetof(StatGeneric, st_blocks), 64u);
    EXPECT_EQ(offsetof(StatGeneric, st_mtime_nsec), 96u);
    EXPECT_EQ(sizeof(LinuxStat), sizeof(StatX86_64));  // the host is x86_64
    EXPECT_EQ(offsetof(LinuxDirent64, d_type), 18u);
    EXPECT_EQ(offsetof(LinuxDirent64, d_name), 19u);
}

TEST(StatLayout, HostStructStatAgrees) {
    // The host's own struct stat is x86_64's: compare field by field through a filled one.
    struct stat host {};
    static_assert(sizeof(host) == sizeof(StatX86_64));
    EXPECT_EQ(offsetof(struct stat, st_nlink), offsetof(StatX86_64, st_nlink));
    EXPECT_EQ(offsetof(struct stat, st_mode), offsetof(StatX86_64, st_mode));
    EXPECT_EQ(offsetof(struct stat, st_rdev), offsetof(StatX86_64, st_rdev));
    EXPECT_EQ(offsetof(struct stat, st_size), offsetof(StatX86_64, st_size));
    EXPECT_EQ(offsetof(struct stat, st_blocks), offsetof(StatX86_64, st_blocks));
    EXPECT_EQ(offsetof(struct stat, st_mtim), offsetof(StatX86_64, st_mtime_sec));
    EXPECT_EQ(offsetof(struct stat, st_ctim), offsetof(StatX86_64, st_ctime_sec));
}

TEST_F(VfsTest, StatFillsBothLayouts) {
    fake_now = Timespec{1234, 567};
    ASSERT_EQ(write_file("/f", std::string(1000, 'x')), 0);
    Vnode* f = node("/f");
    f->uid = 7;
    f->gid = 8;
    StatX86_64 x{};
    StatGeneric g{};
    fill_stat(*f, &x);
    fill_stat(*f, &g);
    f->unref();
    EXPECT_EQ(x.st_mode, s_ifreg | 0644);
    EXPECT_EQ(g.st_mode, s_ifreg | 0644);
    EXPECT_EQ(x.st_nlink, 1u);
    EXPECT_EQ(g.st_nlink, 1u);
    EXPECT_EQ(x.st_size, 1000);
    EXPECT_EQ(g.st_size, 1000);
    EXPECT_EQ(x.st_blocks, 2);
    EXPECT_EQ(g.st_blksize, 4096);
    EXPECT_EQ(x.st_uid, 7u);
    EXPECT_EQ(g.st_gid, 8u);
    EXPECT_EQ(x.st_mtime_sec, 1234u);
    EXPECT_EQ(g.st_mtime_nsec, 567u);
    EXPECT_EQ(x.st_ino, g.st_ino);
}

TEST(OpenFlags, ArchitectureValues) {
    // The host build is x86_64: the asm-generic values.
    EXPECT_EQ(o_directory, 0200000);
    EXPECT_EQ(o_nofollow, 0400000);
    EXPECT_EQ(o_direct, 040000);
    EXPECT_EQ(o_largefile, 0100000);
    EXPECT_EQ(o_cloexec, 02000000);
}

}  // namespace

// Special files (mknod): what a bound AF_UNIX socket leaves in the filesystem.
class SpecialFiles : public fs_test::VfsTest {};

TEST_F(SpecialFiles, SocketNodesAreNamesThatCannotBeOpened) {
    using namespace mica::fs;
    ASSERT_EQ(vfs.mkdir(nullptr, "/run", 0755), 0);
    Vnode* sock = nullptr;
    ASSERT_EQ(vfs.mknod(nullptr, "/run/app.sock", s_ifsock | 0755, 0, &sock), 0);
    ASSERT_NE(sock, nullptr);
    EXPECT_EQ(sock->mode, s_ifsock | 0755);
    LinuxStat st;
    ASSERT_EQ(vfs.stat(nullptr, "/run/app.sock", true, &st), 0);
    EXPECT_EQ(st.st_mode & s_ifmt, s_ifsock);
    EXPECT_EQ(vfs.mknod(nullptr, "/run/app.sock", s_ifsock | 0755, 0, nullptr), -errno_exist);
    EXPECT_EQ(vfs.mknod(nullptr, "/missing/app.sock", s_ifsock | 0755, 0, nullptr), -errno_noent);
    EXPECT_EQ(vfs.mknod(nullptr, "/run/bad", 0755, 0, nullptr), -errno_inval);  // no type
    OpenFile* f = nullptr;
    EXPECT_EQ(vfs.open(nullptr, "/run/app.sock", o_rdonly, 0, &f), -errno_nxio);
    EXPECT_EQ(vfs.open(nullptr, "/run/app.sock", o_rdonly | o_path, 0, &f), 0);
    f->unref();
    // The name goes with unlink; whoever holds the vnode keeps it.
    EXPECT_EQ(vfs.unlink(nullptr, "/run/app.sock"), 0);
    EXPECT_EQ(lookup_error("/run/app.sock"), -errno_noent);
    EXPECT_EQ(sock->mode & s_ifmt, s_ifsock);
    sock->unref();
}
