// The epoll bookkeeping core (libc/linux/epoll_set.h): targeted cases for level- and
// edge-triggered items and EPOLLONESHOT, then random operation sequences checked step by step
// against a model written the plain way (a deque for the ready list), with notifications
// injected while a scan has items in hand.
#include <gtest/gtest.h>
#include <mica/linux/epoll_set.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

using namespace mica;
using namespace mica::abi;

namespace {

constexpr uint32_t IN = fs::poll_in, OUT = fs::poll_out, ERR = fs::poll_err, HUP = fs::poll_hup,
                   RDHUP = fs::poll_rdhup, ET = fs::epoll_et, ONESHOT = fs::epoll_oneshot;

// The world: objects with a ready mask; the real set with its items.
struct Fixture : EpollSet::ScanHooks {
    EpollSet set;
    std::map<int, uint32_t> state;  // object id -> ready events
    std::map<std::pair<int, int>, std::unique_ptr<EpollItem>> items;
    bool locked = false;
    std::function<void(EpollItem*)> during_poll;
    ~Fixture() {
        while (set.take_any()) {
        }
    }

    void lock() override {
        EXPECT_FALSE(locked);
        locked = true;
    }
    void unlock() override {
        EXPECT_TRUE(locked);
        locked = false;
    }
    uint32_t poll(EpollItem* item) override {
        EXPECT_FALSE(locked) << "poll must run without the spinlock";
        if (during_poll) during_poll(item);
        return state[object_of(item)];
    }
    static int object_of(const EpollItem* item) { return static_cast<int>(reinterpret_cast<uintptr_t>(item->key.file)); }
    static EpollKey key(int object, int fd) { return EpollKey{reinterpret_cast<const void*>(uintptr_t(object)), fd}; }

    // epoll_ctl ADD / MOD as the kernel does them: change, poll, notify if ready.
    void add(int object, int fd, uint32_t events, uint64_t data) {
        auto item = std::make_unique<EpollItem>();
        item->key = key(object, fd);
        item->events = events | ERR | HUP;
        item->data = data;
        set.insert(item.get());
        check_ready(item.get());
        items[{object, fd}] = std::move(item);
    }
    void mod(int object, int fd, uint32_t events, uint64_t data) {
        EpollItem* item = set.find(key(object, fd));
        ASSERT_NE(item, nullptr);
        EpollSet::modify(item, events | ERR | HUP, data);
        check_ready(item);
    }
    void del(int object, int fd) {
        EpollItem* item = set.find(key(object, fd));
        ASSERT_NE(item, nullptr);
        set.erase(item);
        items.erase({object, fd});
    }
    void check_ready(EpollItem* item) {
        uint32_t ready = state[object_of(item)] & (item->events | ERR | HUP);
        if (ready) set.notify(item, ready);
    }
    // The object's state changes; its head notifies every item watching it with `changed`.
    void change(int object, uint32_t now, uint32_t changed) {
        state[object] = now;
        for (auto& [k, item] : items) {
            if (k.first == object) set.notify(item.get(), changed);
        }
    }
    std::vector<EpollReport> wait(size_t max) {
        std::vector<EpollReport> out(max);
        out.resize(set.scan(*this, out.data(), max));
        return out;
    }
};

TEST(EpollSet, LevelTriggeredReportsWhileReady) {
    Fixture f;
    f.add(1, 10, IN, 100);
    EXPECT_TRUE(f.wait(8).empty());
    f.change(1, IN, IN);
    for (int i = 0; i < 3; ++i) {
        auto r = f.wait(8);
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].events, IN);
        EXPECT_EQ(r[0].data, 100u);
    }
    f.change(1, 0, 0);  // drained: no notification needed, the next scan drops it
    EXPECT_TRUE(f.wait(8).empty());
    EXPECT_FALSE(f.set.has_ready());
}

