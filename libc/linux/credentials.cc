// User and group ids, supplementary groups and capabilities (process.def): Linux's rules for
// a system without user namespaces or security modules. Every process starts as root with
// every capability; a program may become another user and back as Linux allows, and what
// it asked for is what getuid/getresuid/capget report. Mica does not check file permissions
// (fs/vfs.h), so the ids change what programs see and what later set*id calls may do, not
// which files they can open. Credentials are per process (processes.h says why).
#include <mica/linux/process.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/sched/spinlock.h>
#include <stdlib.h>
#include <string.h>
#include "processes.h"

using namespace mica;
using abi::Credentials;
using abi::Process;

namespace {
constexpr int64_t e_perm = 1, e_srch = 3, e_nomem = 12, e_fault = 14, e_inval = 22;
constexpr uint32_t unchanged = 0xffffffff;  // (uid_t)-1: leave this id as it is
constexpr int ngroups_max = 65536;          // NGROUPS_MAX
// Capabilities that follow the filesystem uid (setfsuid): CAP_CHOWN, DAC_OVERRIDE,
// DAC_READ_SEARCH, FOWNER, FSETID, MKNOD, MAC_OVERRIDE (Linux's CAP_FS_MASK).
constexpr uint64_t cap_fs_mask = 0x1f | (uint64_t{1} << 27) | (uint64_t{1} << 32);

// Root's credentials, for system calls made on kernel threads (the in-kernel tests); owned
// here, guarded by process_lock like every process's.
Credentials kernel_credentials;

Credentials& credentials_of(Process* p) { return p ? p->credentials : kernel_credentials; }
Credentials& mine() { return credentials_of(abi::current_process()); }

bool has(const Credentials& c, int cap) { return (c.cap_effective >> cap) & 1; }

uint32_t id_arg(uint64_t value) { return static_cast<uint32_t>(value); }

// Linux's cap_emulate_setxuid: capabilities follow the uids unless the program asked to keep
// them (no SECURE_KEEP_CAPS here). Under process_lock.
void fix_capabilities(Credentials& c, uint32_t old_ruid, uint32_t old_euid, uint32_t old_suid) {
    bool had_root = old_ruid == 0 || old_euid == 0 || old_suid == 0;
    bool has_root = c.ruid == 0 || c.euid == 0 || c.suid == 0;
    if (had_root && !has_root) c.cap_permitted = c.cap_effective = 0;
    if (old_euid == 0 && c.euid != 0) c.cap_effective = 0;
    if (old_euid != 0 && c.euid == 0) c.cap_effective = c.cap_permitted;
}

// setfsuid's share of the same (cap_task_fix_setuid, LSM_SETID_FS).
void fix_fs_capabilities(Credentials& c, uint32_t old_fsuid) {
    if (old_fsuid == 0 && c.fsuid != 0) c.cap_effective &= ~cap_fs_mask;
    if (old_fsuid != 0 && c.fsuid == 0) c.cap_effective |= c.cap_permitted & cap_fs_mask;
}

// The ids of one kind (user or group) of a credential set, so one body serves both.
struct Ids {
    uint32_t *real, *effective, *saved, *fs;
    int cap;  // CAP_SETUID or CAP_SETGID
};
Ids user_ids(Credentials& c) { return {&c.ruid, &c.euid, &c.suid, &c.fsuid, abi::cap_setuid}; }
Ids group_ids(Credentials& c) { return {&c.rgid, &c.egid, &c.sgid, &c.fsgid, abi::cap_setgid}; }

bool is_one_of(uint32_t id, const Ids& ids) { return id == *ids.real || id == *ids.effective || id == *ids.saved; }

// Runs `change` on the calling process's credentials under the lock and fixes the
// capabilities up after a change of user ids.
template <typename Change>
int64_t change_ids(bool users, Change change) {
    sched::SpinGuard guard(abi::process_lock);
    Credentials& c = mine();
    uint32_t ruid = c.ruid, euid = c.euid, suid = c.suid;
    int64_t r = change(users ? user_ids(c) : group_ids(c), has(c, users ? abi::cap_setuid : abi::cap_setgid));
    if (r == 0 && users) fix_capabilities(c, ruid, euid, suid);
    return r;
}

// setuid/setgid: with the capability every id; else the effective one, to the real or saved.
int64_t set_id(bool users, uint32_t id) {
    if (id == unchanged) return -e_inval;
    return change_ids(users, [&](Ids ids, bool privileged) -> int64_t {
        if (privileged) {
            *ids.real = *ids.saved = id;
        } else if (id != *ids.real && id != *ids.saved) {
            return -e_perm;
        }
        *ids.effective = *ids.fs = id;
        return 0;
    });
}

// setreuid/setregid, as Linux's: the saved id follows the effective one when the real one
// is set or the effective one becomes other than the old real one.
int64_t set_real_effective(bool users, uint32_t real, uint32_t effective) {
    return change_ids(users, [&](Ids ids, bool privileged) -> int64_t {
        uint32_t old_real = *ids.real, old_effective = *ids.effective;
        if (real != unchanged && !privileged && real != old_real && real != old_effective) return -e_perm;
        if (effective != unchanged && !privileged && !is_one_of(effective, ids)) return -e_perm;
        if (real != unchanged) *ids.real = real;
        if (effective != unchanged) *ids.effective = effective;
        if (real != unchanged || (effective != unchanged && effective != old_real)) *ids.saved = *ids.effective;
        *ids.fs = *ids.effective;
        return 0;
    });
}

int64_t set_real_effective_saved(bool users, uint32_t real, uint32_t effective, uint32_t saved) {
    return change_ids(users, [&](Ids ids, bool privileged) -> int64_t {
        if (!privileged) {
            for (uint32_t id : {real, effective, saved}) {
                if (id != unchanged && !is_one_of(id, ids)) return -e_perm;
            }
        }
        if (real != unchanged) *ids.real = real;
        if (effective != unchanged) *ids.effective = effective;
        if (saved != unchanged) *ids.saved = saved;
        *ids.fs = *ids.effective;
        return 0;
    });
}

int64_t get_real_effective_saved(bool users, uint64_t real_at, uint64_t effective_at, uint64_t saved_at) {
    uint32_t ids[3];
    {
        sched::SpinGuard guard(abi::process_lock);
        Ids i = users ? user_ids(mine()) : group_ids(mine());
        ids[0] = *i.real;
        ids[1] = *i.effective;
        ids[2] = *i.saved;
    }
    const uint64_t at[3] = {real_at, effective_at, saved_at};
    for (int k = 0; k < 3; ++k) {
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(at[k]), &ids[k], sizeof ids[k])) return -e_fault;
    }
    return 0;
}

