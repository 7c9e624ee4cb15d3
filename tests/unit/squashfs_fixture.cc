#include "squashfs_fixture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

namespace squashfs_test {

int MemorySource::read(uint64_t offset, void* buffer, size_t length) {
    ++reads;
    bytes_read += length;
    if (offset > bytes.size() || bytes.size() - offset < length) return -5;  // -EIO
    memcpy(buffer, bytes.data() + offset, length);
    return 0;
}

TempDir::TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/mica-squashfs-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back(0);
    if (!mkdtemp(buffer.data())) abort();
    path_ = buffer.data();
}

TempDir::~TempDir() {
    std::string command = "rm -rf '" + path_ + "'";
    if (system(command.c_str()) != 0) fprintf(stderr, "could not remove %s\n", path_.c_str());
}

const PseudoNode pseudo_nodes[] = {
    {"null", 'c', 0666, 0, 0, 1, 3},
    {"sda", 'b', 0660, 0, 6, 8, 0},
    {"big", 'c', 0600, 12, 34, 300, 70000},  // major above 255, minor above 255: the wide encoding
    {"pipe", 'f', 0644, 0, 0, 0, 0},
    {"socket", 's', 0755, 0, 0, 0, 0},
};
const size_t pseudo_node_count = sizeof(pseudo_nodes) / sizeof(pseudo_nodes[0]);

std::vector<std::string> pseudo_arguments() {
    std::vector<std::string> args = {"-p", "dev d 755 0 0"};
    for (const PseudoNode& n : pseudo_nodes) {
        char definition[128];
        if (n.type == 'c' || n.type == 'b') {
            snprintf(definition, sizeof(definition), "dev/%s %c %o %u %u %u %u", n.name, n.type, n.permissions, n.uid,
                     n.gid, n.major, n.minor);
        } else {
            snprintf(definition, sizeof(definition), "dev/%s i %o %u %u %c", n.name, n.permissions, n.uid, n.gid,
                     n.type);
        }
        args.push_back("-p");
        args.push_back(definition);
    }
    return args;
}

namespace {

void check(bool ok, const char* what, const std::string& path) {
    if (!ok) {
        fprintf(stderr, "build_tree: %s %s: %s\n", what, path.c_str(), strerror(errno));
        abort();
    }
}

class TreeBuilder {
public:
    explicit TreeBuilder(const std::string& root) : root_(root) {}

    std::string dir(const std::string& name, mode_t mode = 0755) {
        std::string path = root_ + "/" + name;
        check(mkdir(path.c_str(), mode) == 0, "mkdir", path);
        check(chmod(path.c_str(), mode) == 0, "chmod", path);
        dirs_.push_back(path);
        return path;
    }
    void file(const std::string& name, const std::vector<uint8_t>& data, mode_t mode = 0644) {
        std::string path = root_ + "/" + name;
        int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
        check(fd >= 0, "create", path);
        size_t done = 0;
        while (done < data.size()) {
            ssize_t n = write(fd, data.data() + done, data.size() - done);
            check(n > 0, "write", path);
            done += size_t(n);
        }
        close(fd);
        check(chmod(path.c_str(), mode) == 0, "chmod", path);
        stamp(path);
    }
    // A file of `size` bytes that is a hole except for the `pieces` written into it.
    void sparse(const std::string& name, uint64_t size, const std::vector<std::pair<uint64_t, std::vector<uint8_t>>>& pieces) {
        std::string path = root_ + "/" + name;
        int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
        check(fd >= 0, "create", path);
        check(ftruncate(fd, off_t(size)) == 0, "ftruncate", path);
        for (auto& [offset, bytes] : pieces) {
            check(pwrite(fd, bytes.data(), bytes.size(), off_t(offset)) == ssize_t(bytes.size()), "pwrite", path);
        }
        close(fd);
        stamp(path);
    }
    void symlink(const std::string& name, const std::string& target) {
        std::string path = root_ + "/" + name;
        check(::symlink(target.c_str(), path.c_str()) == 0, "symlink", path);
        stamp(path);
    }
    void hardlink(const std::string& existing, const std::string& name) {
        std::string path = root_ + "/" + name;
        check(link((root_ + "/" + existing).c_str(), path.c_str()) == 0, "link", path);
    }
    void fifo(const std::string& name) {
        std::string path = root_ + "/" + name;
        check(mkfifo(path.c_str(), 0640) == 0, "mkfifo", path);
        stamp(path);
    }
    void owner(const std::string& name, uid_t uid, gid_t gid) {
        if (geteuid() != 0) return;  // only root can give files away
        std::string path = root_ + "/" + name;
        check(lchown(path.c_str(), uid, gid) == 0, "lchown", path);
    }
    std::vector<uint8_t> random(size_t size) {
        std::vector<uint8_t> data(size);
        for (auto& b : data) b = uint8_t(rng_());
        return data;
    }
    std::vector<uint8_t> text(size_t size) {
        std::vector<uint8_t> data;
        data.reserve(size);
        unsigned line = 0;
        while (data.size() < size) {
            char buffer[80];
            int n = snprintf(buffer, sizeof(buffer), "line %u: the quick brown fox %u\n", line++, unsigned(rng_() % 1000));
            for (int i = 0; i < n && data.size() < size; ++i) data.push_back(uint8_t(buffer[i]));
        }
        return data;
    }
    // Directories get their mtimes last (adding entries changes them), deepest first.
    void finish() {
        for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) stamp(*it);
        stamp(root_);
    }

private:
    void stamp(const std::string& path) {
        timespec times[2] = {{1500000000, 0}, {time_t(1600000000 + 7919 * counter_++), 0}};
        check(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0, "utimensat", path);
    }
    std::string root_;
    std::vector<std::string> dirs_;
    std::mt19937 rng_{20261130};
    unsigned counter_ = 0;
};

}  // namespace

