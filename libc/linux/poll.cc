// poll, ppoll, select and pselect6 (events.def) on the readiness core (fs/poll.h): a call
// holds a reference to each open file it watches, adds one waiter per file to the file's
// PollHead, asks each for its events, and sleeps until a waiter is called back or the
// timeout passes, then asks again. Waiters are added before the first look, so a change
// between looking and sleeping wakes the sleeper at once.
//
// The signal-mask arguments of ppoll and pselect6 are checked and otherwise ignored: no
// signal is ever delivered during the wait. Like Linux, ppoll, select and pselect6 write the
// time left back to the caller's timeout.
#include <mica/clock.h>
#include <mica/fs/poll_wait.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <string.h>
#include "files_impl.h"

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;
using fs::OpenFile;

namespace {

constexpr int64_t ns_per_s = 1000000000, ns_per_us = 1000, ns_per_ms = 1000000;
constexpr size_t linux_sigset_size = 8;  // the kernel's sigset_t: 64 signals

struct LinuxTimespec {
    int64_t sec, nsec;
};
struct LinuxTimeval {
    int64_t sec, usec;
};
struct PollFd {
    int32_t fd;
    int16_t events;
    int16_t revents;
};

// select's event classes (Linux's POLLIN_SET, POLLOUT_SET, POLLEX_SET).
constexpr uint32_t select_in = fs::poll_in | fs::poll_rdnorm | fs::poll_rdband | fs::poll_hup | fs::poll_err;
constexpr uint32_t select_out = fs::poll_out | fs::poll_wrnorm | fs::poll_wrband | fs::poll_err;
constexpr uint32_t select_ex = fs::poll_pri;

// The files one call watches: a reference and a waiter each.
class WatchSet {
public:
    explicit WatchSet(size_t count) : count_(count) {
        if (count == 0) return;
        entries_ = static_cast<Entry*>(malloc(count * sizeof(Entry)));
        if (entries_) {
            for (size_t i = 0; i < count; ++i) new (&entries_[i]) Entry(&sleeper_);
        }
    }
    ~WatchSet() {
        if (!entries_) return;
        for (size_t i = 0; i < count_; ++i) entries_[i].waiter.detach();
        {
            Guard guard(vfs_lock);
            for (size_t i = 0; i < count_; ++i) {
                if (entries_[i].file) entries_[i].file->unref();
            }
        }
        for (size_t i = 0; i < count_; ++i) entries_[i].~Entry();
        free(entries_);
    }
    WatchSet(const WatchSet&) = delete;
    WatchSet& operator=(const WatchSet&) = delete;
    bool ok() const { return count_ == 0 || entries_; }

    // Takes a reference to the file behind `fd` for entry `i` (none: nullptr). Lock held.
    OpenFile* take(size_t i, int fd) {
        OpenFile* file = fd >= 0 ? descriptors().get(fd) : nullptr;
        if (file) file->ref();
        entries_[i].file = file;
        return file;
    }
    // Entry i's current events (what it asks for, plus the ones always reported), adding its
    // waiter on the first look when the call may sleep.
    uint32_t look(size_t i, uint32_t interest, bool may_sleep) {
        Entry& e = entries_[i];
        fs::Vnode* node = e.file->vnode();
        if (may_sleep && !e.waiter.head()) {
            if (fs::PollHead* head = node->poll_head()) {
                e.waiter.interest = interest | fs::poll_always;
                head->add(&e.waiter);
            }
        }
        return node->poll_events();
    }
    OpenFile* file(size_t i) const { return entries_[i].file; }
    fs::PollSleeper& sleeper() { return sleeper_; }

private:
    struct Entry {
        explicit Entry(fs::PollSleeper* s) : waiter(s, ~0u) {}
        OpenFile* file = nullptr;
        fs::SleeperWaiter waiter;
    };
    fs::PollSleeper sleeper_;
    Entry* entries_ = nullptr;
    size_t count_;
};

// The time left until `deadline`, for the write-back.
LinuxTimespec time_left(uint64_t deadline) {
    uint64_t now = clock::monotonic_ns();
    uint64_t left = deadline > now ? deadline - now : 0;
    return LinuxTimespec{static_cast<int64_t>(left / ns_per_s), static_cast<int64_t>(left % ns_per_s)};
}

int64_t timespec_to_ns(const LinuxTimespec& ts) {
    if (ts.sec > INT64_MAX / ns_per_s - 1) return INT64_MAX;
    return ts.sec * ns_per_s + ts.nsec;
}

// Reads a struct timespec timeout: 0 and the nanoseconds in *timeout_ns (-1 for a null
// pointer: no timeout), -EFAULT, or -EINVAL for a negative or unnormalised one.
int read_timeout(uint64_t address, int64_t* timeout_ns) {
    *timeout_ns = -1;
    if (!address) return 0;
    LinuxTimespec ts;
    if (mm::vm::copy_from_app(&ts, reinterpret_cast<const void*>(address), sizeof(ts)) < 0) return -errno_fault;
    if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= ns_per_s) return -fs::errno_inval;
    *timeout_ns = timespec_to_ns(ts);
    return 0;
}

