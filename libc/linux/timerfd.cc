// timerfd_create, timerfd_settime and timerfd_gettime (events.def): a descriptor that
// counts expirations of a one-shot or periodic timer on CLOCK_MONOTONIC, CLOCK_BOOTTIME or
// CLOCK_REALTIME (and their _ALARM forms, treated as the plain clocks: nothing suspends).
// A read returns the number of expirations since the last read (8 bytes) and blocks while
// there has been none.
//
// Each timerfd has a kernel timer (sched::Timer) whose callback, in interrupt context,
// counts the expirations that passed (several if it ran late: the count comes from the
// clock, never from the number of callbacks), re-arms itself for the next period and
// notifies the PollHead. The state is guarded by a spinlock the callback takes; settime
// cancels the kernel timer (waiting for a callback in progress) before changing it, under
// a mutex that serialises settime, gettime and the destructor.
//
// Clocks: deadlines run on the monotonic clock. CLOCK_BOOTTIME is the monotonic clock (the
// machine never suspends); CLOCK_REALTIME deadlines are converted with the wall clock's
// offset, which never changes (the time is read once at boot and never set), so
// TFD_TIMER_CANCEL_ON_SET is accepted and never fires.
#include <mica/clock.h>
#include <mica/fs/poll_wait.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <mica/sched/sync.h>
#include "files_impl.h"

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;

namespace mica::abi::files {
AnonFs timerfd_fs;  // owns nothing: timerfd vnodes point at it
}

namespace {

constexpr int clock_realtime = 0, clock_monotonic = 1, clock_boottime = 7, clock_realtime_alarm = 8,
              clock_boottime_alarm = 9;
constexpr int tfd_cloexec = fs::o_cloexec, tfd_nonblock = fs::o_nonblock;
constexpr int tfd_timer_abstime = 1, tfd_timer_cancel_on_set = 2;
constexpr int64_t ns_per_s = 1000000000;

struct LinuxTimespec {
    int64_t sec, nsec;
};
struct LinuxItimerspec {
    LinuxTimespec interval, value;
};

uint64_t to_ns(const LinuxTimespec& ts) {
    if (ts.sec > INT64_MAX / ns_per_s - 1) return INT64_MAX;
    return static_cast<uint64_t>(ts.sec * ns_per_s + ts.nsec);
}
LinuxTimespec to_timespec(uint64_t ns) {
    return LinuxTimespec{static_cast<int64_t>(ns / ns_per_s), static_cast<int64_t>(ns % ns_per_s)};
}
bool valid(const LinuxTimespec& ts) { return ts.sec >= 0 && ts.nsec >= 0 && ts.nsec < ns_per_s; }

class TimerFd final : public fs::Vnode {
public:
    explicit TimerFd(bool realtime) : Vnode(&timerfd_fs, anon_mode), realtime_(realtime), timer_(expired, this) {}
    ~TimerFd() override { timer_.cancel(); }
    bool is_stream() const override { return true; }
    // lseek succeeds and changes nothing that matters (Linux's noop_llseek).
    bool seekable() const override { return true; }
    fs::PollHead* poll_head() override { return &head_; }

    uint32_t poll_events() override {
        fs::PollLockGuard guard(lock_);
        return ticks_ ? fs::poll_in | fs::poll_rdnorm : 0;
    }

    int64_t read_stream(fs::IoVector& data, bool nonblock) override {
        if (data.remaining() < sizeof(uint64_t)) return -fs::errno_inval;
        fs::PollSleeper sleeper;
        fs::SleeperWaiter waiter(&sleeper, fs::poll_in);
        uint64_t ticks = 0;
        for (;;) {
            {
                fs::PollLockGuard guard(lock_);
                ticks = ticks_;
                ticks_ = 0;
            }
            if (ticks || nonblock) break;
            if (!waiter.head()) {
                head_.add(&waiter);
                continue;  // look again now that a notification cannot be missed
            }
            if (!sleeper.sleep_until(fs::no_deadline) && sched::interrupted()) return -fs::errno_restart;
        }
        if (!ticks) return -errno_again;
        int64_t n = data.put(&ticks, sizeof(ticks));
        return n == sizeof(ticks) ? n : -errno_fault;
    }

    // timerfd_settime: the previous setting in *old.
    int set(int flags, const LinuxItimerspec& value, LinuxItimerspec* old) {
        sched::LockGuard<sched::Mutex> guard(mutex_);
        timer_.cancel();
        fs::PollLockGuard spin(lock_);
        *old = current();
        ticks_ = 0;
        armed_ = false;
        interval_ = to_ns(value.interval);
        uint64_t ns = to_ns(value.value);
        if (ns == 0) return 0;  // disarmed
        uint64_t now = clock::monotonic_ns();
        uint64_t expiry;
        if (flags & tfd_timer_abstime) {
            // An absolute time on this timer's clock, as a monotonic deadline.
            expiry = ns;
            if (realtime_) {
                uint64_t offset = clock::realtime_offset_ns();
                expiry = ns > offset ? ns - offset : 0;
            }
        } else if (__builtin_add_overflow(now, ns, &expiry)) {
            expiry = ~uint64_t{0} - 1;
        }
        expiry_ = expiry;
        armed_ = true;
        timer_.arm_at(expiry);
        return 0;
    }

