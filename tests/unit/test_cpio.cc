// The boot archive unpacker (fs/cpio.cc): hand-built archives, archives from tools/mkramfs and
// GNU cpio, malformed archives with their messages, and thousands of corrupted copies.
#include <mica/fs/cpio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "fs_fixture.h"

using namespace fs_test;

namespace {

// Writes newc members the way GNU cpio does.
class Writer {
public:
    Writer& add(const std::string& name, uint32_t mode, const std::string& data = "", uint32_t nlink = 1,
                uint32_t ino = 0, const char* magic = "070701", uint32_t check = 0) {
        char header[cpio_header_size + 1];
        snprintf(header, sizeof header, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08zx%08x", magic,
                 ino ? ino : ++next_ino_, mode, 1000u, 100u, nlink, 1700000000u, static_cast<uint32_t>(data.size()), 0u,
                 0u, 0u, 0u, name.size() + 1, check);
        bytes_ += header;
        bytes_ += name;
        bytes_ += '\0';
        pad();
        bytes_ += data;
        pad();
        return *this;
    }
    Writer& trailer() { return add("TRAILER!!!", 0); }
    const std::string& bytes() const { return bytes_; }

private:
    void pad() {
        while (bytes_.size() % 4) bytes_ += '\0';
    }
    std::string bytes_;
    uint32_t next_ino_ = 100;
};

class CpioTest : public VfsTest {
protected:
    CpioReport report;
    int unpack(const std::string& archive, Vnode* at = nullptr) {
        return cpio_unpack(vfs, at, archive.data(), archive.size(), &report);
    }
    LinuxStat stat_of(const char* path, bool follow = false) {
        LinuxStat st{};
        EXPECT_EQ(vfs.stat(nullptr, path, follow, &st), 0) << path;
        return st;
    }
    std::string readlink_of(const char* path) {
        char buffer[256];
        int64_t n = vfs.readlink(nullptr, path, buffer, sizeof buffer);
        return n < 0 ? "<error>" : std::string(buffer, static_cast<size_t>(n));
    }
};

TEST_F(CpioTest, UnpacksDirectoriesFilesAndSymlinks) {
    std::string archive = Writer()
                              .add(".", s_ifdir | 0700)
                              .add("bin", s_ifdir | 0755)
                              .add("bin/busybox", s_ifreg | 0755, "#!busybox")
                              .add("bin/sh", s_iflnk | 0777, "busybox")
                              .add("./etc//deep/motd", s_ifreg | 0640, "welcome\n")  // parents missing
                              .add("/abs", s_ifreg | 0600, "")
                              .add("dev/console", s_ifchr | 0600)  // skipped: devfs provides /dev
                              .trailer()
                              .bytes();
    ASSERT_EQ(unpack(archive), 0) << report.error;
    EXPECT_EQ(report.entries, 6u);
    EXPECT_EQ(report.skipped, 1u);
    EXPECT_EQ(report.bytes, 17u);
    EXPECT_EQ(read_file("/bin/sh"), "#!busybox");
    EXPECT_EQ(readlink_of("/bin/sh"), "busybox");
    EXPECT_EQ(read_file("/etc/deep/motd"), "welcome\n");
    LinuxStat st = stat_of("/bin/busybox");
    EXPECT_EQ(st.st_mode, s_ifreg | 0755);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 100u);
    EXPECT_EQ(st.st_mtime_sec, 1700000000u);
    EXPECT_EQ(stat_of("/etc/deep/motd").st_mode, s_ifreg | 0640);
    EXPECT_EQ(stat_of("/etc/deep").st_mode, s_ifdir | 0755);  // made for the file
    EXPECT_EQ(stat_of("/").st_mode, s_ifdir | 0700);          // "." sets the root's attributes
    EXPECT_EQ(stat_of("/bin/sh").st_mode, s_iflnk | 0777);
    EXPECT_EQ(stat_of("/abs").st_size, 0);
    EXPECT_EQ(lookup_error("/dev/console"), -errno_noent);
}

