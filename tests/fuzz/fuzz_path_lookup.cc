// Path lookup (fs/vfs.cc) under a sequence of operations from the fuzzer: directories,
// files, symlinks (to anything, chains and loops), hard links, renames, removals and a
// second mount, then lookups with and without following the last link, from "/" and from a
// held directory. Paths are built from a small alphabet ("a", "b", ".", "..", "/", long
// names, symlink-heavy components) so the fuzzer reaches the interesting cases quickly.
// Checks: results are 0 or a -errno, a found vnode is a real one, readlink stays in its
// buffer, and when everything is closed and the VFS destroyed nothing is left (references
// leaked by an error path show up as LeakSanitizer reports).
#include <mica/fs/ramfs.h>
#include <mica/fs/vfs.h>

#include <string>
#include <vector>

#include "fuzz.h"

using namespace mica::fs;

namespace {
Timespec fixed_clock() { return Timespec{1000, 0}; }

std::string path(fuzz::Input& in) {
    static const char* const parts[] = {"a", "b", "c", ".", "..", "/", "//", "l", "m", "d/", "/a/b", "x"};
    std::string p = in.byte() & 1 ? "/" : "";
    size_t n = in.below(8);
    for (size_t i = 0; i < n; ++i) {
        uint8_t choice = in.byte();
        if (choice == 0xff) p += std::string(name_max + (in.byte() & 1), 'n');  // 255 ok, 256 too long
        else if (choice == 0xfe) p += std::string(path_max, 'p');
        else p += parts[choice % (sizeof parts / sizeof parts[0])];
        if (in.byte() & 1) p += "/";
    }
    return p;
}

int check_result(int r) {
    FUZZ_CHECK(r <= 0 && r > -4096);
    return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    Vfs vfs(fixed_clock);
    FUZZ_CHECK(vfs.register_filesystem(&ramfs_type) == 0);
    FUZZ_CHECK(vfs.mount("ramfs", nullptr, "/") == 0);
    std::vector<OpenFile*> open_files;
    Vnode* held = nullptr;  // a directory to resolve relative paths from (a cwd)
    for (int step = 0; step < 64 && !in.done(); ++step) {
        std::string a = path(in), b = path(in);
        Vnode* at = in.byte() & 1 ? held : nullptr;
        switch (in.below(12)) {
        case 0: check_result(vfs.mkdir(at, a.c_str(), 0755)); break;
        case 1: {
            OpenFile* f = nullptr;
            int flags = o_creat | (in.byte() & 1 ? o_rdwr : o_rdonly) | (in.byte() & 1 ? o_excl : 0) |
                        (in.byte() & 1 ? o_nofollow : 0) | (in.byte() & 1 ? o_directory : 0) | (in.byte() & 1 ? o_trunc : 0);
            if (check_result(vfs.open(at, a.c_str(), flags & ~(in.byte() & 1 ? o_creat : 0), 0644, &f)) == 0) {
                FUZZ_CHECK(f != nullptr && f->vnode() != nullptr);
                if (f->writable()) (void)f->write("data", 4);
                open_files.push_back(f);
            }
            break;
        }
        case 2: check_result(vfs.symlink(b.c_str(), at, a.c_str())); break;
        case 3: check_result(vfs.link(at, a.c_str(), nullptr, b.c_str())); break;
        case 4: check_result(vfs.unlink(at, a.c_str())); break;
        case 5: check_result(vfs.rmdir(at, a.c_str())); break;
        case 6: check_result(vfs.rename(at, a.c_str(), nullptr, b.c_str())); break;
        case 7: check_result(vfs.mount("ramfs", at, a.c_str())); break;
        case 8: {
            char buffer[64];
            int64_t n = vfs.readlink(at, a.c_str(), buffer, in.below(sizeof buffer + 1));
            FUZZ_CHECK(n <= static_cast<int64_t>(sizeof buffer) && n > -4096);
            break;
        }
        case 9: {
            LinuxStat st;
            check_result(vfs.stat(at, a.c_str(), in.byte() & 1, &st));
            break;
        }
        case 10: {  // hold a directory as the base of relative lookups
            Vnode* v = nullptr;
            if (check_result(vfs.lookup(nullptr, a.c_str(), true, &v)) == 0) {
                FUZZ_CHECK(v != nullptr);
                if (held) held->unref();
                held = v;
            }
            break;
        }
        default: {
            Vnode* v = nullptr;
            if (check_result(vfs.lookup(at, a.c_str(), in.byte() & 1, &v)) == 0) {
                FUZZ_CHECK(v != nullptr);
                v->unref();
            }
        }
        }
        Vnode* root = nullptr;  // "/" always resolves to the root
        FUZZ_CHECK(vfs.lookup(nullptr, "/", true, &root) == 0 && root == vfs.root());
        root->unref();
    }
    for (OpenFile* f : open_files) f->unref();
    if (held) held->unref();
    return 0;
}
