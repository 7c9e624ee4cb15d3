// devfs, mounted on /dev: console and tty (the kernel console), null, zero, random and
// urandom. Device numbers are Linux's (mem 1:3/1:5/1:8/1:9, tty 5:0, console 5:1), so
// programs that check st_rdev see what they expect.
#include <arch/arch.h>
#include <mica/console.h>
#include <mica/linux/random.h>
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

// The console: writes go to every console driver; reads give EOF because there is no
// console input driver yet (an interactive shell sees end of input and exits).
class Console final : public Device {
public:
    Console(fs::FileSystem* owner, uint64_t rdev) : Device(owner, fs::s_ifchr | 0620, rdev) {}
    int64_t transfer_read(Buffer, size_t) override { return 0; }
    int64_t transfer_write(Buffer buffer, size_t length) override {
        char text[chunk];
        size_t done = 0;
        while (done < length) {
            size_t n = length - done < chunk ? length - done : chunk;
            if (buffer.get(done, text, n) < 0) return done ? static_cast<int64_t>(done) : -errno_fault;
            console::write(text, n);
            done += n;
        }
        return static_cast<int64_t>(done);
    }
    bool is_terminal() const override { return true; }
};

class Null final : public Device {
public:
    explicit Null(fs::FileSystem* owner) : Device(owner, fs::s_ifchr | 0666, device_number(1, 3)) {}
    int64_t transfer_read(Buffer, size_t) override { return 0; }
    int64_t transfer_write(Buffer, size_t length) override { return static_cast<int64_t>(length); }
};

class Zero final : public Device {
public:
    explicit Zero(fs::FileSystem* owner) : Device(owner, fs::s_ifchr | 0666, device_number(1, 5)) {}
    int64_t transfer_read(Buffer buffer, size_t length) override {
        if (!buffer.app) {  // sendfile's bounce buffer: at once (2 GiB in 512-byte copies took minutes under TCG)
            memset(buffer.data, 0, length);
            return static_cast<int64_t>(length);
        }
        static const char zeros[chunk] = {};
        size_t done = 0;
        while (done < length) {
            size_t n = length - done < chunk ? length - done : chunk;
            if (buffer.put(done, zeros, n) < 0) return done ? static_cast<int64_t>(done) : -errno_fault;
            done += n;
        }
        return static_cast<int64_t>(done);
    }
    int64_t transfer_write(Buffer, size_t length) override { return static_cast<int64_t>(length); }
};

// The generator behind random and urandom (the same, as on Linux since 5.6 once seeded).
// Owned here, guarded by rng_lock; seeded on first use from cycle-counter jitter, which is
// not cryptographically strong (random.h).
ChaChaRng rng;
sched::Spinlock rng_lock;

void seed_from_cycles() {
    uint64_t samples[32];
    for (uint64_t& s : samples) {
        uint64_t a = arch::cycles();
        for (int spin = 0; spin < 16; ++spin) arch::cpu_relax();
        s = a ^ (arch::cycles() << 17) ^ reinterpret_cast<uintptr_t>(&s);
    }
    rng.seed(samples, sizeof(samples));
}

class Random final : public Device {
public:
    Random(fs::FileSystem* owner, uint32_t minor) : Device(owner, fs::s_ifchr | 0666, device_number(1, minor)) {}
    int64_t transfer_read(Buffer buffer, size_t length) override {
        char bytes[chunk];
        size_t done = 0;
        while (done < length) {
            size_t n = length - done < chunk ? length - done : chunk;
            {
                sched::SpinGuard guard(rng_lock);
                if (!rng.seeded()) seed_from_cycles();
                rng.fill(bytes, n);
            }
            if (buffer.put(done, bytes, n) < 0) return done ? static_cast<int64_t>(done) : -errno_fault;
            done += n;
        }
        memset(bytes, 0, sizeof(bytes));
        return static_cast<int64_t>(done);
    }
    // Writing adds to the pool on Linux; here it is mixed into the key.
    int64_t transfer_write(Buffer buffer, size_t length) override {
        char bytes[chunk];
        size_t done = 0;
        while (done < length) {
            size_t n = length - done < chunk ? length - done : chunk;
            if (buffer.get(done, bytes, n) < 0) return done ? static_cast<int64_t>(done) : -errno_fault;
            sched::SpinGuard guard(rng_lock);
            rng.seed(bytes, n);
            done += n;
        }
        return static_cast<int64_t>(done);
    }
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
              root->add("urandom", fs::make_object<Random>(owner, 9u));
    if (!ok) {
        delete devfs;
        return -fs::errno_nomem;
    }
    *out = devfs;
    return 0;
}

}  // namespace

const fs::FileSystemType devfs_type{"devfs", devfs_create};

}  // namespace mica::abi::files