// setfsuid/setfsgid: the old filesystem id either way (no error is ever returned); the new
// one only when it is one of the others or the caller has the capability.
int64_t set_fs_id(bool users, uint32_t id) {
    sched::SpinGuard guard(abi::process_lock);
    Credentials& c = mine();
    Ids ids = users ? user_ids(c) : group_ids(c);
    uint32_t old = *ids.fs;
    if (id != unchanged && (is_one_of(id, ids) || id == old || has(c, ids.cap))) {
        *ids.fs = id;
        if (users) fix_fs_capabilities(c, old);
    }
    return old;
}

// Heapsort (the kernel has no qsort): up to NGROUPS_MAX ids, in place, O(n log n).
void sort_ids(uint32_t* ids, size_t n) {
    auto sift_down = [ids](size_t root, size_t end) {
        for (size_t child; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && ids[child] < ids[child + 1]) ++child;
            if (ids[root] >= ids[child]) return;
            uint32_t t = ids[root];
            ids[root] = ids[child];
            ids[child] = t;
        }
    };
    for (size_t i = n / 2; i-- > 0;) sift_down(i, n);
    for (size_t end = n; end > 1; --end) {
        uint32_t t = ids[0];
        ids[0] = ids[end - 1];
        ids[end - 1] = t;
        sift_down(0, end - 1);
    }
}

uint32_t read_id(uint32_t Credentials::*field) {
    sched::SpinGuard guard(abi::process_lock);
    return mine().*field;
}
}  // namespace

