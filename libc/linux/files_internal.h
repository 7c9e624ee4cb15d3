// Shared between files.cc, pipe.cc, devfs.cc and procfs.cc (not part of the interface).
#pragma once

#include <mica/fs/file.h>
#include <mica/fs/vfs.h>
#include <mica/linux/files.h>
#include <mica/sched/sync.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::abi::files {

// errno values beyond mica/fs/abi.h and syscall.h.
inline constexpr int64_t errno_opnotsupp = 95;

// poll(2) event bits (asm-generic/poll.h, the same on both architectures).
inline constexpr unsigned pollin = 0x1, pollpri = 0x2, pollout = 0x4, pollerr = 0x8, pollhup = 0x10,
                          pollnval = 0x20, pollrdnorm = 0x40, pollwrnorm = 0x100;

// A buffer for a transfer: application memory (copied with copy_to_app/copy_from_app, so
// a bad address is -EFAULT) or kernel memory (sendfile, files_read_whole, tests).
struct Buffer {
    char* data;
    bool app;
    // 0 or -EFAULT.
    int put(size_t at, const void* source, size_t length) const;
    // Linux's access_ok for application buffers (mm::vm::access_ok); always for kernel ones.
    bool in_bounds(size_t length) const;
    int get(size_t at, void* target, size_t length) const;
};

// ---- pipes (pipe.cc) ----------------------------------------------------------------------
// Pipe ends are vnodes of type S_IFIFO (nothing else in Mica makes FIFOs): the read end and
// the write end are separate vnodes sharing one ring, so "no reader left" is the read end's
// vnode being destroyed with its last open file.
int pipe_create(int flags, fs::OpenFile** read_end, fs::OpenFile** write_end);
inline bool is_pipe(const fs::Vnode* node) { return (node->mode & fs::s_ifmt) == fs::s_ififo; }
int64_t pipe_read(fs::Vnode* end, Buffer buffer, size_t length, bool nonblock);
int64_t pipe_write(fs::Vnode* end, Buffer buffer, size_t length, bool nonblock);
unsigned pipe_poll(fs::Vnode* end);
size_t pipe_available(fs::Vnode* end);  // FIONREAD

// ---- devices (devfs.cc) -------------------------------------------------------------------
// Character devices: only devfs makes S_IFCHR vnodes, and they are all Device. Their
// transfers run outside the VFS lock (the console may be slow) and are thread-safe.
class Device : public fs::Vnode {
public:
    Device(fs::FileSystem* owner, uint32_t mode, uint64_t rdev) : Vnode(owner, mode) { this->rdev = rdev; }
    virtual int64_t transfer_read(Buffer buffer, size_t length) = 0;
    virtual int64_t transfer_write(Buffer buffer, size_t length) = 0;
    virtual unsigned poll() { return pollin | pollrdnorm | pollout | pollwrnorm; }
    virtual bool is_terminal() const { return false; }
    // Kernel-buffer access through the VFS (OpenFile::read): the same transfers.
    int64_t read(uint64_t, void* buffer, size_t length) override {
        return transfer_read(Buffer{static_cast<char*>(buffer), false}, length);
    }
    int64_t write(uint64_t, const void* buffer, size_t length) override {
        return transfer_write(Buffer{const_cast<char*>(static_cast<const char*>(buffer)), false}, length);
    }
};
inline bool is_device(const fs::Vnode* node) { return (node->mode & fs::s_ifmt) == fs::s_ifchr; }
extern const fs::FileSystemType devfs_type;

// ---- procfs (procfs.cc) -------------------------------------------------------------------
extern const fs::FileSystemType procfs_type;
const char* executable_path();

// ---- synthetic trees (devfs, procfs) ------------------------------------------------------
// A directory with a fixed list of children, built once at mount.
class StaticDir final : public fs::Vnode {
public:
    static constexpr int max_entries = 16;
    StaticDir(fs::FileSystem* owner, StaticDir* parent);
    ~StaticDir() override;
    // Adds `node` under `name` (a string literal), taking over the creator's reference.
    bool add(const char* name, fs::Vnode* node);
    int lookup(fs::Name name, fs::Vnode** out) override;
    int readdir(uint64_t cookie, fs::DirEntry* out) override;

private:
    struct Entry {
        const char* name;
        fs::Vnode* node;
    };
    StaticDir* parent_;  // not referenced; this for the root
    Entry entries_[max_entries] = {};
    int count_ = 0;
};

// A filesystem whose tree is built by `populate` at creation.
class StaticFs final : public fs::FileSystem {
public:
    explicit StaticFs(fs::Clock clock) : FileSystem(clock) {}
    ~StaticFs() override {
        if (root_) root_->unref();
    }
    fs::Vnode* root() override { return root_; }
    StaticDir* root_ = nullptr;
};

// ---- poll wake-ups (files.cc) -------------------------------------------------------------
// Anything whose poll state changes (pipe data, space, a closed end) calls poll_notify;
// pollers sleep until the next notification or their timeout.
void poll_notify();

// The monotonic clock (nanoseconds since boot) used for timeouts and file times.
uint64_t now_ns();

}  // namespace mica::abi::files
