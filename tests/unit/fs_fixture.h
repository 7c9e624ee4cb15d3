// Shared set-up for the fs tests: a VFS with ramfs registered and mounted at "/", a clock the
// test controls, and helpers that read and write whole files.
#pragma once

#include <gtest/gtest.h>
#include <mica/fs/ramfs.h>
#include <mica/fs/vfs.h>

#include <string>
#include <vector>

namespace fs_test {

using namespace mica::fs;

inline Timespec fake_now{1000, 5};
inline Timespec fake_clock() { return fake_now; }

class VfsTest : public ::testing::Test {
protected:
    Vfs vfs{fake_clock};

    void SetUp() override {
        fake_now = Timespec{1000, 5};
        ASSERT_EQ(vfs.register_filesystem(&ramfs_type), 0);
        ASSERT_EQ(vfs.mount("ramfs", nullptr, "/"), 0);
    }

    // open + write + close; 0 or -errno.
    int write_file(const char* path, const std::string& content, int flags = o_wronly | o_creat | o_trunc) {
        OpenFile* f;
        int r = vfs.open(nullptr, path, flags, 0644, &f);
        if (r < 0) return r;
        int64_t n = f->write(content.data(), content.size());
        f->unref();
        return n < 0 ? static_cast<int>(n) : 0;
    }
    // The whole content, or "<error N>".
    std::string read_file(const char* path, Vnode* at = nullptr) {
        OpenFile* f;
        int r = vfs.open(at, path, o_rdonly, 0, &f);
        if (r < 0) return "<error " + std::to_string(-r) + ">";
        std::string out;
        char buffer[7];  // small: exercises repeated reads
        int64_t n;
        while ((n = f->read(buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
        f->unref();
        if (n < 0) return "<error " + std::to_string(-n) + ">";
        return out;
    }
    // The vnode at `path` (a reference the test drops), or nullptr.
    Vnode* node(const char* path, bool follow = true, Vnode* at = nullptr) {
        Vnode* v = nullptr;
        return vfs.lookup(at, path, follow, &v) == 0 ? v : nullptr;
    }
    int lookup_error(const char* path, bool follow = true, Vnode* at = nullptr) {
        Vnode* v = nullptr;
        int r = vfs.lookup(at, path, follow, &v);
        if (r == 0) v->unref();
        return r;
    }
    uint64_t ino(const char* path, bool follow = true) {
        Vnode* v = node(path, follow);
        if (!v) return 0;
        uint64_t i = v->ino;
        v->unref();
        return i;
    }
    // Names in a directory through getdents64, in order (without "." and "..").
    std::vector<std::string> list(const char* path) {
        std::vector<std::string> names;
        OpenFile* f;
        if (vfs.open(nullptr, path, o_rdonly | o_directory, 0, &f) < 0) return {"<error>"};
        alignas(8) char buffer[512];
        int64_t n;
        while ((n = f->getdents64(buffer, sizeof buffer)) > 0) {
            for (int64_t at = 0; at < n;) {
                auto* d = reinterpret_cast<LinuxDirent64*>(buffer + at);
                std::string name = d->d_name;
                if (name != "." && name != "..") names.push_back(name);
                at += d->d_reclen;
            }
        }
        f->unref();
        return names;
    }
};

}  // namespace fs_test