TEST(EpollSet, EdgeTriggeredReportsOncePerEdge) {
    Fixture f;
    f.add(1, 10, IN | ET, 7);
    f.change(1, IN, IN);
    EXPECT_EQ(f.wait(8).size(), 1u);
    EXPECT_TRUE(f.wait(8).empty());  // still readable, but no new edge
    f.change(1, IN, IN);             // more data: a new edge
    EXPECT_EQ(f.wait(8).size(), 1u);
    EXPECT_TRUE(f.wait(8).empty());
}

TEST(EpollSet, AddOfAReadyObjectReportsAtOnce) {
    Fixture f;
    f.state[1] = OUT;
    f.add(1, 3, OUT | ET, 1);
    auto r = f.wait(4);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].events, OUT);
}

TEST(EpollSet, OneShotDisablesUntilModified) {
    Fixture f;
    f.add(1, 10, IN | ONESHOT, 5);
    f.change(1, IN, IN);
    EXPECT_EQ(f.wait(8).size(), 1u);
    f.change(1, IN, IN);
    EXPECT_TRUE(f.wait(8).empty());
    f.mod(1, 10, IN | ONESHOT, 6);  // re-armed, and ready: reported again
    auto r = f.wait(8);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].data, 6u);
    EXPECT_TRUE(f.wait(8).empty());
}

TEST(EpollSet, ErrorAndHangupAreAlwaysReported) {
    Fixture f;
    f.add(1, 10, OUT, 1);
    f.change(1, HUP | IN, HUP | IN);
    auto r = f.wait(8);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].events, HUP);  // IN not asked for
}

TEST(EpollSet, InterestFiltersNotifications) {
    Fixture f;
    f.add(1, 10, IN | ET, 1);
    f.change(1, OUT, OUT);  // not watched: not queued
    EXPECT_FALSE(f.set.has_ready());
    f.change(1, OUT | RDHUP, RDHUP);
    EXPECT_FALSE(f.set.has_ready());
}

TEST(EpollSet, MaxEventsLeavesTheRestQueuedInOrder) {
    Fixture f;
    for (int i = 0; i < 5; ++i) f.add(i, i, IN | ET, static_cast<uint64_t>(i));
    for (int i = 0; i < 5; ++i) f.change(i, IN, IN);
    std::vector<uint64_t> seen;
    for (int round = 0; round < 3; ++round) {
        for (auto& r : f.wait(2)) seen.push_back(r.data);
    }
    EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
}

TEST(EpollSet, LevelTriggeredItemsRotate) {
    // A reported level-triggered item goes to the back: with room for one event per call,
    // every ready item gets its turn.
    Fixture f;
    for (int i = 0; i < 3; ++i) f.add(i, i, IN, static_cast<uint64_t>(i));
    for (int i = 0; i < 3; ++i) f.change(i, IN, IN);
    std::vector<uint64_t> seen;
    for (int round = 0; round < 6; ++round) seen.push_back(f.wait(1).at(0).data);
    EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 0, 1, 2}));
}

TEST(EpollSet, AnEdgeDuringTheScanIsNotLost) {
    // The object is polled (not ready yet), then becomes ready before the scan is done with
    // the item: the notification lands while the item is in hand and must requeue it.
    Fixture f;
    f.add(1, 10, IN | ET, 9);
    f.change(1, IN, IN);
    f.state[1] = 0;  // drained behind epoll's back (a read in another thread)
    bool injected = false;
    f.during_poll = [&](EpollItem*) {
        if (injected) return;
        injected = true;
        // After the poll result is computed below the object changes again; simulate by
        // notifying now and leaving the state "not ready" for this poll.
        f.set.notify(f.items[{1, 10}].get(), IN);
    };
    EXPECT_TRUE(f.wait(8).empty());
    f.state[1] = IN;
    auto r = f.wait(8);
    ASSERT_EQ(r.size(), 1u);  // requeued by the notification in transit
}