TEST_F(CpioTest, IntoASubdirectoryAndOverExistingFiles) {
    ASSERT_EQ(vfs.mkdir(nullptr, "/target", 0755), 0);
    ASSERT_EQ(write_file("/target/f", "old content"), 0);
    ASSERT_EQ(vfs.mkdir(nullptr, "/target/d", 0700), 0);
    Vnode* target = node("/target");
    std::string archive = Writer()
                              .add("f", s_ifreg | 0644, "new")
                              .add("d", s_ifdir | 0755)
                              .add("d/x", s_iflnk | 0777, "../f")
                              .trailer()
                              .bytes();
    ASSERT_EQ(unpack(archive, target), 0) << report.error;
    target->unref();
    EXPECT_EQ(read_file("/target/f"), "new");
    EXPECT_EQ(read_file("/target/d/x"), "new");
    EXPECT_EQ(stat_of("/target/d").st_mode, s_ifdir | 0755);
    // Archives can be applied on top of each other: a file replaces a symlink, and so on.
    archive = Writer().add("target/d/x", s_ifreg | 0644, "file now").trailer().bytes();
    ASSERT_EQ(unpack(archive), 0) << report.error;
    EXPECT_EQ(read_file("/target/d/x"), "file now");
    EXPECT_EQ(read_file("/target/f"), "new");
}

TEST_F(CpioTest, HardLinksAsGnuCpioWritesThem) {
    std::string archive = Writer()
                              .add("a", s_ifreg | 0644, "", 3, 7)
                              .add("b", s_ifreg | 0644, "", 3, 7)
                              .add("c", s_ifreg | 0644, "shared", 3, 7)
                              .trailer()
                              .bytes();
    ASSERT_EQ(unpack(archive), 0) << report.error;
    EXPECT_EQ(read_file("/a"), "shared");
    EXPECT_EQ(ino("/a"), ino("/c"));
    EXPECT_EQ(stat_of("/b").st_nlink, 3u);
}

TEST_F(CpioTest, ChecksumFormat) {
    std::string data = "abc";
    uint32_t sum = 'a' + 'b' + 'c';
    ASSERT_EQ(unpack(Writer().add("f", s_ifreg | 0644, data, 1, 0, "070702", sum).trailer().bytes()), 0) << report.error;
    EXPECT_EQ(read_file("/f"), "abc");
    EXPECT_EQ(unpack(Writer().add("g", s_ifreg | 0644, data, 1, 0, "070702", sum + 1).trailer().bytes()), -errno_inval);
    EXPECT_NE(std::string(report.error).find("checksum"), std::string::npos) << report.error;
}

struct Malformed {
    const char* what;
    std::string archive;
    const char* message;  // expected in the report
};