// ppoll/pselect6's signal mask: a sigset_t of 8 bytes that must be readable (ignored).
int check_sigmask(uint64_t address, uint64_t size) {
    if (!address) return 0;
    if (size != linux_sigset_size) return -fs::errno_inval;
    uint64_t mask;
    return mm::vm::copy_from_app(&mask, reinterpret_cast<const void*>(address), sizeof(mask)) < 0 ? -errno_fault : 0;
}

int64_t do_poll(uint64_t app_fds, uint64_t count, int64_t timeout_ns, uint64_t* deadline_out) {
    if (count > static_cast<uint64_t>(descriptors().limit())) return -fs::errno_inval;
    PollFd* fds = nullptr;
    if (count > 0) {
        fds = static_cast<PollFd*>(malloc(count * sizeof(PollFd)));
        if (!fds) return -fs::errno_nomem;
        if (mm::vm::copy_from_app(fds, reinterpret_cast<const void*>(app_fds), count * sizeof(PollFd)) < 0) {
            free(fds);
            return -errno_fault;
        }
    }
    uint64_t deadline = fs::deadline_after(timeout_ns);
    if (deadline_out) *deadline_out = deadline;
    int64_t ready;
    {
        WatchSet set(count);
        if (!set.ok()) {
            free(fds);
            return -fs::errno_nomem;
        }
        {
            Guard guard(vfs_lock);
            for (size_t i = 0; i < count; ++i) set.take(i, fds[i].fd);
        }
        bool timed_out = false;
        for (;;) {
            ready = 0;
            for (size_t i = 0; i < count; ++i) {
                fds[i].revents = 0;
                if (fds[i].fd < 0) continue;
                uint32_t mask = fs::poll_nval;
                if (set.file(i)) {
                    uint32_t wanted = static_cast<uint16_t>(fds[i].events);
                    mask = set.look(i, wanted, timeout_ns != 0) & (wanted | fs::poll_always);
                }
                fds[i].revents = static_cast<int16_t>(mask);
                if (mask) ++ready;
            }
            if (ready > 0 || timeout_ns == 0 || timed_out) break;
            // Asleep until a waiter fires; after the deadline, one last look (as Linux).
            timed_out = !set.sleeper().sleep_until(deadline);
            if (timed_out && sched::interrupted()) {
                free(fds);
                return -errno_intr;
            }
        }
    }
    if (count > 0 && mm::vm::copy_to_app(reinterpret_cast<void*>(app_fds), fds, count * sizeof(PollFd)) < 0) {
        ready = -errno_fault;
    }
    free(fds);
    return ready;
}

// select's descriptor sets: `bytes` bytes of bits each (whole longs, as Linux copies them).
struct FdSets {
    uint8_t* in = nullptr;
    uint8_t* out = nullptr;
    uint8_t* ex = nullptr;
    uint8_t* storage = nullptr;
    ~FdSets() { free(storage); }
};

bool bit(const uint8_t* set, int fd) { return set && (set[fd / 8] >> (fd % 8)) & 1; }
void set_bit(uint8_t* set, int fd) { set[fd / 8] = static_cast<uint8_t>(set[fd / 8] | (1 << (fd % 8))); }

