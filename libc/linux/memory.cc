// Memory system calls (process.def): the break and anonymous or file-backed private
// mappings over mm::vm. A file mapping is a copy of the file's bytes (MAP_SHARED writes do
// not reach the file).
#include <arch/traits.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <string.h>

using namespace mica;

int64_t sys_pread64(const uint64_t* args);  // files.cc

namespace {
constexpr int64_t e_badf = 9, e_nomem = 12, e_fault = 14, e_inval = 22, e_nodev = 19;
constexpr uint64_t map_shared = 0x01, map_private = 0x02, map_shared_validate = 0x03, map_fixed = 0x10,
                   map_anonymous = 0x20, map_populate = 0x8000, map_fixed_noreplace = 0x100000;
constexpr uint64_t page = 4096;
// No mapping can be larger than the application's part of the address space (this bound
// also keeps rounding up to pages from wrapping).
constexpr uint64_t max_length = arch::traits::app_space_end;
constexpr int known_prot = mm::prot_read | mm::prot_write | mm::prot_exec;
}  // namespace

int64_t sys_brk(const uint64_t* args) { return static_cast<int64_t>(mm::vm::set_break(args[0])); }

int64_t sys_mmap(const uint64_t* args) {
    uintptr_t addr = args[0];
    size_t length = args[1];
    int prot = static_cast<int>(args[2]);
    uint64_t flags = args[3];
    int fd = static_cast<int>(args[4]);
    uint64_t offset = args[5];
    uint64_t type = flags & map_shared_validate;
    if (length == 0 || (prot & ~known_prot) || (type != map_shared && type != map_private && type != map_shared_validate)) {
        return -e_inval;
    }
    if (length > max_length) return -e_nomem;  // Linux: larger than the address space
    if (offset & (page - 1)) return -e_inval;
    bool fixed = flags & map_fixed, no_replace = flags & map_fixed_noreplace;
    if ((fixed || no_replace) && (addr & (page - 1))) return -e_inval;
    bool anonymous = flags & map_anonymous;
    if (!anonymous && fd < 0) return -e_badf;
    // A file mapping starts writable so the file's bytes can be copied in.
    int initial = anonymous ? prot : prot | mm::prot_write;
    intptr_t at = mm::vm::map_anonymous(addr, length, initial, fixed);
    if (at < 0) return at;
    if (no_replace && !fixed && static_cast<uintptr_t>(at) != addr) {  // the hint was taken
        mm::vm::unmap(static_cast<uintptr_t>(at), length);
        return -17;  // EEXIST
    }
    if (!anonymous) {
        const uint64_t read_args[6] = {static_cast<uint64_t>(fd), static_cast<uint64_t>(at), length, offset, 0, 0};
        int64_t r = sys_pread64(read_args);
        if (r < 0) {
            mm::vm::unmap(static_cast<uintptr_t>(at), length);
            return r == -e_inval ? -e_nodev : r;  // e.g. a pipe: not mappable
        }
        if (initial != prot) mm::vm::protect(static_cast<uintptr_t>(at), length, prot);
    }
    // Linux keeps a mapping it could not populate; here memory is shared with the kernel,
    // so a mapping that took every free page would leave the kernel none: -ENOMEM instead.
    if ((flags & map_populate) && mm::vm::populate(static_cast<uintptr_t>(at), length) < 0) {
        mm::vm::unmap(static_cast<uintptr_t>(at), length);
        return -e_nomem;
    }
    return at;
}

int64_t sys_munmap(const uint64_t* args) { return mm::vm::unmap(args[0], args[1]); }

int64_t sys_mprotect(const uint64_t* args) {
    if (static_cast<int>(args[2]) & ~known_prot) return -e_inval;
    if (args[0] & (page - 1)) return -e_inval;
    if (args[1] == 0) return 0;
    return mm::vm::protect(args[0], args[1], static_cast<int>(args[2]));
}

int64_t sys_madvise(const uint64_t* args) {
    constexpr int madv_dontneed = 4, madv_free = 8;
    if (args[0] & (page - 1)) return -e_inval;
    if (args[1] == 0) return 0;
    int advice = static_cast<int>(args[2]);
    // Linux's advice values (0-25, MADV_HWPOISON 100, MADV_SOFT_OFFLINE 101); others are EINVAL.
    constexpr int last_advice = 25, madv_hwpoison = 100, madv_soft_offline = 101;
    if ((advice < 0 || advice > last_advice) && advice != madv_hwpoison && advice != madv_soft_offline) return -e_inval;
    if (advice == madv_dontneed || advice == madv_free) return mm::vm::discard(args[0], args[1]);
    return 0;  // the other hints change nothing here
}

int64_t sys_mremap(const uint64_t* args) {
    constexpr uint64_t mremap_maymove = 1, mremap_fixed = 2;
    uintptr_t old_addr = args[0];
    uint64_t flags = args[3];
    if ((old_addr & (page - 1)) || (flags & ~(mremap_maymove | mremap_fixed))) return -e_inval;
    if (flags & mremap_fixed) return -e_inval;  // not supported: callers fall back
    // Rounded up to pages without wrapping; a zero old size would duplicate a shared
    // mapping, which private copies cannot do.
    if (args[1] == 0 || args[2] == 0 || args[1] > max_length || args[2] > max_length) return -e_inval;
    size_t old_size = (args[1] + page - 1) & ~(page - 1), new_size = (args[2] + page - 1) & ~(page - 1);
    // As Linux: the old range must lie inside one mapping.
    int prot;
    if (int r = mm::vm::area_protection(old_addr, old_size, &prot); r < 0) return r;
    if (new_size <= old_size) {
        if (new_size < old_size) mm::vm::unmap(old_addr + new_size, old_size - new_size);
        return static_cast<int64_t>(old_addr);
    }
    if (!(flags & mremap_maymove)) return -e_nomem;  // growing in place is not supported
    intptr_t fresh = mm::vm::map_anonymous(0, new_size, mm::prot_read | mm::prot_write, false);
    if (fresh < 0) return fresh;
    // Copy through the kernel; unpopulated source pages read as zeros (they fault in). A
    // source the kernel cannot read (PROT_NONE, write-only) cannot be moved this way.
    if (mm::vm::copy_from_app(reinterpret_cast<void*>(fresh), reinterpret_cast<void*>(old_addr), old_size)) {
        mm::vm::unmap(static_cast<uintptr_t>(fresh), new_size);
        return -e_fault;
    }
    if (prot != (mm::prot_read | mm::prot_write)) mm::vm::protect(static_cast<uintptr_t>(fresh), new_size, prot);
    mm::vm::unmap(old_addr, old_size);
    return fresh;
}