void build_tree(const std::string& root) {
    mkdir(root.c_str(), 0755);
    TreeBuilder t(root);
    t.file("empty", {});
    t.file("one", {'x'});
    t.dir("sizes");
    const size_t sizes[] = {4095, 4096, 4097, 65535, 65536, 65537, 131071, 131072, 131073, 300000, 1048575,
                            1048576, 1048577, 3 * 1048576 + 77};
    for (size_t size : sizes) {
        t.file("sizes/random_" + std::to_string(size), t.random(size));
        t.file("sizes/text_" + std::to_string(size), t.text(size));
    }
    t.file("big_random", t.random(5 * 1048576 + 12345));
    t.file("big_text", t.text(3 * 1048576 + 999));
    t.sparse("sparse", 3 * 1048576 + 1000, {{0, t.random(100)}, {1572864 + 17, t.random(5000)}, {3 * 1048576 + 999, {1}}});
    t.sparse("sparse_hole_end", 2 * 1048576, {{4096, t.random(4096)}});
    t.dir("links");
    t.symlink("links/absolute", "/etc/passwd");
    t.symlink("links/relative", "../one");
    t.symlink("links/dangling", "nowhere/at/all");
    t.symlink("links/long", std::string(4000, 'l'));
    t.file("hard_a", t.text(20000));
    t.hardlink("hard_a", "hard_b");
    std::string deep;
    for (int level = 0; level < 60; ++level) {
        deep += (level ? "/d" : "d") + std::to_string(level);
        t.dir(deep);
    }
    t.file(deep + "/leaf", t.text(777));
    t.dir("bigdir");
    for (int i = 0; i < 3000; ++i) {
        char name[80];
        snprintf(name, sizeof(name), "bigdir/entry_%05d_%s", i, std::string(size_t(i % 37), 'n').c_str());
        if (i % 500 == 7) {
            t.dir(name);
        } else {
            t.file(name, t.random(size_t(i % 50)));
        }
    }
    t.dir("names");
    t.file("names/caf\xc3\xa9", t.text(10));
    t.file("names/\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9", t.text(11));
    t.file("names/high\xff\xfe", t.text(12));
    t.file("names/with space", t.text(13));
    t.file("names/" + std::string(255, 'L'), t.text(14));
    t.file("names/A", t.text(1));
    t.file("names/a", t.text(2));
    t.dir("modes");
    t.file("modes/private", t.text(5), 0600);
    t.file("modes/exec", t.text(5), 0755);
    t.file("modes/setuid", t.text(5), 04755);
    t.file("modes/setgid", t.text(5), 02711);
    t.file("modes/none", t.text(5), 0);
    t.dir("modes/sticky", 01777);
    t.dir("owners");
    t.file("owners/user", t.text(3));
    t.owner("owners/user", 1000, 1000);
    t.file("owners/other", t.text(3));
    t.owner("owners/other", 1234, 4321);
    t.file("owners/nobody", t.text(3));
    t.owner("owners/nobody", 65534, 65534);
    t.fifo("fifo");
    t.dir("empty_dir");
    t.finish();
}

void build_small_tree(const std::string& root) {
    TreeBuilder t(root);
    t.file("empty", {});
    t.file("small", t.text(100));
    t.file("block", t.random(4096 * 2 + 10));
    t.file("text", t.text(40000));
    t.sparse("sparse", 20000, {{9000, t.random(10)}});
    t.symlink("link", "small");
    t.fifo("fifo");
    t.dir("sub");
    t.file("sub/inner", t.text(300));
    t.dir("sub/deeper");
    t.file("sub/deeper/leaf", t.text(5000));
    t.dir("many");
    for (int i = 0; i < 600; ++i) {
        char name[64];
        snprintf(name, sizeof(name), "many/file_%04d_%s", i, std::string(size_t(i % 13), 'z').c_str());
        t.file(name, t.text(size_t(i % 5)));
    }
    t.finish();
}

bool mksquashfs(const std::string& source, const std::string& image, const std::vector<std::string>& args,
                std::string* output) {
    if (!*MICA_MKSQUASHFS) {
        *output = "mksquashfs is missing: install squashfs-tools (tools/install-deps)";
        return false;
    }
    std::string command = std::string(MICA_MKSQUASHFS) + " '" + source + "' '" + image +
                          "' -noappend -quiet -no-progress -processors 1";
    for (const std::string& a : args) command += " '" + a + "'";
    command += " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return false;
    char buffer[512];
    output->clear();
    while (fgets(buffer, sizeof(buffer), pipe)) *output += buffer;
    int status = pclose(pipe);
    *output = command + "\n" + *output;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::vector<uint8_t> bytes;
    FILE* f = fopen(path.c_str(), "rb");
    if (!f) return bytes;
    char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
    fclose(f);
    return bytes;
}

}  // namespace squashfs_test
