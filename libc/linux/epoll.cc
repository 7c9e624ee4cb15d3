// epoll (events.def): epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait and
// epoll_pwait2 on the bookkeeping core of epoll_set.h.
//
// An instance is an anonymous vnode with a mutex (epoll_ctl and scans), a spinlock (the queue
// state, taken by its items' callbacks), the EpollSet, and its own PollHead: epoll_wait
// sleepers, poll/select on the epoll descriptor and enclosing epoll instances all wait
// there, and an item that becomes ready notifies it (POLLIN). Each item (a Watch) has a
// PollWaiter on its object's head for as long as it exists.
//
// Registrations belong to the open file description: a Watch does not hold a reference to
// the file it watches; instead the file's CloseObserver drops every Watch on it when the
// file is finally closed (Linux's eventpoll_release), and an instance drops all its Watches
// when it is destroyed.
//
// Locking, outermost first: the VFS lock (file release runs under it) -> epoll_lock (the
// global epoll mutex: membership of every interest set and of every file's watch list, and
// the loop check) -> an instance's mutex -> a nested instance's mutex (only along the
// nesting, which has no cycles) -> a watched object's own locks (its poll_events) and heads'
// spinlocks -> an instance's spinlock. Scans hold only their instance's mutex, so closing a
// file can wait for them.
#include <arch/traits.h>
#include <mica/fs/poll_wait.h>
#include <mica/linux/epoll_set.h>
#include <mica/linux/syscall.h>
#include <mica/mm/vm.h>
#include <stdlib.h>
#include <string.h>
#include "files_impl.h"

using namespace mica;
using namespace mica::abi;
using namespace mica::abi::files;
using fs::OpenFile;

namespace mica::abi::files {
AnonFs epoll_fs;  // owns nothing: epoll vnodes point at it
}

namespace {

constexpr int epoll_cloexec = fs::o_cloexec;
constexpr int max_nesting = 4;                  // Linux's EP_MAX_NESTS
constexpr size_t max_reports_per_call = 1024;   // epoll_wait may return fewer than asked
constexpr int64_t errno_loop = fs::errno_loop, ns_per_ms = 1000000;
// Linux's EPOLLEXCLUSIVE_OK_BITS: what may accompany EPOLLEXCLUSIVE.
constexpr uint32_t exclusive_ok = fs::poll_in | fs::poll_out | fs::poll_err | fs::poll_hup | fs::epoll_wakeup |
                                  fs::epoll_et | fs::epoll_exclusive;

// Owned here: the global epoll mutex (see the locking note above).
sched::Mutex epoll_lock;

class Instance;

struct Watch;

// A Watch's waiter on the watched object's head.
struct WatchWaiter : fs::PollWaiter {
    explicit WatchWaiter(Watch* watch) : PollWaiter(changed), watch(watch) {}
    Watch* watch;
    static void changed(fs::PollWaiter* waiter, uint32_t events);
};

// One registration: an EpollItem with its waiter on the watched object's head.
struct Watch : EpollItem, fs::MallocAllocated {
    Watch(Instance* instance, OpenFile* file, int fd) : waiter(this), file(file) {
        key = EpollKey{file, fd};
        owner = instance;
    }
    WatchWaiter waiter;
    OpenFile* file;  // not referenced (see above)
    Instance* instance() const { return static_cast<Instance*>(owner); }
};

// The watches on one open file description (OpenFile::watchers), guarded by epoll_lock.
struct FileWatches : fs::MallocAllocated {
    sched::List<EpollItem, &EpollItem::file_link> items;
};

class Instance final : public fs::Vnode, public EpollSet::ScanHooks {
public:
    Instance() : Vnode(&epoll_fs, anon_mode) {}
    ~Instance() override;  // drops every watch (runs under the VFS lock)

    bool is_stream() const override { return true; }  // read and write: -EINVAL
    // lseek succeeds and changes nothing that matters (Linux's noop_llseek).
    bool seekable() const override { return true; }
    fs::PollHead* poll_head() override { return &head; }
    // Readable when some item really is ready (Linux's deep check for nested epoll).
    uint32_t poll_events() override {
        sched::LockGuard<sched::Mutex> guard(mutex);
        return set.any_ready(*this) ? fs::poll_in | fs::poll_rdnorm : 0;
    }

