// The bookkeeping of one epoll instance, without locks or sleeping (libc/linux/epoll.cc adds
// those in the kernel), so it is host-tested against a model (tests/unit/test_epoll_set.cc).
//
// An instance watches items keyed by (open file description, descriptor number), as Linux
// does. Each item's PollWaiter on the watched object calls notify(); an item whose interest
// overlaps the change goes on the ready list once. A scan (epoll_wait) takes the ready list,
// asks each item's object for its current events (poll, outside any spinlock: it may sleep)
// and reports those the item is interested in:
//   - level-triggered items go back to the end of the ready list after being reported, so
//     the next scan asks again (and drops them once they are no longer ready);
//   - edge-triggered items leave the list once reported and return only with a new
//     notification;
//   - EPOLLONESHOT items are disabled once reported, until EPOLL_CTL_MOD re-arms them.
// A notification that arrives while a scan has an item in hand is remembered, and the item
// returns to the ready list when the scan is done with it, so no edge is lost. Items the
// scan had no room for go back to the front of the ready list, in order.
//
// Locking (kernel): the interest set and the per-item configuration change only under the
// instance's mutex (held by epoll_ctl and by scans); queue state changes under the instance's
// spinlock, which notify() runs under (from the watched object's PollHead callback). The
// scan takes the spinlock through ScanHooks around its queue steps and releases it to poll.
#pragma once

#include <boost/intrusive/set.hpp>
#include <mica/fs/poll.h>
#include <mica/sched/list.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::abi {

// EPOLL_CTL_* (linux/eventpoll.h).
inline constexpr int epoll_ctl_add = 1, epoll_ctl_del = 2, epoll_ctl_mod = 3;

struct EpollKey {
    const void* file;  // the open file description
    int fd;
    bool operator<(const EpollKey& o) const { return file != o.file ? file < o.file : fd < o.fd; }
};

struct EpollItem : boost::intrusive::set_base_hook<boost::intrusive::optimize_size<true>> {
    EpollKey key;
    uint32_t events = 0;  // interest and flags (EPOLLET, EPOLLONESHOT...); EPOLLERR|EPOLLHUP always
    uint64_t data = 0;
    // Queue state, under the spinlock.
    enum class Queue : uint8_t { none, ready, transit };
    Queue queue = Queue::none;
    bool renotified = false;  // notified while a scan had it in hand
    sched::ListNode ready_link;
    // For the kernel's use (not touched here): the waiter on the watched object's head, the
    // per-file list of items watching one open file, the instance.
    sched::ListNode file_link;
    void* owner = nullptr;

    bool disabled() const { return (events & ~fs::epoll_flag_bits) == 0; }  // a fired EPOLLONESHOT
    bool operator<(const EpollItem& o) const { return key < o.key; }
};

// One reported event: what epoll_wait copies to the application (in the architecture's
// struct epoll_event layout, by the caller).
struct EpollReport {
    uint32_t events;
    uint64_t data;
};

class EpollSet {
public:
    // What a scan needs from its caller: the spinlock, and the current events of an item's
    // object (called without the spinlock; may sleep).
    class ScanHooks {
    public:
        virtual void lock() = 0;
        virtual void unlock() = 0;
        virtual uint32_t poll(EpollItem* item) = 0;

    protected:
        ~ScanHooks() = default;
    };

    EpollSet() = default;
    EpollSet(const EpollSet&) = delete;
    EpollSet& operator=(const EpollSet&) = delete;

    // ---- the interest set (mutex held) ----
    EpollItem* find(EpollKey key);
    // Adds `item` (its key set, not in the set yet); the caller then polls it and calls
    // notify() if it is ready already, as epoll_ctl does.
    void insert(EpollItem* item);
    // Takes `item` out of the set and off the ready list (spinlock held too).
    void erase(EpollItem* item);
    // New interest and data (spinlock held): re-enables a fired EPOLLONESHOT item. The
    // caller polls it and notifies, as for insert.
    static void modify(EpollItem* item, uint32_t events, uint64_t data);
    size_t size() const { return items_.size(); }
    // Calls f(item) for every item (mutex held): teardown, nested-instance walks.
    template <typename F>
    void for_each(F f) {
        for (auto& item : items_) f(item);
    }
    // Removes every item from the set and returns the first (then the next) for disposal;
    // nullptr when empty. Queue state is reset. Mutex and spinlock held.
    EpollItem* take_any();
    // Some item of the set (mutex held), nullptr when empty.
    EpollItem* any() { return items_.empty() ? nullptr : &*items_.begin(); }

    // ---- notification (spinlock held) ----
    // The item's object reported a change of `events` (0: unspecified). True when the item
    // has just been queued: the caller wakes the instance's sleepers and notifies its own
    // head (nested epoll).
    bool notify(EpollItem* item, uint32_t events);
    // Something is queued (spinlock held): epoll_wait need not sleep.
    bool has_ready() const { return !ready_.empty(); }

    // ---- scans (mutex held; they take the spinlock through `hooks`) ----
    // Fills up to `max` reports: the number filled.
    size_t scan(ScanHooks& hooks, EpollReport* out, size_t max);
    // Whether some queued item is really ready (the instance's own readiness, for poll and
    // nested epoll): items found not ready are dropped from the ready list on the way, as
    // Linux does; the ready one found stays queued.
    bool any_ready(ScanHooks& hooks);

private:
    using Items = boost::intrusive::set<EpollItem, boost::intrusive::constant_time_size<true>>;
    using ReadyList = sched::List<EpollItem, &EpollItem::ready_link>;
    struct KeyLess {
        bool operator()(const EpollKey& a, const EpollItem& b) const { return a < b.key; }
        bool operator()(const EpollItem& a, const EpollKey& b) const { return a.key < b; }
    };

    // Takes the ready list into `transit` (spinlock held).
    void begin(ReadyList& transit);
    // Puts what the scan did not reach back at the front, in order (spinlock held).
    void end(ReadyList& transit);
    void enqueue(EpollItem* item);

    Items items_;
    ReadyList ready_;
};

}  // namespace mica::abi