namespace mica::abi {

Credentials::~Credentials() { free(groups); }

void credentials_exec() {
    // Linux's execve of a file with no set-id bits and no file capabilities: the saved and
    // filesystem ids become the effective ones; root (real or effective) gets every
    // capability of the bounding set (all here), effective only with effective uid 0;
    // anyone else has none.
    sched::SpinGuard guard(process_lock);
    Credentials& c = mine();
    c.suid = c.fsuid = c.euid;
    c.sgid = c.fsgid = c.egid;
    bool root = c.ruid == 0 || c.euid == 0;
    c.cap_permitted = root ? capabilities_all : 0;
    c.cap_effective = c.euid == 0 ? c.cap_permitted : 0;
}

bool capable(int cap) {
    sched::SpinGuard guard(process_lock);
    return has(mine(), cap);
}

bool inherit_credentials(Process* child, const Process* parent) {
    // The groups are copied into memory allocated outside the lock (which keeps interrupts
    // off); a sibling thread changing them meanwhile makes it try again.
    for (;;) {
        int count;
        {
            sched::SpinGuard guard(process_lock);
            count = parent->credentials.group_count;
        }
        auto* groups = count ? static_cast<uint32_t*>(malloc(count * sizeof(uint32_t))) : nullptr;
        if (count && !groups) return false;
        sched::SpinGuard guard(process_lock);
        const Credentials& from = parent->credentials;
        if (from.group_count != count) {
            free(groups);
            continue;
        }
        Credentials& to = child->credentials;
        to.ruid = from.ruid;
        to.euid = from.euid;
        to.suid = from.suid;
        to.fsuid = from.fsuid;
        to.rgid = from.rgid;
        to.egid = from.egid;
        to.sgid = from.sgid;
        to.fsgid = from.fsgid;
        to.cap_effective = from.cap_effective;
        to.cap_permitted = from.cap_permitted;
        to.cap_inheritable = from.cap_inheritable;
        if (count) memcpy(groups, from.groups, count * sizeof(uint32_t));
        to.groups = groups;
        to.group_count = count;
        return true;
    }
}

}  // namespace mica::abi

int64_t sys_getuid(const uint64_t*) { return read_id(&Credentials::ruid); }
int64_t sys_geteuid(const uint64_t*) { return read_id(&Credentials::euid); }
int64_t sys_getgid(const uint64_t*) { return read_id(&Credentials::rgid); }
int64_t sys_getegid(const uint64_t*) { return read_id(&Credentials::egid); }

int64_t sys_setuid(const uint64_t* args) { return set_id(true, id_arg(args[0])); }
int64_t sys_setgid(const uint64_t* args) { return set_id(false, id_arg(args[0])); }
int64_t sys_setreuid(const uint64_t* args) { return set_real_effective(true, id_arg(args[0]), id_arg(args[1])); }
int64_t sys_setregid(const uint64_t* args) { return set_real_effective(false, id_arg(args[0]), id_arg(args[1])); }
int64_t sys_setresuid(const uint64_t* args) {
    return set_real_effective_saved(true, id_arg(args[0]), id_arg(args[1]), id_arg(args[2]));
}
int64_t sys_setresgid(const uint64_t* args) {
    return set_real_effective_saved(false, id_arg(args[0]), id_arg(args[1]), id_arg(args[2]));
}
int64_t sys_getresuid(const uint64_t* args) { return get_real_effective_saved(true, args[0], args[1], args[2]); }
int64_t sys_getresgid(const uint64_t* args) { return get_real_effective_saved(false, args[0], args[1], args[2]); }
int64_t sys_setfsuid(const uint64_t* args) { return set_fs_id(true, id_arg(args[0])); }
int64_t sys_setfsgid(const uint64_t* args) { return set_fs_id(false, id_arg(args[0])); }

// getgroups(size, list): the count when size is 0, -EINVAL when the list is too small.
int64_t sys_getgroups(const uint64_t* args) {
    auto size = static_cast<int>(args[0]);
    if (size < 0) return -e_inval;
    for (;;) {
        int count;
        {
            sched::SpinGuard guard(abi::process_lock);
            count = mine().group_count;
        }
        if (size == 0 || count == 0) return count;
        if (size < count) return -e_inval;
        auto* copy = static_cast<uint32_t*>(malloc(count * sizeof(uint32_t)));
        if (!copy) return -e_nomem;
        bool same;
        {
            sched::SpinGuard guard(abi::process_lock);
            same = mine().group_count == count;
            if (same) memcpy(copy, mine().groups, count * sizeof(uint32_t));
        }
        int64_t r = same ? count : -1;
        if (same && mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), copy, count * sizeof(uint32_t))) r = -e_fault;
        free(copy);
        if (r != -1) return r;
    }
}

// setgroups(size, list): CAP_SETGID; kept sorted, as Linux's groups_sort leaves them.
int64_t sys_setgroups(const uint64_t* args) {
    auto size = static_cast<int64_t>(static_cast<int32_t>(args[0]));
    if (!abi::capable(abi::cap_setgid)) return -e_perm;  // Linux checks this first
    if (size < 0 || size > ngroups_max) return -e_inval;
    uint32_t* groups = nullptr;
    if (size > 0) {
        groups = static_cast<uint32_t*>(malloc(size * sizeof(uint32_t)));
        if (!groups) return -e_nomem;
        if (mm::vm::copy_from_app(groups, reinterpret_cast<const void*>(args[1]), size * sizeof(uint32_t))) {
            free(groups);
            return -e_fault;
        }
        sort_ids(groups, static_cast<size_t>(size));
    }
    {
        sched::SpinGuard guard(abi::process_lock);
        Credentials& c = mine();
        uint32_t* old = c.groups;
        c.groups = groups;
        c.group_count = static_cast<int>(size);
        groups = old;
    }
    free(groups);
    return 0;
}