TEST(EpollSet, AnyReadyDropsStaleItems) {
    Fixture f;
    f.add(1, 1, IN, 1);
    f.add(2, 2, IN, 2);
    f.change(1, IN, IN);
    f.change(2, IN, IN);
    f.state[1] = 0;
    EXPECT_TRUE(f.set.any_ready(f));
    f.state[2] = 0;
    EXPECT_FALSE(f.set.any_ready(f));
    EXPECT_FALSE(f.set.has_ready());
}

TEST(EpollSet, EraseTakesItemsOffTheReadyList) {
    Fixture f;
    f.add(1, 1, IN, 1);
    f.change(1, IN, IN);
    f.del(1, 1);
    EXPECT_FALSE(f.set.has_ready());
    EXPECT_EQ(f.set.size(), 0u);
}

// ---- random sequences against a model -------------------------------------------------------

struct Model {
    struct Reg {
        uint32_t events;
        uint64_t data;
        enum { none, ready, transit } queue = none;
        bool renotified = false;
        bool disabled() const { return (events & ~fs::epoll_flag_bits) == 0; }
    };
    std::map<std::pair<int, int>, Reg> regs;
    std::deque<std::pair<int, int>> ready;
    std::map<int, uint32_t> state;

    void notify(std::pair<int, int> k, uint32_t bits) {
        Reg& r = regs.at(k);
        if (r.disabled()) return;
        if (bits && !(bits & r.events & ~fs::epoll_flag_bits)) return;
        if (r.queue == Reg::ready) return;
        if (r.queue == Reg::transit) {
            r.renotified = true;
            return;
        }
        r.queue = Reg::ready;
        ready.push_back(k);
    }
    void change(int object, uint32_t now, uint32_t changed) {
        state[object] = now;
        for (auto& [k, r] : regs) {
            if (k.first == object) notify(k, changed);
        }
    }
    void check_ready(std::pair<int, int> k) {
        Reg& r = regs.at(k);
        uint32_t bits = state[k.first] & r.events;
        if (bits) notify(k, bits);
    }
    template <typename Inject>
    std::vector<EpollReport> scan(size_t max, Inject inject) {
        std::vector<std::pair<int, int>> transit(ready.begin(), ready.end());
        ready.clear();
        for (auto& k : transit) {
            regs.at(k).queue = Reg::transit;
            regs.at(k).renotified = false;
        }
        std::vector<EpollReport> out;
        size_t i = 0;
        while (out.size() < max && i < transit.size()) {
            auto k = transit[i++];
            Reg& r = regs.at(k);
            uint32_t events = 0;
            if (!r.disabled()) {
                inject(k);
                events = state[k.first] & (r.events | ERR | HUP) & ~fs::epoll_flag_bits;
            }
            r.queue = Reg::none;
            bool requeue = false;
            if (events) {
                out.push_back(EpollReport{events, r.data});
                if (r.events & ONESHOT) r.events &= fs::epoll_flag_bits;
                else requeue = !(r.events & ET) || r.renotified;
            } else {
                requeue = r.renotified;
            }
            if (requeue) {
                r.queue = Reg::ready;
                ready.push_back(k);
            }
        }
        for (size_t j = transit.size(); j > i; --j) {
            auto k = transit[j - 1];
            regs.at(k).queue = Reg::ready;
            ready.push_front(k);
        }
        return out;
    }
};

