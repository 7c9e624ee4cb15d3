// Memory system calls (process.def): the break and anonymous or file-backed private
// mappings over mm::vm. A file mapping shares the file's pages copy-on-write where the file
// system keeps whole pages (ramfs), and is a copy of the file's bytes otherwise; MAP_SHARED
// writes never reach the file. Also msync, mincore, the mlock family and membarrier.
#include <arch/traits.h>
#include <mica/linux/files.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/sched/sched.h>
#include <string.h>
#include "processes.h"

using namespace mica;

int64_t sys_pread64(const uint64_t* args);  // files.cc

namespace {
constexpr int64_t e_perm = 1, e_badf = 9, e_again = 11, e_nomem = 12, e_fault = 14, e_inval = 22, e_nodev = 19;
constexpr uint64_t map_shared = 0x01, map_private = 0x02, map_shared_validate = 0x03, map_fixed = 0x10,
                   map_anonymous = 0x20, map_noreserve = 0x4000, map_populate = 0x8000,
                   map_fixed_noreplace = 0x100000;
constexpr uint64_t page = 4096;
// No mapping can be larger than the application's part of the address space (this bound
// also keeps rounding up to pages from wrapping).
constexpr uint64_t max_length = arch::traits::app_space_end;
constexpr int known_prot = mm::prot_read | mm::prot_write | mm::prot_exec;
}  // namespace

namespace {
size_t pages_in(uint64_t bytes) { return static_cast<size_t>((bytes + page - 1) / page); }
}  // namespace