    // ScanHooks: the spinlock, and a watched object's events (its own locks; may sleep).
    void lock() override {
        sched::SpinGuard::prefault_stack();  // as SpinGuard does (CONFIG_LAZY_STACK)
        irqs_were_on_ = arch::interrupts_enabled();
        arch::interrupts_disable();
        spin.lock();
    }
    void unlock() override {
        spin.unlock();
        if (irqs_were_on_) arch::interrupts_enable();
    }
    uint32_t poll(EpollItem* item) override { return static_cast<Watch*>(item)->file->vnode()->poll_events(); }

    // Queues `watch` if `events` concern it, waking sleepers (any context).
    void notify(Watch* watch, uint32_t events) {
        bool queued;
        {
            fs::PollLockGuard guard(spin);
            queued = set.notify(watch, events);
        }
        if (queued) head.notify(fs::poll_in | fs::poll_rdnorm);
    }
    bool has_ready() {
        fs::PollLockGuard guard(spin);
        return set.has_ready();
    }

    sched::Mutex mutex;  // epoll_ctl and scans
    fs::PollLock spin;   // the queue state
    EpollSet set;
    fs::PollHead head;

private:
    bool irqs_were_on_ = false;  // lock()'s, while the spinlock is held
};

bool is_epoll(const fs::Vnode* node) { return node->fs == &epoll_fs; }

// Drops `watch` from its instance and its file's list and frees it. epoll_lock and the
// instance's mutex held.
void drop(Watch* watch) {
    watch->waiter.detach();  // waits for a callback in progress: none runs after this
    Instance* instance = watch->instance();
    {
        fs::PollLockGuard guard(instance->spin);
        instance->set.erase(watch);
    }
    OpenFile* file = watch->file;
    auto* watches = static_cast<FileWatches*>(file->watchers);
    watches->items.remove(*watch);
    if (watches->items.empty()) {
        delete watches;
        file->watchers = nullptr;
        file->close_observer = nullptr;
    }
    delete watch;
}

// Told by an open file description's destructor (under the VFS lock) that it is going.
class ReleaseWatches final : public fs::CloseObserver {
public:
    void open_file_closing(OpenFile* file) override {
        sched::LockGuard<sched::Mutex> guard(epoll_lock);
        while (file->watchers) {
            auto* watches = static_cast<FileWatches*>(file->watchers);
            auto* watch = static_cast<Watch*>(watches->items.front());
            sched::LockGuard<sched::Mutex> instance_guard(watch->instance()->mutex);
            drop(watch);
        }
    }
};
ReleaseWatches release_watches;  // stateless

void WatchWaiter::changed(fs::PollWaiter* waiter, uint32_t events) {
    Watch* watch = static_cast<WatchWaiter*>(waiter)->watch;
    watch->instance()->notify(watch, events);
}

Instance::~Instance() {
    sched::LockGuard<sched::Mutex> guard(epoll_lock);
    sched::LockGuard<sched::Mutex> instance_guard(mutex);
    while (EpollItem* item = set.any()) drop(static_cast<Watch*>(item));
}

// Would watching `target` from `instance` make a cycle or nest too deep? epoll_lock held.
bool loops(Instance* instance, Instance* target, int depth) {
    if (target == instance || depth > max_nesting) return true;
    bool found = false;
    target->set.for_each([&](EpollItem& item) {
        if (found) return;
        fs::Vnode* node = static_cast<Watch&>(item).file->vnode();
        if (is_epoll(node)) found = loops(instance, static_cast<Instance*>(node), depth + 1);
    });
    return found;
}

// struct epoll_event in the architecture's layout.
constexpr size_t event_size = arch::traits::epoll_event_packed ? 12 : 16;
constexpr size_t data_offset = arch::traits::epoll_event_packed ? 4 : 8;

int read_event(uint64_t address, uint32_t* events, uint64_t* data) {
    uint8_t raw[event_size];
    if (mm::vm::copy_from_app(raw, reinterpret_cast<const void*>(address), event_size) < 0) return -errno_fault;
    memcpy(events, raw, sizeof(*events));
    memcpy(data, raw + data_offset, sizeof(*data));
    return 0;
}

int64_t do_create(int flags) {
    if (flags & ~epoll_cloexec) return -fs::errno_inval;
    auto* instance = fs::make_object<Instance>();
    if (!instance) return -fs::errno_nomem;
    return install_node(instance, fs::o_rdwr, (flags & epoll_cloexec) != 0);
}

int64_t do_ctl(int epfd, int op, int fd, uint64_t app_event) {
    uint32_t events = 0;
    uint64_t data = 0;
    if (op != epoll_ctl_del) {
        if (int r = read_event(app_event, &events, &data); r < 0) return r;
    }
    FileRef epoll_file(epfd);
    if (!epoll_file) return -fs::errno_badf;
    FileRef target(fd);
    if (!target) return -fs::errno_badf;
    fs::Vnode* node = target->vnode();
    if (!node->poll_head()) return -fs::errno_perm;  // regular files, directories, /dev/null
    if (epoll_file.get() == target.get() || !is_epoll(epoll_file->vnode())) return -fs::errno_inval;
    if (op != epoll_ctl_del && (events & fs::epoll_exclusive)) {
        if (op == epoll_ctl_mod) return -fs::errno_inval;
        if (op == epoll_ctl_add && (is_epoll(node) || (events & ~exclusive_ok))) return -fs::errno_inval;
    }
    auto* instance = static_cast<Instance*>(epoll_file->vnode());
    sched::LockGuard<sched::Mutex> guard(epoll_lock);
    if (op == epoll_ctl_add && is_epoll(node) && loops(instance, static_cast<Instance*>(node), 1)) return -errno_loop;
    sched::LockGuard<sched::Mutex> instance_guard(instance->mutex);
    auto* watch = static_cast<Watch*>(instance->set.find(EpollKey{target.get(), fd}));
    events |= fs::poll_always;
    switch (op) {
    case epoll_ctl_add: {
        if (watch) return -fs::errno_exist;
        watch = fs::make_object<Watch>(instance, target.get(), fd);
        if (!watch) return -fs::errno_nomem;
        if (!target->watchers) {
            auto* watches = fs::make_object<FileWatches>();
            if (!watches) {
                delete watch;
                return -fs::errno_nomem;
            }
            target->watchers = watches;
            target->close_observer = &release_watches;
        }
        watch->events = events;
        watch->data = data;
        static_cast<FileWatches*>(target->watchers)->items.push_back(*watch);
        instance->set.insert(watch);
        node->poll_head()->add(&watch->waiter);
        break;
    }
    case epoll_ctl_mod:
        if (!watch) return -fs::errno_noent;
        if (watch->events & fs::epoll_exclusive) return -fs::errno_inval;
        {
            fs::PollLockGuard spin(instance->spin);
            EpollSet::modify(watch, events, data);
        }
        break;
    case epoll_ctl_del:
        if (!watch) return -fs::errno_noent;
        drop(watch);
        return 0;
    default: return -fs::errno_inval;
    }
    // As Linux: look at the object now, and queue the item if it is ready already.
    uint32_t ready = node->poll_events() & events & ~fs::epoll_flag_bits;
    if (ready) instance->notify(watch, ready);
    return 0;
}

int64_t do_wait(int epfd, uint64_t app_events, int max, int64_t timeout_ns) {
    if (max <= 0 || static_cast<uint64_t>(max) > INT32_MAX / event_size) return -fs::errno_inval;
    FileRef epoll_file(epfd);
    if (!epoll_file) return -fs::errno_badf;
    if (!is_epoll(epoll_file->vnode())) return -fs::errno_inval;
    auto* instance = static_cast<Instance*>(epoll_file->vnode());
    size_t capacity = static_cast<size_t>(max) < max_reports_per_call ? static_cast<size_t>(max) : max_reports_per_call;
    auto* reports = static_cast<EpollReport*>(malloc(capacity * sizeof(EpollReport)));
    if (!reports) return -fs::errno_nomem;
    uint64_t deadline = fs::deadline_after(timeout_ns);
    fs::PollSleeper sleeper;
    fs::SleeperWaiter waiter(&sleeper, fs::poll_in);
    if (timeout_ns != 0) instance->head.add(&waiter);
    size_t count = 0;
    bool timed_out = false;
    for (;;) {
        {
            sched::LockGuard<sched::Mutex> guard(instance->mutex);
            count = instance->set.scan(*instance, reports, capacity);
        }
        // Level-triggered items stay queued: others waiting on this instance (threads,
        // enclosing instances) hear that there is more, as on Linux.
        if (instance->has_ready()) instance->head.notify(fs::poll_in | fs::poll_rdnorm);
        if (count > 0 || timeout_ns == 0 || timed_out) break;
        if (instance->has_ready()) continue;
        timed_out = !sleeper.sleep_until(deadline);
        if (timed_out && sched::interrupted()) {
            waiter.detach();
            return -errno_intr;
        }
    }
    waiter.detach();
    int64_t result = static_cast<int64_t>(count);
    for (size_t i = 0; i < count; ++i) {
        uint8_t raw[event_size] = {};
        memcpy(raw, &reports[i].events, sizeof(uint32_t));
        memcpy(raw + data_offset, &reports[i].data, sizeof(uint64_t));
        if (mm::vm::copy_to_app(reinterpret_cast<uint8_t*>(app_events) + i * event_size, raw, event_size) < 0) {
            result = i > 0 ? static_cast<int64_t>(i) : -errno_fault;
            break;
        }
    }
    free(reports);
    return result;
}

int check_sigmask(uint64_t address, uint64_t size) {
    if (!address) return 0;
    if (size != 8) return -fs::errno_inval;
    uint64_t mask;
    return mm::vm::copy_from_app(&mask, reinterpret_cast<const void*>(address), sizeof(mask)) < 0 ? -errno_fault : 0;
}

int64_t ms_timeout(uint64_t arg) {
    auto ms = static_cast<int32_t>(arg);
    return ms < 0 ? -1 : int64_t{ms} * ns_per_ms;
}

}  // namespace

