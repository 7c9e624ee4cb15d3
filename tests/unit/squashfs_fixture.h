// Shared by the squashfs reader's tests: an in-memory Source, the deterministic source trees
// the tests build, and mksquashfs (squashfs-tools) run on them.
#pragma once

#include <mica/fs/squashfs.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace squashfs_test {

namespace sq = mica::fs::squashfs;

// The image's bytes in memory; reads past the end fail with -EIO like a device's.
class MemorySource : public sq::Source {
public:
    explicit MemorySource(std::vector<uint8_t> bytes) : bytes(std::move(bytes)) {}
    int read(uint64_t offset, void* buffer, size_t length) override;
    uint64_t size() const override { return bytes.size(); }
    std::vector<uint8_t> bytes;
    uint64_t reads = 0;
    uint64_t bytes_read = 0;
};

// A temporary directory, removed with everything in it when this goes away.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
private:
    std::string path_;
};

// The device nodes, FIFO and socket the tests add through mksquashfs pseudo definitions
// (a source tree cannot hold device nodes without root).
struct PseudoNode {
    const char* name;     // under /dev in the image
    char type;            // 'c', 'b', 'f' (FIFO), 's' (socket)
    uint32_t permissions;
    uint32_t uid, gid;
    uint32_t major, minor;
};
extern const PseudoNode pseudo_nodes[];
extern const size_t pseudo_node_count;
std::vector<std::string> pseudo_arguments();  // -p definitions for mksquashfs

// The main test tree: files of every size class around the block sizes, random and
// compressible data, a sparse file, symlinks (short, 4000 bytes, dangling), hard links, a
// 60-level deep path, a directory of 3000 entries, odd names (UTF-8, high bytes, 255 bytes),
// modes, owners (when run as root), a FIFO and an empty directory; fixed mtimes.
void build_tree(const std::string& root);
// A small tree for the corruption fuzz: a few of each kind, a 600-entry directory.
void build_small_tree(const std::string& root);

// Runs mksquashfs `source` `image` -noappend -quiet -no-progress -processors 1 `args`; the
// output (for failure messages) in *output. False when it fails or is missing.
bool mksquashfs(const std::string& source, const std::string& image, const std::vector<std::string>& args,
                std::string* output);
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace squashfs_test
