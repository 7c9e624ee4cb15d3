// The smallest file layer that runs a program: a ramfs root from the boot archive, the
// executable read from it, write/writev to the console. files.cc (the full file system
// calls, devfs, procfs) replaces it.
#include <mica/console.h>
#include <mica/fs/cpio.h>
#include <mica/fs/ramfs.h>
#include <mica/fs/vfs.h>
#include <mica/fs/file.h>
#include <mica/linux/files.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
using namespace mica;
namespace {
fs::Vfs* v;
fs::Timespec clk() { return {0, 0}; }
}
namespace mica::abi {
int files_init(const void* archive, size_t size, char* error, size_t n) {
    v = new fs::Vfs(clk);
    v->register_filesystem(&fs::ramfs_type);
    int r = v->mount("ramfs", nullptr, "/");
    if (r) { snprintf(error, n, "mount %d", r); return r; }
    fs::CpioReport rep{};
    if (size) r = fs::cpio_unpack(*v, v->root(), archive, size, &rep);
    if (r) snprintf(error, n, "cpio: %s", rep.error);
    return r;
}
int files_read_whole(const char* path, void** data, size_t* size) {
    fs::OpenFile* f;
    int r = v->open(v->root(), path, 0, 0, &f);
    if (r) return r;
    size_t cap = f->vnode()->size;
    char* b = (char*)malloc(cap ? cap : 1);
    int64_t got = f->pread(b, cap, 0);
    f->unref();
    if (got < 0) { free(b); return (int)got; }
    *data = b; *size = got; return 0;
}
void set_executable_path(const char*) {}
}
int64_t sys_write(const uint64_t* a) {
    char buf[512]; size_t n = a[2], done = 0;
    while (done < n) { size_t c = n - done > 512 ? 512 : n - done;
      if (mm::vm::copy_from_app(buf, (char*)a[1] + done, c)) return -14;
      console::write(buf, c); done += c; }
    return n;
}
int64_t sys_writev(const uint64_t* a) {
    struct { uint64_t base, len; } iov; int64_t total = 0;
    for (uint64_t i = 0; i < a[2]; ++i) { mm::vm::copy_from_app(&iov, (char*)a[1] + 16*i, 16);
      uint64_t w[3] = {a[0], iov.base, iov.len}; total += sys_write(w); }
    return total;
}
int64_t sys_ioctl(const uint64_t*) { return -25; }
int64_t sys_pread64(const uint64_t*) { return -22; }