int64_t sys_epoll_create(const uint64_t* args) {
    if (static_cast<int32_t>(args[0]) <= 0) return -fs::errno_inval;
    return do_create(0);
}

int64_t sys_epoll_create1(const uint64_t* args) { return do_create(static_cast<int>(args[0])); }

int64_t sys_epoll_ctl(const uint64_t* args) {
    return do_ctl(static_cast<int>(args[0]), static_cast<int>(args[1]), static_cast<int>(args[2]), args[3]);
}

int64_t sys_epoll_wait(const uint64_t* args) {
    return do_wait(static_cast<int>(args[0]), args[1], static_cast<int>(args[2]), ms_timeout(args[3]));
}

int64_t sys_epoll_pwait(const uint64_t* args) {
    // The signal mask is checked and otherwise ignored: no signal is delivered during the wait.
    if (int r = check_sigmask(args[4], args[5]); r < 0) return r;
    return do_wait(static_cast<int>(args[0]), args[1], static_cast<int>(args[2]), ms_timeout(args[3]));
}

int64_t sys_epoll_pwait2(const uint64_t* args) {
    int64_t timeout_ns = -1;
    if (args[3]) {
        struct {
            int64_t sec, nsec;
        } ts;
        if (mm::vm::copy_from_app(&ts, reinterpret_cast<const void*>(args[3]), sizeof(ts)) < 0) return -errno_fault;
        if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000) return -fs::errno_inval;
        timeout_ns = ts.sec > INT64_MAX / 1000000000 - 1 ? INT64_MAX : ts.sec * 1000000000 + ts.nsec;
    }
    if (int r = check_sigmask(args[4], args[5]); r < 0) return r;
    return do_wait(static_cast<int>(args[0]), args[1], static_cast<int>(args[2]), timeout_ns);
}