TEST_F(CpioTest, RejectsMalformedArchivesWithAPreciseMessage) {
    std::string good = Writer().add("file", s_ifreg | 0644, "0123456789").trailer().bytes();
    auto patched = [&](size_t at, const std::string& text) {
        std::string copy = good;
        copy.replace(at, text.size(), text);
        return copy;
    };
    const size_t name_at = cpio_header_size, data_at = cpio_header_size + 6;  // "file\0" padded
    std::vector<Malformed> cases{
        {"empty", "", "ends without a TRAILER"},
        {"odc format", patched(0, "070707"), "bad magic \"070707\""},
        {"binary garbage", patched(0, std::string("\x01\x02\x03\x04\x05\x06", 6)), "bad magic \"??????\""},
        {"short header", good.substr(0, 50), "truncated header (50 bytes left"},
        {"non-hex mode", patched(6 + 8, "0000z1a4"), "field mode is not hexadecimal"},
        {"non-hex namesize", patched(6 + 11 * 8, "0000000-"), "field namesize is not hexadecimal"},
        {"name without NUL", patched(6 + 11 * 8, "00000004"), "not NUL-terminated"},
        {"NUL inside the name", patched(name_at + 2, std::string(1, '\0')), "not NUL-terminated"},
        {"empty name", patched(6 + 11 * 8, "00000001"), "empty name"},
        {"name past the end", patched(6 + 11 * 8, "00100000"), "name of 1048576 bytes"},
        {"name past the end (short)", good.substr(0, name_at + 3), "truncated name"},
        {"data past the end", patched(6 + 6 * 8, "7fffffff"), "runs past the end"},
        {"data truncated", good.substr(0, data_at + 4), "runs past the end"},
        {"no trailer", good.substr(0, data_at + 12), "ends without a TRAILER"},
        {"escaping path", Writer().add("a/../../etc/passwd", s_ifreg | 0644, "x").trailer().bytes(), "escapes the archive root"},
        {"unknown type", Writer().add("weird", 0170644).trailer().bytes(), "unknown file type 0170000"},
        {"empty symlink", Writer().add("l", s_iflnk | 0777, "").trailer().bytes(), "empty target"},
        {"NUL in symlink", Writer().add("l", s_iflnk | 0777, std::string("a\0b", 3)).trailer().bytes(), "contains a NUL"},
        {"file over the root", Writer().add(".", s_ifreg | 0644).trailer().bytes(), "cannot replace the root"},
        {"file under a file", Writer().add("f", s_ifreg | 0644, "x").add("f/g", s_ifreg | 0644).trailer().bytes(),
         "cannot create parent directory \"f\""},
    };
    for (const Malformed& c : cases) {
        Vfs fresh(fake_clock);
        ASSERT_EQ(fresh.register_filesystem(&ramfs_type), 0);
        ASSERT_EQ(fresh.mount("ramfs", nullptr, "/"), 0);
        CpioReport r;
        EXPECT_LT(cpio_unpack(fresh, nullptr, c.archive.data(), c.archive.size(), &r), 0) << c.what;
        EXPECT_NE(std::string(r.error).find(c.message), std::string::npos)
            << c.what << ": got \"" << r.error << "\", expected \"" << c.message << "\"";
        EXPECT_EQ(std::string(r.error).rfind("cpio: member ", 0), 0u) << r.error;
    }
    // The message names the member and its offset.
    std::string second_bad = Writer().add("ok", s_ifreg | 0644, "x").bytes() + "garbage" + std::string(200, ' ');
    EXPECT_EQ(unpack(second_bad), -errno_inval);
    EXPECT_STREQ(report.error, "cpio: member 1 at offset 120: bad magic \"garbag\" (expected 070701 or 070702: a newc archive)");
    EXPECT_EQ(read_file("/ok"), "x");  // members before the problem stay
    // Without the final padding the archive is still accepted; data after the trailer is ignored.
    std::string unpadded = good.substr(0, good.size() - (good.size() % 4 ? 0 : 1));
    Vfs other(fake_clock);
    ASSERT_EQ(other.register_filesystem(&ramfs_type), 0);
    ASSERT_EQ(other.mount("ramfs", nullptr, "/"), 0);
    EXPECT_EQ(cpio_unpack(other, nullptr, unpadded.data(), unpadded.size(), &report), 0) << report.error;
    std::string extra = good + std::string(512, '\0') + "junk";
    EXPECT_EQ(cpio_unpack(other, nullptr, extra.data(), extra.size(), &report), 0) << report.error;
}

// Random corruption: every copy either unpacks or is rejected with a message (ASan/UBSan watch
// for anything worse).
TEST(CpioFuzz, CorruptedArchivesNeverCrash) {
    Writer w;
    w.add(".", s_ifdir | 0755).add("bin", s_ifdir | 0755).add("bin/prog", s_ifreg | 0755, std::string(300, 'p'));
    w.add("bin/link", s_iflnk | 0777, "prog").add("etc/deep/conf", s_ifreg | 0644, "key=value\n");
    w.add("h1", s_ifreg | 0644, "", 2, 55).add("h2", s_ifreg | 0644, "linked", 2, 55);
    w.add("dev/null", s_ifchr | 0666).trailer();
    const std::string original = w.bytes();
    std::mt19937 random(20240601);
    int accepted = 0, rejected = 0;
    for (int round = 0; round < 4000; ++round) {
        std::string copy = original;
        int edits = 1 + static_cast<int>(random() % 4);
        for (int e = 0; e < edits; ++e) {
            size_t at = random() % copy.size();
            switch (random() % 5) {
            case 0: copy[at] = static_cast<char>(random()); break;                   // any byte
            case 1: copy[at] = "0123456789abcdefx\0/."[random() % 20]; break;         // plausible
            case 2: copy.resize(at); break;                                          // truncate
            case 3: copy.insert(at, 1 + random() % 8, static_cast<char>(random())); break;
            case 4: copy[at] ^= static_cast<char>(1u << (random() % 8)); break;      // bit flip
            }
            if (copy.empty()) break;
        }
        Vfs vfs(fake_clock);
        ASSERT_EQ(vfs.register_filesystem(&ramfs_type), 0);
        ASSERT_EQ(vfs.mount("ramfs", nullptr, "/"), 0);
        // An exact-size heap copy, so ASan sees any read past the end.
        std::unique_ptr<char[]> exact(new char[copy.size() + 1]);
        memcpy(exact.get(), copy.data(), copy.size());
        CpioReport report;
        int result = cpio_unpack(vfs, nullptr, exact.get(), copy.size(), &report);
        if (result == 0) {
            ++accepted;
        } else {
            ++rejected;
            ASSERT_GT(strlen(report.error), 20u) << "round " << round;
        }
    }
    EXPECT_GT(accepted, 0);
    EXPECT_GT(rejected, 1000);
}

