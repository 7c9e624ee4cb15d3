// eventfd and eventfd2 (events.def): a 64-bit counter behind a descriptor. A write adds to
// it (blocking while the sum would pass 2^64 - 2), a read returns it and resets it to 0, or
// with EFD_SEMAPHORE returns 1 and decrements it (blocking while it is 0). The counter is
// guarded by a mutex; readers and writers sleep on condition variables; the PollHead is
// notified with POLLIN after every write and POLLOUT after every read, as Linux does.
#include <mica/linux/syscall.h>
#include <mica/sched/sync.h>
#include "files_impl.h"

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;

namespace mica::abi::files {
AnonFs eventfd_fs;  // owns nothing: eventfd vnodes point at it
}

namespace {

constexpr int efd_semaphore = 1, efd_cloexec = fs::o_cloexec, efd_nonblock = fs::o_nonblock;
constexpr uint64_t counter_max = ~uint64_t{0} - 1;  // the largest value the counter holds

class EventFd final : public fs::Vnode {
public:
    EventFd(uint64_t initial, bool semaphore) : Vnode(&eventfd_fs, anon_mode), count_(initial), semaphore_(semaphore) {}
    bool is_stream() const override { return true; }
    // lseek succeeds and changes nothing that matters (Linux's noop_llseek).
    bool seekable() const override { return true; }
    fs::PollHead* poll_head() override { return &head_; }

    uint32_t poll_events() override {
        sched::LockGuard<sched::Mutex> guard(mutex_);
        uint32_t events = 0;
        if (count_ > 0) events |= fs::poll_in | fs::poll_rdnorm;
        if (count_ == ~uint64_t{0}) events |= fs::poll_err;  // unreachable by writes, as on Linux
        if (count_ < counter_max) events |= fs::poll_out | fs::poll_wrnorm;
        return events;
    }

    int64_t read_stream(fs::IoVector& data, bool nonblock) override {
        if (data.remaining() < sizeof(uint64_t)) return -fs::errno_inval;
        uint64_t value;
        {
            sched::LockGuard<sched::Mutex> guard(mutex_);
            while (count_ == 0) {
                if (nonblock) return -errno_again;
                sched::InterruptibleScope scope;
                if (!readable_.wait(mutex_) && sched::interrupted()) return -fs::errno_restart;
            }
            value = semaphore_ ? 1 : count_;
            count_ -= value;
            writable_.broadcast();
        }
        head_.notify(fs::poll_out | fs::poll_wrnorm);
        // The value is consumed even if the copy fails, as on Linux.
        int64_t n = data.put(&value, sizeof(value));
        return n == sizeof(value) ? n : -errno_fault;
    }

    int64_t write_stream(fs::IoVector& data, bool nonblock) override {
        // Exactly 8 bytes (Linux 6.x; reads may be longer).
        if (data.remaining() != sizeof(uint64_t)) return -fs::errno_inval;
        uint64_t value;
        if (data.get(&value, sizeof(value)) != sizeof(value)) return -errno_fault;
        if (value == ~uint64_t{0}) return -fs::errno_inval;
        {
            sched::LockGuard<sched::Mutex> guard(mutex_);
            while (counter_max - count_ < value) {
                if (nonblock) return -errno_again;
                sched::InterruptibleScope scope;
                if (!writable_.wait(mutex_) && sched::interrupted()) return -fs::errno_restart;
            }
            count_ += value;
            readable_.broadcast();
        }
        head_.notify(fs::poll_in | fs::poll_rdnorm);
        return sizeof(value);
    }

private:
    fs::PollHead head_;
    sched::Mutex mutex_;
    sched::CondVar readable_, writable_;
    uint64_t count_;
    bool semaphore_;
};

int64_t do_eventfd(uint64_t initial, uint64_t flags) {
    if (flags & ~static_cast<uint64_t>(efd_semaphore | efd_cloexec | efd_nonblock)) return -fs::errno_inval;
    auto* node = fs::make_object<EventFd>(static_cast<uint64_t>(static_cast<uint32_t>(initial)),
                                          (flags & efd_semaphore) != 0);
    if (!node) return -fs::errno_nomem;
    return install_node(node, fs::o_rdwr | static_cast<int>(flags & efd_nonblock), (flags & efd_cloexec) != 0);
}

}  // namespace

int64_t sys_eventfd(const uint64_t* args) { return do_eventfd(args[0], 0); }
int64_t sys_eventfd2(const uint64_t* args) { return do_eventfd(args[0], args[1]); }
