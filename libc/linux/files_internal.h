// Shared between files.cc, pipe.cc, devfs.cc and procfs.cc (not part of the interface).
#pragma once

#include <mica/fs/file.h>
#include <mica/fs/io.h>
#include <mica/fs/poll.h>
#include <mica/fs/vfs.h>
#include <mica/linux/files.h>
#include <mica/sched/sync.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::abi::files {

// errno values beyond mica/fs/abi.h and syscall.h.
inline constexpr int64_t errno_opnotsupp = 95;

// poll(2) event bits (fs/poll.h).
inline constexpr unsigned pollin = fs::poll_in, pollpri = fs::poll_pri, pollout = fs::poll_out,
                          pollerr = fs::poll_err, pollhup = fs::poll_hup, pollnval = fs::poll_nval,
                          pollrdnorm = fs::poll_rdnorm, pollwrnorm = fs::poll_wrnorm;

// ---- pipes (pipe.cc) ----------------------------------------------------------------------
// Pipe ends are vnodes of type S_IFIFO (nothing else in Mica makes FIFOs): the read end and
// the write end are separate vnodes sharing one ring and one PollHead, so "no reader left"
// is the read end's vnode being destroyed with its last open file. They are streams
// (vnode.h): read_stream/write_stream block unless asked not to.
int pipe_create(int flags, fs::OpenFile** read_end, fs::OpenFile** write_end);
inline bool is_pipe(const fs::Vnode* node) { return (node->mode & fs::s_ifmt) == fs::s_ififo && node->is_stream(); }
size_t pipe_available(fs::Vnode* end);  // FIONREAD

// ---- devices (devfs.cc) -------------------------------------------------------------------
// Character devices: only devfs makes S_IFCHR vnodes, and they are all Device. They are
// streams (vnode.h): transfers run outside the VFS lock (the console may be slow) and are
// thread-safe. Only the console's reads block; the random devices have a PollHead that
// never notifies, so epoll accepts them as Linux does (it refuses null and zero: -EPERM).
class Device : public fs::Vnode {
public:
    Device(fs::FileSystem* owner, uint32_t mode, uint64_t rdev) : Vnode(owner, mode) { this->rdev = rdev; }
    virtual bool is_terminal() const { return false; }
    bool is_stream() const override { return true; }
    // Kernel-buffer access through the VFS (OpenFile::read, files_read_whole): the same
    // transfers.
    int64_t read(uint64_t, void* buffer, size_t length) override {
        fs::IoVector data(buffer, length, false);
        return read_stream(data, false);
    }
    int64_t write(uint64_t, const void* buffer, size_t length) override {
        fs::IoVector data(const_cast<void*>(buffer), length, false);
        return write_stream(data, false);
    }
};
inline bool is_device(const fs::Vnode* node) { return (node->mode & fs::s_ifmt) == fs::s_ifchr; }
extern const fs::FileSystemType devfs_type;

// ---- block devices (devfs_block.cc) ---------------------------------------------------------
// /dev/vda... (S_IFBLK, file data at an offset, not streams): one node per block::Device.
class StaticDir;
bool add_block_devices(fs::FileSystem* owner, StaticDir* root);
bool is_block_node(const fs::Vnode* node);
int block_node_flush(fs::Vnode* node);                                       // fsync
int64_t block_node_ioctl(fs::Vnode* node, unsigned long request, uint64_t arg);  // BLKGETSIZE64...

// ---- the console terminal (tty.cc) --------------------------------------------------------
// /dev/console and /dev/tty are one terminal: the console driver's input through the line
// discipline (mica/linux/tty_ldisc.h). tty_start (devfs, at mount) connects it to the
// console's input. A read blocks as a Linux tty read does (interruptibly); without a
// console that receives, it returns end of file at once.
void tty_start();
int64_t tty_read(fs::IoVector& data, bool nonblock);
uint32_t tty_poll_events();
fs::PollHead* tty_poll_head();
size_t tty_available();                                   // FIONREAD
int64_t tty_ioctl(unsigned long request, uint64_t arg);   // TCGETS, TIOCGWINSZ... (else -ENOTTY)

// ---- anonymous files (eventfd, timerfd, epoll) -------------------------------------------
// Objects with a descriptor but no name, on filesystems that are never mounted (Linux's
// anon_inode): mode 0600 without a file type, as Linux reports them. Each kind has its own
// instance, so `node->fs == &epoll_fs` tells an epoll instance from other vnodes.
class AnonFs final : public fs::FileSystem {
public:
    AnonFs() : FileSystem(nullptr) {}
    fs::Vnode* root() override { return nullptr; }
};
inline constexpr uint32_t anon_mode = 0600;
extern AnonFs epoll_fs, eventfd_fs, timerfd_fs;

// ---- procfs (procfs.cc) -------------------------------------------------------------------
extern const fs::FileSystemType procfs_type;
const char* executable_path();

// ---- synthetic trees (devfs, procfs) ------------------------------------------------------
// A directory with a fixed list of children, built once at mount.
// Entries a StaticDir finds at run time after its fixed ones (/proc's process ids).
class DynamicEntries {
public:
    virtual ~DynamicEntries() = default;
    // A new reference to the node named `name`, or -ENOENT.
    virtual int lookup(fs::Name name, fs::Vnode** out) = 0;
    // The `index`-th entry (name, inode number, dt_* type); false past the last one.
    virtual bool entry(uint64_t index, fs::DirEntry* out) = 0;
};

class StaticDir final : public fs::Vnode {
public:
    static constexpr int max_entries = 40;  // devfs: 6 devices and up to 26 disks
    StaticDir(fs::FileSystem* owner, StaticDir* parent);
    ~StaticDir() override;
    // Adds `node` under `name` (a string literal), taking over the creator's reference.
    bool add(const char* name, fs::Vnode* node);
    // Entries found at run time after the fixed ones (owned from here on).
    void set_dynamic(DynamicEntries* dynamic) { dynamic_ = dynamic; }
    int lookup(fs::Name name, fs::Vnode** out) override;
    int readdir(uint64_t cookie, fs::DirEntry* out) override;

private:
    DynamicEntries* dynamic_ = nullptr;
    struct Entry {
        const char* name;
        fs::Vnode* node;
    };
    StaticDir* parent_;  // not referenced; this for the root
    Entry entries_[max_entries] = {};
    int count_ = 0;
};

// /proc's process directories (procfs_pid.cc), for its root.
DynamicEntries* process_directories(fs::FileSystem* owner, StaticDir* root);

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

// The monotonic clock (nanoseconds since boot) used for timeouts and file times.
uint64_t now_ns();

}  // namespace mica::abi::files