    LinuxItimerspec get() {
        sched::LockGuard<sched::Mutex> guard(mutex_);
        fs::PollLockGuard spin(lock_);
        return current();
    }

private:
    // The setting as timerfd_gettime reports it: time to the next expiry (0: disarmed).
    LinuxItimerspec current() const {
        LinuxItimerspec s{to_timespec(interval_), {0, 0}};
        if (armed_) {
            uint64_t now = clock::monotonic_ns();
            // An expiry already due but not yet counted reports 1 ns, never 0 (0 is "disarmed").
            s.value = to_timespec(expiry_ > now ? expiry_ - now : 1);
        }
        return s;
    }

    // The kernel timer's callback (interrupt context).
    static void expired(sched::Timer* timer, void* context) {
        auto* self = static_cast<TimerFd*>(context);
        {
            fs::PollLockGuard guard(self->lock_);
            if (!self->armed_) return;
            uint64_t now = clock::monotonic_ns();
            if (now < self->expiry_) {  // early (never by design): wait for the real time
                timer->arm_at(self->expiry_);
                return;
            }
            uint64_t count = 1;
            if (self->interval_) {
                uint64_t late = (now - self->expiry_) / self->interval_;
                count += late;
                self->expiry_ += (late + 1) * self->interval_;
                timer->arm_at(self->expiry_);
            } else {
                self->armed_ = false;
            }
            self->ticks_ += count;
        }
        self->head_.notify(fs::poll_in | fs::poll_rdnorm);
    }

    fs::PollHead head_;
    sched::Mutex mutex_;  // settime, gettime
    fs::PollLock lock_;   // the fields below; the callback takes it
    bool realtime_;
    bool armed_ = false;
    uint64_t expiry_ = 0;    // monotonic ns of the next expiry, while armed
    uint64_t interval_ = 0;  // ns; 0: one-shot
    uint64_t ticks_ = 0;     // expirations not read yet
    sched::Timer timer_;     // last: cancelled (by the destructor) before the rest goes
};

bool is_timerfd(const fs::Vnode* node) { return node->fs == &timerfd_fs; }

}  // namespace

int64_t sys_timerfd_create(const uint64_t* args) {
    auto clock_id = static_cast<int>(args[0]);
    auto flags = static_cast<int>(args[1]);
    if (clock_id != clock_realtime && clock_id != clock_monotonic && clock_id != clock_boottime &&
        clock_id != clock_realtime_alarm && clock_id != clock_boottime_alarm) {
        return -fs::errno_inval;
    }
    if (flags & ~(tfd_cloexec | tfd_nonblock)) return -fs::errno_inval;
    bool realtime = clock_id == clock_realtime || clock_id == clock_realtime_alarm;
    auto* node = fs::make_object<TimerFd>(realtime);
    if (!node) return -fs::errno_nomem;
    return install_node(node, fs::o_rdwr | (flags & tfd_nonblock), (flags & tfd_cloexec) != 0);
}

int64_t sys_timerfd_settime(const uint64_t* args) {
    auto flags = static_cast<int>(args[1]);
    if (flags & ~(tfd_timer_abstime | tfd_timer_cancel_on_set)) return -fs::errno_inval;
    LinuxItimerspec value;
    if (mm::vm::copy_from_app(&value, reinterpret_cast<const void*>(args[2]), sizeof(value)) < 0) return -errno_fault;
    if (!valid(value.value) || !valid(value.interval)) return -fs::errno_inval;
    FileRef file(static_cast<int>(args[0]));
    if (!file) return -fs::errno_badf;
    if (!is_timerfd(file->vnode())) return -fs::errno_inval;
    LinuxItimerspec old;
    static_cast<TimerFd*>(file->vnode())->set(flags, value, &old);
    if (args[3] && mm::vm::copy_to_app(reinterpret_cast<void*>(args[3]), &old, sizeof(old)) < 0) return -errno_fault;
    return 0;
}

int64_t sys_timerfd_gettime(const uint64_t* args) {
    FileRef file(static_cast<int>(args[0]));
    if (!file) return -fs::errno_badf;
    if (!is_timerfd(file->vnode())) return -fs::errno_inval;
    LinuxItimerspec now = static_cast<TimerFd*>(file->vnode())->get();
    return mm::vm::copy_to_app(reinterpret_cast<void*>(args[1]), &now, sizeof(now)) < 0 ? -errno_fault : 0;
}
