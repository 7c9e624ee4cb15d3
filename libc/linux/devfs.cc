// devfs, mounted on /dev: console and tty (the console terminal, tty.cc), null, zero, random and
// urandom, and the disks vda, vdb... (devfs_block.cc). Device numbers are Linux's (mem 1:3/1:5/1:8/1:9, tty 5:0, console 5:1), so
// programs that check st_rdev see what they expect.
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/random.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/sched/spinlock.h>
#include <string.h>
#include "files_internal.h"

namespace mica::abi::files {
namespace {

constexpr uint64_t device_number(uint32_t major, uint32_t minor) {
    // Linux's new_encode_dev for numbers below 256.
    return (uint64_t{major} << 8) | minor;
}

constexpr size_t chunk = 512;  // bytes per copy through a stack buffer

// The console: writes go to every console driver; reads and the terminal ioctls are the
// terminal's (tty.cc).
class Console final : public Device {
public:
    Console(fs::FileSystem* owner, uint64_t rdev) : Device(owner, fs::s_ifchr | 0620, rdev) {}
    int64_t read_stream(fs::IoVector& data, bool nonblock) override { return tty_read(data, nonblock); }
    int64_t write_stream(fs::IoVector& data, bool) override {
        char text[chunk];
        size_t done = 0;
        while (data.remaining() > 0) {
            int64_t n = data.get(text, chunk);
            if (n <= 0) return done ? static_cast<int64_t>(done) : (n < 0 ? n : -errno_fault);
            console::write(text, static_cast<size_t>(n));
            done += static_cast<size_t>(n);
        }
        return static_cast<int64_t>(done);
    }
    bool is_terminal() const override { return true; }
    uint32_t poll_events() override { return tty_poll_events(); }
    fs::PollHead* poll_head() override { return tty_poll_head(); }
};

class Null final : public Device {
public:
    explicit Null(fs::FileSystem* owner) : Device(owner, fs::s_ifchr | 0666, device_number(1, 3)) {}
    int64_t read_stream(fs::IoVector&, bool) override { return 0; }
    int64_t write_stream(fs::IoVector& data, bool) override {
        size_t n = data.remaining();
        data.skip(n);
        return static_cast<int64_t>(n);
    }
};

class Zero final : public Device {
public:
    explicit Zero(fs::FileSystem* owner) : Device(owner, fs::s_ifchr | 0666, device_number(1, 5)) {}
    int64_t read_stream(fs::IoVector& data, bool) override {
        // One pass over the vector: sendfile from /dev/zero hands a kernel buffer of up to
        // 2 GiB (in 512-byte copies that took minutes under TCG).
        return data.put_zeros(data.remaining());
    }
    int64_t write_stream(fs::IoVector& data, bool) override {
        size_t n = data.remaining();
        data.skip(n);
        return static_cast<int64_t>(n);
    }
};

class Random final : public Device {
public:
    Random(fs::FileSystem* owner, uint32_t minor) : Device(owner, fs::s_ifchr | 0666, device_number(1, minor)) {}
    int64_t read_stream(fs::IoVector& data, bool) override {
        char bytes[chunk];
        size_t done = 0;
        while (data.remaining() > 0) {
            size_t n = data.remaining() < chunk ? data.remaining() : chunk;
            random::fill(bytes, n);
            int64_t put = data.put(bytes, n);
            if (put <= 0) {
                memset(bytes, 0, sizeof(bytes));
                return done ? static_cast<int64_t>(done) : (put < 0 ? put : -errno_fault);
            }
            done += static_cast<size_t>(put);
            if (static_cast<size_t>(put) < n) break;
        }
        memset(bytes, 0, sizeof(bytes));
        return static_cast<int64_t>(done);
    }
    // Writing adds to the pool on Linux; here it is mixed into the key.
    int64_t write_stream(fs::IoVector& data, bool) override {
        char bytes[chunk];
        size_t done = 0;
        while (data.remaining() > 0) {
            int64_t n = data.get(bytes, chunk);
            if (n <= 0) return done ? static_cast<int64_t>(done) : (n < 0 ? n : -errno_fault);
            random::add_entropy(bytes, static_cast<size_t>(n), false);
            done += static_cast<size_t>(n);
        }
        return static_cast<int64_t>(done);
    }
    // Never blocks (the generator is always ready once seeded): the head never notifies.
    fs::PollHead* poll_head() override { return &head_; }

private:
    fs::PollHead head_;
};

int devfs_create(fs::Clock clock, fs::FileSystem** out) {
    auto* devfs = fs::make_object<StaticFs>(clock);
    if (!devfs) return -fs::errno_nomem;
    auto* root = fs::make_object<StaticDir>(static_cast<fs::FileSystem*>(devfs), static_cast<StaticDir*>(nullptr));
    if (!root) {
        delete devfs;
        return -fs::errno_nomem;
    }
    root->mode = fs::s_ifdir | 0755;
    devfs->root_ = root;
    fs::FileSystem* owner = devfs;
    bool ok = root->add("console", fs::make_object<Console>(owner, device_number(5, 1))) &&
              root->add("tty", fs::make_object<Console>(owner, device_number(5, 0))) &&
              root->add("null", fs::make_object<Null>(owner)) &&
              root->add("zero", fs::make_object<Zero>(owner)) &&
              root->add("random", fs::make_object<Random>(owner, 8u)) &&
              root->add("urandom", fs::make_object<Random>(owner, 9u)) && add_block_devices(owner, root);
    if (!ok) {
        delete devfs;
        return -fs::errno_nomem;
    }
    tty_start();
    *out = devfs;
    return 0;
}

}  // namespace

// statfs says tmpfs, as for Linux's devtmpfs.
const fs::FileSystemType devfs_type{"devfs", devfs_create, fs::tmpfs_magic};

}  // namespace mica::abi::files