int64_t do_select(int64_t nfds, const uint64_t app_sets[3], int64_t timeout_ns, uint64_t* deadline_out) {
    if (nfds < 0 || nfds > INT32_MAX) return -fs::errno_inval;
    // Bits beyond the descriptor table's size are ignored, as Linux ignores those beyond
    // the table it has allocated.
    int n = nfds > descriptors().limit() ? descriptors().limit() : static_cast<int>(nfds);
    size_t bytes = (static_cast<size_t>(n) + 63) / 64 * 8;
    FdSets sets;
    uint8_t* in_copy[3] = {};
    if (bytes > 0) {
        sets.storage = static_cast<uint8_t*>(calloc(6, bytes));
        if (!sets.storage) return -fs::errno_nomem;
        for (int k = 0; k < 3; ++k) {
            if (!app_sets[k]) continue;
            in_copy[k] = sets.storage + k * bytes;
            if (mm::vm::copy_from_app(in_copy[k], reinterpret_cast<const void*>(app_sets[k]), bytes) < 0) {
                return -errno_fault;
            }
        }
        sets.in = sets.storage + 3 * bytes;
        sets.out = sets.storage + 4 * bytes;
        sets.ex = sets.storage + 5 * bytes;
    }
    uint64_t deadline = fs::deadline_after(timeout_ns);
    if (deadline_out) *deadline_out = deadline;
    // One watch entry per descriptor below n that any set names.
    int64_t ready = 0;
    {
        WatchSet set(static_cast<size_t>(n));
        if (!set.ok()) return -fs::errno_nomem;
        {
            Guard guard(vfs_lock);
            for (int fd = 0; fd < n; ++fd) {
                if (!bit(in_copy[0], fd) && !bit(in_copy[1], fd) && !bit(in_copy[2], fd)) continue;
                if (!set.take(static_cast<size_t>(fd), fd)) return -fs::errno_badf;
            }
        }
        bool timed_out = false;
        for (;;) {
            ready = 0;
            if (bytes > 0) memset(sets.in, 0, 3 * bytes);
            for (int fd = 0; fd < n; ++fd) {
                bool want_in = bit(in_copy[0], fd), want_out = bit(in_copy[1], fd), want_ex = bit(in_copy[2], fd);
                if (!want_in && !want_out && !want_ex) continue;
                uint32_t interest = (want_in ? select_in : 0) | (want_out ? select_out : 0) | (want_ex ? select_ex : 0);
                uint32_t mask = set.look(static_cast<size_t>(fd), interest, timeout_ns != 0);
                if (want_in && (mask & select_in)) {
                    set_bit(sets.in, fd);
                    ++ready;
                }
                if (want_out && (mask & select_out)) {
                    set_bit(sets.out, fd);
                    ++ready;
                }
                if (want_ex && (mask & select_ex)) {
                    set_bit(sets.ex, fd);
                    ++ready;
                }
            }
            if (ready > 0 || timeout_ns == 0 || timed_out) break;
            timed_out = !set.sleeper().sleep_until(deadline);
            if (timed_out && sched::interrupted()) return -errno_intr;
        }
    }
    uint8_t* results[3] = {sets.in, sets.out, sets.ex};
    for (int k = 0; k < 3; ++k) {
        if (!app_sets[k] || bytes == 0) continue;
        if (mm::vm::copy_to_app(reinterpret_cast<void*>(app_sets[k]), results[k], bytes) < 0) return -errno_fault;
    }
    return ready;
}

}  // namespace

int64_t sys_poll(const uint64_t* args) {
    auto timeout_ms = static_cast<int32_t>(args[2]);
    return do_poll(args[0], args[1], timeout_ms < 0 ? -1 : int64_t{timeout_ms} * ns_per_ms, nullptr);
}

int64_t sys_ppoll(const uint64_t* args) {
    int64_t timeout_ns;
    if (int r = read_timeout(args[2], &timeout_ns); r < 0) return r;
    if (int r = check_sigmask(args[3], args[4]); r < 0) return r;
    uint64_t deadline;
    int64_t result = do_poll(args[0], args[1], timeout_ns, &deadline);
    if (args[2] && result >= 0) {
        LinuxTimespec left = time_left(deadline);
        mm::vm::copy_to_app(reinterpret_cast<void*>(args[2]), &left, sizeof(left));  // failure ignored, as Linux
    }
    return result;
}

int64_t sys_select(const uint64_t* args) {
    int64_t timeout_ns = -1;
    if (args[4]) {
        LinuxTimeval tv;
        if (mm::vm::copy_from_app(&tv, reinterpret_cast<const void*>(args[4]), sizeof(tv)) < 0) return -errno_fault;
        if (tv.sec < 0 || tv.usec < 0) return -fs::errno_inval;
        // Microseconds beyond a second carry over, as Linux normalises them.
        LinuxTimespec ts{tv.sec + tv.usec / 1000000, tv.usec % 1000000 * ns_per_us};
        timeout_ns = timespec_to_ns(ts);
    }
    const uint64_t sets[3] = {args[1], args[2], args[3]};
    uint64_t deadline;
    int64_t result = do_select(static_cast<int32_t>(args[0]), sets, timeout_ns, &deadline);
    if (args[4] && result >= 0) {
        LinuxTimespec left = time_left(deadline);
        LinuxTimeval tv{left.sec, left.nsec / ns_per_us};
        mm::vm::copy_to_app(reinterpret_cast<void*>(args[4]), &tv, sizeof(tv));  // failure ignored, as Linux
    }
    return result;
}

int64_t sys_pselect6(const uint64_t* args) {
    int64_t timeout_ns;
    if (int r = read_timeout(args[4], &timeout_ns); r < 0) return r;
    if (args[5]) {
        // struct { const sigset_t* set; size_t size; }
        uint64_t mask_arg[2];
        if (mm::vm::copy_from_app(mask_arg, reinterpret_cast<const void*>(args[5]), sizeof(mask_arg)) < 0) {
            return -errno_fault;
        }
        if (int r = check_sigmask(mask_arg[0], mask_arg[1]); r < 0) return r;
    }
    const uint64_t sets[3] = {args[1], args[2], args[3]};
    uint64_t deadline;
    int64_t result = do_select(static_cast<int32_t>(args[0]), sets, timeout_ns, &deadline);
    if (args[4] && result >= 0) {
        LinuxTimespec left = time_left(deadline);
        mm::vm::copy_to_app(reinterpret_cast<void*>(args[4]), &left, sizeof(left));  // failure ignored, as Linux
    }
    return result;
}