int64_t sys_brk(const uint64_t* args) {
    // Growing asks for memory: refused (the break stays) when it cannot be had (vm.h).
    uintptr_t current = mm::vm::set_break(0);
    if (args[0] > current && !mm::vm::can_commit(pages_in(args[0] - current))) return static_cast<int64_t>(current);
    return static_cast<int64_t>(mm::vm::set_break(args[0]));
}

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
    // Writable memory is accounted (vm.h: can_commit), unless the caller waives it, as
    // Linux's MAP_NORESERVE does; a file mapping is a copy, so it always takes memory.
    bool accounted = (prot & mm::prot_write) || !anonymous;
    if (accounted && !(flags & map_noreserve) && !mm::vm::can_commit(pages_in(length))) return -e_nomem;
    // A file mapping starts writable so the file's bytes can be copied in.
    int initial = anonymous ? prot : prot | mm::prot_write;
    intptr_t at = mm::vm::map_anonymous(addr, length, initial, fixed);
    if (at < 0) return at;
    if (no_replace && !fixed && static_cast<uintptr_t>(at) != addr) {  // the hint was taken
        mm::vm::unmap(static_cast<uintptr_t>(at), length);
        return -17;  // EEXIST
    }
    if (!anonymous) {
        // The file's own pages where its file system keeps them (ramfs), copy-on-write, for
        // private mappings and read-only shared ones; otherwise a copy of the bytes. A shared
        // writable mapping is always a copy: its writes do not reach the file.
        int shared_pages = 0;
        if (type == map_private || !(prot & mm::prot_write)) {
            shared_pages = abi::files_map_fd_pages(fd, offset, static_cast<uintptr_t>(at), length);
        }
        int64_t r = shared_pages;
        if (shared_pages == 0) {
            const uint64_t read_args[6] = {static_cast<uint64_t>(fd), static_cast<uint64_t>(at), length, offset, 0, 0};
            r = sys_pread64(read_args);
        }
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
    if (!mm::vm::can_commit(pages_in(new_size))) return -e_nomem;
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

// ---- msync, mincore, mlock ----------------------------------------------------------------
namespace {
// The end of the run of application areas that covers `address` without a gap (`address`
// itself when no area holds it).
uintptr_t mapped_until(uintptr_t address) {
    uintptr_t at = address;
    mm::vm::for_each_area(
        [](const mm::Vma& area, void* context) {  // in address order
            auto* end = static_cast<uintptr_t*>(context);
            if (area.start <= *end && *end < area.end) *end = area.end;
        },
        &at);
    return at;
}

// mlock/munlock's range: [start rounded down, start + length rounded up), 0 or -errno as
// Linux's apply_vma_lock_flags (-EINVAL when it wraps, -ENOMEM when part is not mapped).
int64_t lock_range(uint64_t start, uint64_t length, uintptr_t* first, uintptr_t* end) {
    // Rounded as Linux rounds, wrapping: a length within a page of 2^64 becomes 0.
    uint64_t within = start & (page - 1);
    *first = start - within;
    *end = *first + ((length + within + page - 1) & ~(page - 1));
    if (*end < *first) return -e_inval;
    if (*end == *first) return 0;
    return mapped_until(*first) >= *end ? 0 : -e_nomem;
}
}  // namespace

// msync: validated as Linux does; nothing to write back (a MAP_SHARED file mapping is a copy
// here, see the top of the file). -ENOMEM when part of the range is not mapped.
int64_t sys_msync(const uint64_t* args) {
    constexpr uint64_t ms_async = 1, ms_invalidate = 2, ms_sync = 4;
    uint64_t start = args[0], flags = args[2];
    if (flags & ~(ms_async | ms_invalidate | ms_sync)) return -e_inval;
    if (start & (page - 1)) return -e_inval;
    if ((flags & ms_async) && (flags & ms_sync)) return -e_inval;
    // Rounded up as Linux does it, wrapping: a length within a page of 2^64 becomes 0.
    uint64_t end = start + ((args[1] + page - 1) & ~(page - 1));
    if (end < start) return -e_nomem;
    if (end == start) return 0;
    return mapped_until(start) >= end ? 0 : -e_nomem;
}

// mincore(start, length, vec): a byte per page, 1 when the page is in memory (populated).
// As Linux: -ENOMEM at the first page no area holds, after writing the bytes before it.
int64_t sys_mincore(const uint64_t* args) {
    uint64_t start = args[0], length = args[1];
    if (start & (page - 1)) return -e_inval;
    if (!mm::vm::access_ok(start, length)) return -e_nomem;
    uint64_t pages = length / page + ((length & (page - 1)) != 0);
    if (!mm::vm::access_ok(args[2], pages)) return -e_fault;
    constexpr size_t chunk = 512;  // bytes of vec per copy
    uint8_t bytes[chunk];
    mm::vm::Space* space = mm::vm::current_space();
    for (uint64_t done = 0; done < pages;) {
        uintptr_t address = start + done * page, end = mapped_until(address);
        if (end == address) return -e_nomem;
        uint64_t run = (end - address) / page;
        if (run > pages - done) run = pages - done;
        if (run > chunk) run = chunk;
        for (uint64_t i = 0; i < run; ++i) bytes[i] = mm::vm::page_references(space, address + i * page) ? 1 : 0;
        if (mm::vm::copy_to_app(reinterpret_cast<uint8_t*>(args[2]) + done, bytes, run)) return -e_fault;
        done += run;
    }
    return 0;
}

namespace {
// mlock/mlock2: Mica never pages memory out, so locking is populating the range now (its
// later use takes no page fault, as after Linux's mlock); the lock itself is not recorded
// (msync's MS_INVALIDATE does not answer EBUSY for locked pages), so RLIMIT_MEMLOCK bounds
// each call, not the total, for a process without CAP_IPC_LOCK.
int64_t do_mlock(uint64_t start, uint64_t length) {
    constexpr int rlimit_memlock = 8;
    uint64_t limit = ~uint64_t{0};
    if (!abi::capable(abi::cap_ipc_lock)) {
        sched::SpinGuard guard(abi::process_lock);
        if (abi::Process* p = abi::current_process()) limit = p->limits[rlimit_memlock].soft;
    }
    if (limit == 0) return -e_perm;
    uintptr_t first, end;
    if (int64_t r = lock_range(start, length, &first, &end); r < 0 || end == first) return r;
    if (end - first > limit) return -e_nomem;
    // Out of memory is EAGAIN for mlock (Linux's __mlock_posix_error_return).
    return mm::vm::populate(first, end - first) < 0 ? -e_again : 0;
}
}  // namespace

int64_t sys_mlock(const uint64_t* args) { return do_mlock(args[0], args[1]); }

int64_t sys_mlock2(const uint64_t* args) {
    constexpr uint64_t mlock_onfault = 1;
    if (args[2] & ~mlock_onfault) return -e_inval;
    if (args[2] & mlock_onfault) {  // lock what is touched, when it is: nothing to do now
        uintptr_t first, end;
        return lock_range(args[0], args[1], &first, &end);
    }
    return do_mlock(args[0], args[1]);
}

int64_t sys_munlock(const uint64_t* args) {
    uintptr_t first, end;
    return lock_range(args[0], args[1], &first, &end);
}

// mlockall: validated; what is mapped is not populated (reservations such as a Go heap's
// would take all memory), pages stay once touched, as locked ones would.
int64_t sys_mlockall(const uint64_t* args) {
    constexpr uint64_t mcl_current = 1, mcl_future = 2, mcl_onfault = 4;
    uint64_t flags = args[0];
    if (!flags || (flags & ~(mcl_current | mcl_future | mcl_onfault)) || flags == mcl_onfault) return -e_inval;
    return 0;
}

int64_t sys_munlockall(const uint64_t*) { return 0; }

// ---- membarrier ---------------------------------------------------------------------------
// The expedited commands interrupt every other CPU (sched::synchronize_cpus) - more than the
// CPUs running the caller's threads, which Linux limits itself to, never fewer. The RSEQ
// commands are not offered (no rseq: Linux without CONFIG_RSEQ answers the same).
int64_t sys_membarrier(const uint64_t* args) {
    constexpr int query = 0, global = 1, global_expedited = 2, register_global_expedited = 4,
                  private_expedited = 8, register_private_expedited = 16, private_expedited_sync_core = 32,
                  register_private_expedited_sync_core = 64, private_expedited_rseq = 128, flag_cpu = 1,
                  get_registrations = 512;
    constexpr int supported = global | global_expedited | register_global_expedited | private_expedited |
                              register_private_expedited | private_expedited_sync_core |
                              register_private_expedited_sync_core | get_registrations;
    int command = static_cast<int>(args[0]);
    auto flags = static_cast<unsigned>(args[1]);
    if (command == private_expedited_rseq ? flags && flags != flag_cpu : flags != 0) return -e_inval;
    abi::Process* p = abi::current_process();
    uint32_t dummy = 0;
    uint32_t& registered = p ? p->membarrier_registered : dummy;
    switch (command) {
    case query:
        return supported;
    case global:
    case global_expedited:
        sched::synchronize_cpus();
        return 0;
    case private_expedited:
    case private_expedited_sync_core: {
        // Each needs its own registration first (the one this command's bit doubled names).
        uint32_t needed = static_cast<uint32_t>(command) * 2;
        if (!(__atomic_load_n(&registered, __ATOMIC_ACQUIRE) & needed)) return -e_perm;
        sched::synchronize_cpus();
        return 0;
    }
    case register_global_expedited:
    case register_private_expedited:
    case register_private_expedited_sync_core:
        __atomic_fetch_or(&registered, static_cast<uint32_t>(command), __ATOMIC_ACQ_REL);
        return 0;
    case get_registrations:
        return __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
    default:
        return -e_inval;
    }
}