// ---- capabilities -------------------------------------------------------------------------
namespace {
constexpr uint32_t cap_version_1 = 0x19980330, cap_version_2 = 0x20071026, cap_version_3 = 0x20080522;
struct CapHeader {
    uint32_t version;
    int32_t pid;
};
struct CapData {
    uint32_t effective, permitted, inheritable;
};

// The number of CapData records `header`'s version takes (1 or 2), or -errno: an unknown
// version is answered with the one this kernel speaks, written back, and -EINVAL.
int cap_records(uint64_t header) {
    uint32_t version;
    if (mm::vm::copy_from_app(&version, reinterpret_cast<const void*>(header), sizeof version)) return -e_fault;
    if (version == cap_version_1) return 1;
    if (version == cap_version_2 || version == cap_version_3) return 2;
    version = cap_version_3;
    if (mm::vm::copy_to_app(reinterpret_cast<void*>(header), &version, sizeof version)) return -e_fault;
    return -e_inval;
}

// The process a capget/capset pid names: 0 or the caller's own, or any live process.
Process* cap_target(int pid) {
    Process* self = abi::current_process();
    if (pid == 0 || !self || pid == self->pid) return self;
    return abi::find_process(pid);
}
}  // namespace

int64_t sys_capget(const uint64_t* args) {
    int records = cap_records(args[0]);
    // With no data pointer, a version probe succeeds (glibc asks this way).
    if (!args[1] || records < 0) return !args[1] && records == -e_inval ? 0 : records;
    CapHeader header;
    if (mm::vm::copy_from_app(&header, reinterpret_cast<const void*>(args[0]), sizeof header)) return -e_fault;
    if (header.pid < 0) return -e_inval;
    uint64_t effective, permitted, inheritable;
    {
        sched::SpinGuard guard(abi::process_lock);
        Process* target = cap_target(header.pid);
        if (header.pid != 0 && !target) return -e_srch;
        const Credentials& c = credentials_of(target);
        effective = c.cap_effective;
        permitted = c.cap_permitted;
        inheritable = c.cap_inheritable;
    }
    CapData data[2];
    for (int i = 0; i < 2; ++i) {
        data[i] = CapData{static_cast<uint32_t>(effective >> (32 * i)), static_cast<uint32_t>(permitted >> (32 * i)),
                          static_cast<uint32_t>(inheritable >> (32 * i))};
    }
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), data, records * sizeof(CapData)) ? -e_fault : 0;
}

// capset: only the caller's own sets, each a subset of what Linux's cap_capset allows.
int64_t sys_capset(const uint64_t* args) {
    int records = cap_records(args[0]);
    if (records < 0) return records;
    CapHeader header;
    if (mm::vm::copy_from_app(&header, reinterpret_cast<const void*>(args[0]), sizeof header)) return -e_fault;
    if (header.pid != 0 && header.pid != abi::current_pid()) return -e_perm;
    CapData data[2] = {};
    if (mm::vm::copy_from_app(data, reinterpret_cast<const void*>(args[1]), records * sizeof(CapData))) return -e_fault;
    uint64_t effective = data[0].effective | uint64_t{data[1].effective} << 32;
    uint64_t permitted = data[0].permitted | uint64_t{data[1].permitted} << 32;
    uint64_t inheritable = data[0].inheritable | uint64_t{data[1].inheritable} << 32;
    auto subset = [](uint64_t a, uint64_t b) { return (a & ~b) == 0; };
    sched::SpinGuard guard(abi::process_lock);
    Credentials& c = mine();
    // Without CAP_SETPCAP the inheritable set may only take what is inheritable or permitted;
    // never more than the bounding set (all capabilities here).
    if (!has(c, abi::cap_setpcap) && !subset(inheritable, c.cap_inheritable | c.cap_permitted)) return -e_perm;
    if (!subset(inheritable, c.cap_inheritable | abi::capabilities_all)) return -e_perm;
    if (!subset(permitted, c.cap_permitted)) return -e_perm;
    if (!subset(effective, permitted)) return -e_perm;
    c.cap_effective = effective;
    c.cap_permitted = permitted;
    c.cap_inheritable = inheritable;
    return 0;
}
