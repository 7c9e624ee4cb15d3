// /proc/<pid>/ for every process (processes.h): exe, stat and status, generated on each read
// from the process table. The directories are made at lookup (procfs.cc's root finds them
// through DynamicEntries) and go when the last reference does.
#include <mica/linux/procfs_format.h>
#include <stdlib.h>
#include <string.h>
#include "files_internal.h"
#include "processes.h"
#include "signal_internal.h"

namespace mica::abi::files {
namespace {

// What a /proc/<pid> file shows, taken under process_lock.
struct ProcessView {
    char name[16];
    char state;
    int pid, ppid, pgid, sid, threads;
    char exe[256];
};

bool view_of(int pid, ProcessView* v) {
    sched::SpinGuard guard(process_lock);
    Process* p = find_process(pid, false);
    if (!p) return false;
    memcpy(v->name, p->name, sizeof v->name);
    v->name[15] = 0;
    if (!v->name[0] && p->exe) {
        const char* base = strrchr(p->exe, '/');
        base = base ? base + 1 : p->exe;
        size_t n = strlen(base) < sizeof v->name - 1 ? strlen(base) : sizeof v->name - 1;
        memcpy(v->name, base, n);
        v->name[n] = 0;
    }
    bool stopped = p->signals && __atomic_load_n(&p->signals->stopped, __ATOMIC_ACQUIRE);
    v->state = p->zombie ? 'Z' : stopped ? 'T' : 'S';
    v->pid = p->pid;
    v->ppid = p->parent ? p->parent->pid : 0;
    v->pgid = p->pgid;
    v->sid = p->sid;
    v->threads = p->threads;
    size_t n = p->exe ? strnlen(p->exe, sizeof v->exe - 1) : 0;
    if (n) memcpy(v->exe, p->exe, n);
    v->exe[n] = 0;
    return true;
}

enum class Kind { stat, status };

void format(Text& out, Kind kind, const ProcessView& v) {
    if (kind == Kind::status) {
        out.append("Name:\t%s\nState:\t%c\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\nThreads:\t%d\n", v.name, v.state, v.pid,
                   v.pid, v.ppid, v.threads);
        return;
    }
    // Linux's 52 fields: pid (comm) state ppid pgrp session tty_nr tpgid flags, then counts
    // and times Mica does not keep (0), num_threads as the 20th.
    out.append("%d (%s) %c %d %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 %d 0", v.pid, v.name, v.state, v.ppid, v.pgid,
               v.sid, v.threads);
    for (int field = 22; field <= 52; ++field) out.append(" 0");
    out.append("\n");
}

class PidFile final : public fs::Vnode {
public:
    PidFile(fs::FileSystem* owner, int pid, Kind kind) : Vnode(owner, fs::s_ifreg | 0444), pid_(pid), kind_(kind) {}
    int64_t read(uint64_t offset, void* buffer, size_t length) override {
        ProcessView v;
        if (!view_of(pid_, &v)) return -fs::errno_noent;
        char text[1024];
        Text out(text, sizeof text);
        format(out, kind_, v);
        if (offset >= out.length()) return 0;
        size_t n = out.length() - offset < length ? out.length() - offset : length;
        memcpy(buffer, text + offset, n);
        return static_cast<int64_t>(n);
    }
    int64_t write(uint64_t, const void*, size_t) override { return -fs::errno_acces; }

private:
    int pid_;
    Kind kind_;
};

class PidExeLink final : public fs::Vnode {
public:
    PidExeLink(fs::FileSystem* owner, int pid) : Vnode(owner, fs::s_iflnk | 0777), pid_(pid) {}
    int64_t readlink(char* buffer, size_t size) override {
        ProcessView v;
        if (!view_of(pid_, &v) || !v.exe[0]) return -fs::errno_noent;
        size_t n = strlen(v.exe) < size ? strlen(v.exe) : size;
        memcpy(buffer, v.exe, n);
        return static_cast<int64_t>(n);
    }

private:
    int pid_;
};

class ProcessDirectories final : public DynamicEntries {
public:
    ProcessDirectories(fs::FileSystem* owner, StaticDir* root) : owner_(owner), root_(root) {}

    int lookup(fs::Name name, fs::Vnode** out) override {
        int pid = 0;
        if (name.length == 0 || name.length > 9) return -fs::errno_noent;
        for (size_t i = 0; i < name.length; ++i) {
            if (name.chars[i] < '0' || name.chars[i] > '9') return -fs::errno_noent;
            pid = pid * 10 + (name.chars[i] - '0');
        }
        ProcessView v;
        if (!view_of(pid, &v)) return -fs::errno_noent;
        auto* dir = fs::make_object<StaticDir>(owner_, root_);
        if (!dir) return -fs::errno_nomem;
        bool ok = dir->add("exe", fs::make_object<PidExeLink>(owner_, pid));
        ok = dir->add("stat", fs::make_object<PidFile>(owner_, pid, Kind::stat)) && ok;
        ok = dir->add("status", fs::make_object<PidFile>(owner_, pid, Kind::status)) && ok;
        if (!ok) {
            dir->unref();
            return -fs::errno_nomem;
        }
        *out = dir;
        return 0;
    }

    bool entry(uint64_t index, fs::DirEntry* out) override {
        int pid = 0;
        {
            sched::SpinGuard guard(process_lock);
            uint64_t i = 0;
            for (Process* p = all_processes; p; p = p->next) {
                if (i++ == index) {
                    pid = p->pid;
                    break;
                }
            }
        }
        if (!pid) return false;
        constexpr uint64_t pid_ino_base = 1u << 30;  // clear of the fixed nodes' numbers
        out->ino = pid_ino_base + static_cast<uint64_t>(pid);
        out->type = fs::dtype_of(fs::s_ifdir);
        out->name_length = static_cast<size_t>(snprintf_pid(out->name, pid));
        return true;
    }

private:
    static int snprintf_pid(char* buffer, int pid) {
        char digits[12];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + pid % 10);
            pid /= 10;
        } while (pid);
        for (int i = 0; i < n; ++i) buffer[i] = digits[n - 1 - i];
        buffer[n] = 0;
        return n;
    }

    fs::FileSystem* owner_;
    StaticDir* root_;
};

}  // namespace

DynamicEntries* process_directories(fs::FileSystem* owner, StaticDir* root) {
    return new ProcessDirectories(owner, root);
}

}  // namespace mica::abi::files
