// procfs, mounted on /proc: meminfo, cpuinfo, and self/ with exe (a symlink to the
// executable) and maps. Files are generated on every read (the slice at the offset is
// copied out), so a reader that reads in pieces may see a change between pieces; their
// size is 0, as on Linux. Formatting is in procfs_format.cc (host-tested).
#include <arch/arch.h>
#include <mica/linux/procfs_format.h>
#include <mica/mm/memory.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <stdlib.h>
#include <string.h>
#include <mica/linux/process.h>
#include "files_internal.h"

namespace mica::abi::files {
namespace {

// The executable's path for /proc/self/exe and the image lines of maps: the calling
// process's (processes.h), or for kernel threads the first program's. Owned here; written
// by set_executable_path.
char exe_path[fs::path_max] = "";
const char* my_exe_path() {
    const char* mine = abi::process_executable();
    return mine ? mine : exe_path;
}

using Generator = void (*)(Text& out);

class ProcFile final : public fs::Vnode {
public:
    ProcFile(fs::FileSystem* owner, Generator generate) : Vnode(owner, fs::s_ifreg | 0444), generate_(generate) {}

    int64_t read(uint64_t offset, void* buffer, size_t length) override {
        // Generate into a buffer that grows until the text fits.
        constexpr size_t largest = 4 * 1024 * 1024;
        for (size_t capacity = 4096; capacity <= largest; capacity *= 2) {
            char* text = static_cast<char*>(malloc(capacity));
            if (!text) return -fs::errno_nomem;
            Text out(text, capacity);
            generate_(out);
            if (out.overflowed() && capacity < largest) {
                free(text);
                continue;
            }
            size_t n = 0;
            if (offset < out.length()) {
                n = out.length() - offset;
                if (n > length) n = length;
                memcpy(buffer, text + offset, n);
            }
            free(text);
            return static_cast<int64_t>(n);
        }
        return -fs::errno_nomem;
    }
    int64_t write(uint64_t, const void*, size_t) override { return -fs::errno_acces; }
    int truncate(uint64_t) override { return -fs::errno_acces; }

private:
    Generator generate_;
};

class ExeLink final : public fs::Vnode {
public:
    explicit ExeLink(fs::FileSystem* owner) : Vnode(owner, fs::s_iflnk | 0777) {}
    int64_t readlink(char* buffer, size_t size) override {
        const char* path = my_exe_path();
        size_t n = strlen(path);
        if (n == 0) return -fs::errno_noent;  // no application loaded
        if (n > size) n = size;
        memcpy(buffer, path, n);
        return static_cast<int64_t>(n);
    }
};

void generate_meminfo(Text& out) {
    MemInfo info{};
    mm::PageAllocator& pages = mm::pages();
    info.total = pages.total_pages() * mm::page_size;
    info.free = pages.free_pages() * mm::page_size;
    info.available = info.free;
    info.anonymous = mm::vm::stats().resident_pages * mm::page_size;
    format_meminfo(out, info);
}

void generate_cpuinfo(Text& out) {
    unsigned processor = 0;
    for (unsigned cpu = 0; cpu < sched::max_cpus; ++cpu) {
        if (sched::cpu_online(cpu)) format_cpuinfo(out, processor++, arch::cpu_model());
    }
}

void maps_area(const mm::Vma& area, void* context) {
    // Runs under the VM spinlock: formatting only, into the caller's buffer.
    const char* name = nullptr;
    switch (area.kind) {
    case mm::VmaKind::reserved: return;  // the kernel's, not the application's
    case mm::VmaKind::heap: name = "[heap]"; break;
    case mm::VmaKind::stack: name = "[stack]"; break;
    case mm::VmaKind::image: name = exe_path[0] ? exe_path : nullptr; break;
    case mm::VmaKind::vdso: name = "[vdso]"; break;
    case mm::VmaKind::vvar: name = "[vvar]"; break;
    case mm::VmaKind::anonymous: break;
    }
    MapsLine line{area.start,
                  area.end,
                  (area.prot & mm::prot_read) != 0,
                  (area.prot & mm::prot_write) != 0,
                  (area.prot & mm::prot_exec) != 0,
                  false,
                  name};
    format_maps_line(*static_cast<Text*>(context), line);
}

void generate_maps(Text& out) { mm::vm::for_each_area(maps_area, &out); }

int procfs_create(fs::Clock clock, fs::FileSystem** out) {
    auto* procfs = fs::make_object<StaticFs>(clock);
    if (!procfs) return -fs::errno_nomem;
    fs::FileSystem* owner = procfs;
    auto* root = fs::make_object<StaticDir>(owner, static_cast<StaticDir*>(nullptr));
    if (!root) {
        delete procfs;
        return -fs::errno_nomem;
    }
    procfs->root_ = root;
    auto* self = fs::make_object<StaticDir>(owner, root);
    bool ok = self && self->add("exe", fs::make_object<ExeLink>(owner)) &&
              self->add("maps", fs::make_object<ProcFile>(owner, &generate_maps));
    ok = root->add("self", self) && ok;  // add() drops a node it cannot take
    root->set_dynamic(process_directories(owner, root));
    ok = ok && root->add("meminfo", fs::make_object<ProcFile>(owner, &generate_meminfo)) &&
         root->add("cpuinfo", fs::make_object<ProcFile>(owner, &generate_cpuinfo));
    if (!ok) {
        delete procfs;
        return -fs::errno_nomem;
    }
    *out = procfs;
    return 0;
}

}  // namespace

const fs::FileSystemType procfs_type{"procfs", procfs_create, fs::proc_super_magic};

const char* executable_path() { return my_exe_path(); }

void set_executable_path(const char* path) {
    // exec of /proc/self/exe (busybox runs its applets so) runs the same file again: its
    // path stays (recording the link itself would make it point at itself).
    if (strcmp(path, "/proc/self/exe") == 0) return;
    if (abi::set_process_executable(path)) return;
    size_t n = strnlen(path, sizeof(exe_path) - 1);
    memcpy(exe_path, path, n);
    exe_path[n] = '\0';
}

}  // namespace mica::abi::files

namespace mica::abi {
void set_executable_path(const char* path) { files::set_executable_path(path); }
}  // namespace mica::abi
