// The readiness core (fs/poll.h): waiters added, removed, filtered by interest, called back
// with the events that changed; a destroyed head detaches what was left; concurrent
// notifiers and removers (host threads) never call a removed waiter.
#include <gtest/gtest.h>
#include <mica/fs/poll.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace mica::fs;

namespace {

struct Recorder : PollWaiter {
    explicit Recorder(uint32_t interest = ~0u) : PollWaiter(record, interest) {}
    std::vector<uint32_t> seen;
    static void record(PollWaiter* w, uint32_t events) { static_cast<Recorder*>(w)->seen.push_back(events); }
};

TEST(PollHead, NotifiesInterestedWaiters) {
    PollHead head;
    Recorder readers(poll_in | poll_hup), writers(poll_out), everyone;
    head.add(&readers);
    head.add(&writers);
    head.add(&everyone);
    EXPECT_EQ(head.waiter_count(), 3u);
    head.notify(poll_in);
    head.notify(poll_out);
    head.notify(0);  // unspecified: everyone hears it
    EXPECT_EQ(readers.seen, (std::vector<uint32_t>{poll_in, 0}));
    EXPECT_EQ(writers.seen, (std::vector<uint32_t>{poll_out, 0}));
    EXPECT_EQ(everyone.seen, (std::vector<uint32_t>{poll_in, poll_out, 0}));
}

TEST(PollHead, RemovedWaitersHearNothing) {
    PollHead head;
    Recorder a, b;
    head.add(&a);
    head.add(&b);
    head.remove(&a);
    EXPECT_EQ(a.head(), nullptr);
    head.notify(poll_in);
    EXPECT_TRUE(a.seen.empty());
    EXPECT_EQ(b.seen.size(), 1u);
    b.detach();
    EXPECT_FALSE(head.has_waiters());
    head.remove(&b);  // not on it: nothing happens
}

TEST(PollHead, AddingMovesAWaiterBetweenHeads) {
    PollHead first, second;
    Recorder w;
    first.add(&w);
    first.add(&w);  // twice on the same head: once
    EXPECT_EQ(first.waiter_count(), 1u);
    second.add(&w);
    EXPECT_FALSE(first.has_waiters());
    EXPECT_EQ(w.head(), &second);
    first.notify(poll_in);
    second.notify(poll_out);
    EXPECT_EQ(w.seen, (std::vector<uint32_t>{poll_out}));
}

TEST(PollHead, WaiterDestructorAndHeadDestructorDetach) {
    PollHead head;
    {
        Recorder w;
        head.add(&w);
    }
    EXPECT_FALSE(head.has_waiters());
    Recorder survivor;
    {
        PollHead temporary;
        temporary.add(&survivor);
    }
    EXPECT_EQ(survivor.head(), nullptr);
}

TEST(PollHead, ConcurrentNotifyAndRemove) {
    // One thread notifies continuously while others add and remove their waiters; a waiter
    // must never be called after remove() returned.
    PollHead head;
    std::atomic<bool> stop{false};
    struct Checked : PollWaiter {
        Checked() : PollWaiter(call) {}
        std::atomic<bool> removed{false};
        std::atomic<int> late{0}, calls{0};
        static void call(PollWaiter* w, uint32_t) {
            auto* self = static_cast<Checked*>(w);
            if (self->removed.load()) self->late.fetch_add(1);
            self->calls.fetch_add(1);
        }
    };
    std::thread notifier([&] {
        while (!stop.load()) head.notify(poll_in);
    });
    std::vector<std::thread> users;
    std::atomic<int> late{0};
    for (int t = 0; t < 3; ++t) {
        users.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) {
                Checked w;
                head.add(&w);
                head.remove(&w);
                w.removed.store(true);
                late += w.late.load();
            }
        });
    }
    for (auto& u : users) u.join();
    stop.store(true);
    notifier.join();
    EXPECT_EQ(late.load(), 0);
    EXPECT_FALSE(head.has_waiters());
}

}  // namespace