// Host trees for the round trips.
class HostTree : public CpioTest {
protected:
    std::filesystem::path dir;
    void SetUp() override {
        CpioTest::SetUp();
        char pattern[] = "/tmp/mica-cpio-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    void put(const std::string& relative, const std::string& content, std::filesystem::perms perms) {
        auto path = dir / relative;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << content;
        std::filesystem::permissions(path, perms);
    }
    std::string slurp(const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    int run(const std::string& command) { return system(command.c_str()); }
    void make_tree() {
        using std::filesystem::perms;
        put("tree/bin/prog", std::string(5000, 'b') + "end", perms::owner_all | perms::group_read | perms::others_exec);
        put("tree/etc/conf", "a=1\n", perms::owner_read | perms::owner_write);
        put("tree/empty.txt", "", perms::owner_read);
        std::filesystem::create_symlink("../etc/conf", dir / "tree/bin/conf-link");
        std::filesystem::create_directories(dir / "tree/var/empty");
    }
};

TEST_F(HostTree, RoundTripThroughMkramfs) {
    make_tree();
    put("extra", "added", std::filesystem::perms::owner_read);
    std::ofstream(dir / "manifest") << "# the test image\n"
                                       "/usr: tree\n"
                                       "\n"
                                       "/etc/motd: tree/etc/conf\n"
                                       "/srv/data/:\n"
                                       "/bin/sh: -> /usr/bin/prog\n";
    std::string command = std::string(MICA_PYTHON) + " " + MICA_SOURCE_DIR "/tools/mkramfs -o " + (dir / "out.cpio").string() +
                          " --mtime 1234 --add " + (dir / "extra").string() + ":/x/extra " + (dir / "manifest").string();
    ASSERT_EQ(run(command), 0) << command;
    std::string archive = slurp(dir / "out.cpio");
    ASSERT_EQ(unpack(archive), 0) << report.error;
    EXPECT_EQ(read_file("/usr/bin/prog"), std::string(5000, 'b') + "end");
    EXPECT_EQ(stat_of("/usr/bin/prog").st_mode, s_ifreg | 0741);
    EXPECT_EQ(stat_of("/usr/bin/prog").st_mtime_sec, 1234u);
    EXPECT_EQ(stat_of("/usr/etc/conf").st_mode, s_ifreg | 0600);
    EXPECT_EQ(readlink_of("/usr/bin/conf-link"), "../etc/conf");
    EXPECT_EQ(read_file("/usr/bin/conf-link"), "a=1\n");
    EXPECT_EQ(read_file("/etc/motd"), "a=1\n");
    EXPECT_EQ(read_file("/usr/empty.txt"), "");
    EXPECT_EQ(read_file("/x/extra"), "added");
    EXPECT_EQ(readlink_of("/bin/sh"), "/usr/bin/prog");
    EXPECT_EQ(read_file("/bin/sh"), std::string(5000, 'b') + "end");
    EXPECT_EQ(list("/srv/data"), std::vector<std::string>{});
    EXPECT_EQ(list("/usr/var/empty"), std::vector<std::string>{});
    EXPECT_EQ(list("/"), (std::vector<std::string>{"bin", "etc", "srv", "usr", "x"}));  // sorted by the tool

    // Deterministic: the same input gives the same bytes.
    ASSERT_EQ(run(command), 0);
    EXPECT_EQ(slurp(dir / "out.cpio"), archive);
}

TEST_F(HostTree, MkramfsReportsBadManifests) {
    std::string tool = std::string(MICA_PYTHON) + " " + MICA_SOURCE_DIR "/tools/mkramfs -o " + (dir / "out.cpio").string() + " ";
    auto error_of = [&](const std::string& manifest) {
        std::ofstream(dir / "m") << manifest;
        std::string command = tool + (dir / "m").string() + " 2>" + (dir / "err").string();
        int status = run(command);
        EXPECT_NE(status, 0) << manifest;
        return slurp(dir / "err");
    };
    std::string m = (dir / "m").string();
    EXPECT_EQ(error_of("# ok\n/a: missing-file\n"), "mkramfs: " + m + ":2: host path " + (dir / "missing-file").string() + " does not exist\n");
    EXPECT_EQ(error_of("no colon here\n"), "mkramfs: " + m + ":1: expected '/guest/path: host/path', got 'no colon here'\n");
    EXPECT_EQ(error_of("relative: m\n"), "mkramfs: " + m + ":1: guest path 'relative' must be absolute\n");
    EXPECT_EQ(error_of("/a: m\n/a: m\n"), "mkramfs: " + m + ":2: /a is already defined at " + m + ":1\n");
    EXPECT_EQ(error_of("/l: ->\n"), "mkramfs: " + m + ":1: symlink /l has no target\n");
    EXPECT_FALSE(std::filesystem::exists(dir / "out.cpio"));
}

TEST_F(HostTree, RoundTripThroughGnuCpio) {
    if (run("command -v cpio >/dev/null 2>&1") != 0) GTEST_SKIP() << "GNU cpio is not installed";
    make_tree();
    std::filesystem::create_hard_link(dir / "tree/etc/conf", dir / "tree/etc/conf-hardlink");
    std::string command = "cd " + (dir / "tree").string() + " && find . | LC_ALL=C sort | cpio --quiet -o -H newc > " +
                          (dir / "gnu.cpio").string();
    ASSERT_EQ(run(command), 0) << command;
    ASSERT_EQ(unpack(slurp(dir / "gnu.cpio")), 0) << report.error;
    EXPECT_EQ(read_file("/bin/prog"), std::string(5000, 'b') + "end");
    EXPECT_EQ(read_file("/etc/conf"), "a=1\n");
    EXPECT_EQ(read_file("/etc/conf-hardlink"), "a=1\n");
    EXPECT_EQ(ino("/etc/conf"), ino("/etc/conf-hardlink"));
    EXPECT_EQ(stat_of("/etc/conf").st_nlink, 2u);
    EXPECT_EQ(readlink_of("/bin/conf-link"), "../etc/conf");
    EXPECT_EQ(stat_of("/bin/prog").st_mode, s_ifreg | 0741);
    struct stat host;
    ASSERT_EQ(::stat((dir / "tree/bin/prog").c_str(), &host), 0);
    EXPECT_EQ(stat_of("/bin/prog").st_mtime_sec, static_cast<uint64_t>(host.st_mtime));
    EXPECT_EQ(stat_of("/bin/prog").st_uid, host.st_uid);
    EXPECT_EQ(list("/var/empty"), std::vector<std::string>{});

    // And the other way: GNU cpio lists a mkramfs archive.
    std::ofstream(dir / "manifest") << "/app: tree\n/link: -> app/bin/prog\n";
    ASSERT_EQ(run(std::string(MICA_PYTHON) + " " + MICA_SOURCE_DIR "/tools/mkramfs -o " + (dir / "m.cpio").string() + " " +
                  (dir / "manifest").string()),
              0);
    ASSERT_EQ(run("cpio --quiet -it < " + (dir / "m.cpio").string() + " > " + (dir / "list").string()), 0);
    EXPECT_EQ(slurp(dir / "list"),
              ".\napp\napp/bin\napp/bin/conf-link\napp/bin/prog\napp/empty.txt\napp/etc\napp/etc/conf\napp/etc/conf-hardlink\napp/var\napp/var/empty\nlink\n");
}

}  // namespace
