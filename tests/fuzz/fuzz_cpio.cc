// The boot-archive unpacker (fs/cpio.cc) into a ramfs VFS, on arbitrary bytes: it either
// stops with a message naming the member and the problem or unpacks, never reading outside
// the archive, and leaves nothing behind when the VFS goes (LeakSanitizer). The same
// archive is then unpacked again over the result, into a subdirectory too.
#include <mica/fs/cpio.h>
#include <mica/fs/ramfs.h>
#include <mica/fs/vfs.h>

#include <vector>

#include "fuzz.h"

using namespace mica::fs;

namespace {
Timespec fixed_clock() { return Timespec{1000, 0}; }

void unpack(Vfs& vfs, Vnode* at, const uint8_t* archive, size_t size) {
    CpioReport report;
    int r = cpio_unpack(vfs, at, archive, size, &report);
    FUZZ_CHECK(strnlen(report.error, sizeof report.error) < sizeof report.error);
    FUZZ_CHECK(r <= 0);
    if (r < 0) FUZZ_CHECK(report.error[0] != '\0');
    FUZZ_CHECK(report.bytes <= size);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> archive(data, data + size);  // exact size: ASan sees overreads
    Vfs vfs(fixed_clock);
    FUZZ_CHECK(vfs.register_filesystem(&ramfs_type) == 0);
    FUZZ_CHECK(vfs.mount("ramfs", nullptr, "/") == 0);
    unpack(vfs, nullptr, archive.data(), archive.size());
    unpack(vfs, nullptr, archive.data(), archive.size());
    if (vfs.mkdir(nullptr, "/sub", 0755) == 0) {
        Vnode* sub = nullptr;
        if (vfs.lookup(nullptr, "/sub", true, &sub) == 0) {
            unpack(vfs, sub, archive.data(), archive.size());
            sub->unref();
        }
    }
    return 0;
}