TEST(EpollSet, RandomOperationsMatchTheModel) {
    constexpr int objects = 6, fds = 3;
    const uint32_t masks[] = {IN, OUT, IN | OUT, IN | RDHUP, IN | ET, OUT | ET, IN | OUT | ET, IN | ONESHOT,
                              IN | ET | ONESHOT, RDHUP | ET};
    const uint32_t states[] = {0, IN, OUT, IN | OUT, HUP, IN | HUP | RDHUP, ERR, IN | ERR};
    for (uint32_t seed = 1; seed <= 40; ++seed) {
        std::mt19937 rng(seed);
        Fixture f;
        Model m;
        auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
        for (int step = 0; step < 1500; ++step) {
            int op = pick(10);
            int object = pick(objects), fd = pick(fds);
            std::pair<int, int> k{object, fd};
            bool registered = m.regs.count(k) != 0;
            ASSERT_EQ(registered, f.set.find(Fixture::key(object, fd)) != nullptr);
            if (op <= 1) {  // ADD
                if (registered) continue;
                uint32_t events = masks[pick(10)];
                uint64_t data = rng();
                f.add(object, fd, events, data);
                m.regs[k] = Model::Reg{events | ERR | HUP, data};
                m.check_ready(k);
            } else if (op == 2) {  // MOD
                if (!registered) continue;
                uint32_t events = masks[pick(10)];
                uint64_t data = rng();
                f.mod(object, fd, events, data);
                m.regs.at(k).events = events | ERR | HUP;
                m.regs.at(k).data = data;
                m.check_ready(k);
            } else if (op == 3) {  // DEL
                if (!registered) continue;
                f.del(object, fd);
                if (m.regs.at(k).queue == Model::Reg::ready) {
                    m.ready.erase(std::find(m.ready.begin(), m.ready.end(), k));
                }
                m.regs.erase(k);
            } else if (op <= 6) {  // a state change, notified with the bits that appeared
                uint32_t before = f.state[object], now = states[pick(8)];
                uint32_t risen = now & ~before;
                if (pick(8) == 0) risen = 0;  // "something changed"
                else if (risen == 0) {
                    f.state[object] = now;
                    m.state[object] = now;
                    continue;
                }
                f.change(object, now, risen);
                m.change(object, now, risen);
            } else {  // a scan, with state changes injected while items are in hand
                size_t max = 1 + static_cast<size_t>(pick(6));
                uint32_t inject_seed = rng();
                auto make_injector = [&](auto& world_change) {
                    return [&, r = std::mt19937(inject_seed)](std::pair<int, int> at) mutable {
                        if (r() % 3) return;
                        uint32_t now = states[r() % 8];
                        int object = (r() % 2) ? at.first : static_cast<int>(r() % objects);
                        world_change(object, now);
                    };
                };
                auto model_change = [&](int object, uint32_t now) {
                    uint32_t risen = now & ~m.state[object];
                    if (risen) m.change(object, now, risen);
                    else m.state[object] = now;
                };
                auto real_change = [&](int object, uint32_t now) {
                    uint32_t risen = now & ~f.state[object];
                    if (risen) f.change(object, now, risen);
                    else f.state[object] = now;
                };
                auto model_inject = make_injector(model_change);
                auto expected = m.scan(max, model_inject);
                auto real_inject = make_injector(real_change);
                f.during_poll = [&](EpollItem* item) {
                    real_inject({Fixture::object_of(item), item->key.fd});
                };
                auto got = f.wait(max);
                f.during_poll = nullptr;
                ASSERT_EQ(got.size(), expected.size()) << "seed " << seed << " step " << step;
                for (size_t i = 0; i < got.size(); ++i) {
                    ASSERT_EQ(got[i].events, expected[i].events) << "seed " << seed << " step " << step;
                    ASSERT_EQ(got[i].data, expected[i].data) << "seed " << seed << " step " << step;
                }
                ASSERT_EQ(f.set.has_ready(), !m.ready.empty()) << "seed " << seed << " step " << step;
            }
        }
        EXPECT_EQ(f.set.size(), m.regs.size());
    }
}

TEST(EpollSet, ManyItems) {
    Fixture f;
    constexpr int n = 2000;
    for (int i = 0; i < n; ++i) f.add(i, i, IN, static_cast<uint64_t>(i));
    for (int i = 0; i < n; i += 2) f.change(i, IN, IN);
    auto r = f.wait(n);
    EXPECT_EQ(r.size(), static_cast<size_t>(n / 2));
    for (int i = 0; i < n; i += 2) f.del(i, i);
    EXPECT_TRUE(f.wait(n).empty());
    EXPECT_EQ(f.set.size(), static_cast<size_t>(n / 2));
    while (EpollItem* item = f.set.take_any()) (void)item;
    EXPECT_EQ(f.set.size(), 0u);
}

}  // namespace
