// The scheduling policy (run_queue.h) and the intrusive list under it, on the host.
#include <gtest/gtest.h>
#include <mica/sched/list.h>
#include <mica/sched/run_queue.h>

#include <algorithm>
#include <random>
#include <vector>

using namespace mica::sched;

namespace {

struct Item {
    int value;
    ListNode link;
};
using ItemList = List<Item, &Item::link>;

TEST(IntrusiveList, PushPopRemoveSorted) {
    Item a{1, {}}, b{2, {}}, c{3, {}};
    ItemList list;
    EXPECT_TRUE(list.empty());
    list.push_back(b);
    list.push_front(a);
    list.push_back(c);
    EXPECT_EQ(list.size(), 3u);
    EXPECT_EQ(list.front()->value, 1);
    ItemList::remove(b);
    EXPECT_FALSE(b.link.linked());
    std::vector<int> seen;
    list.for_each([&](Item& i) { seen.push_back(i.value); });
    EXPECT_EQ(seen, (std::vector<int>{1, 3}));
    EXPECT_EQ(list.pop_front()->value, 1);
    EXPECT_EQ(list.pop_front()->value, 3);
    EXPECT_EQ(list.pop_front(), nullptr);

    Item items[6] = {{5, {}}, {1, {}}, {4, {}}, {1, {}}, {9, {}}, {0, {}}};
    for (auto& i : items) list.insert_sorted(i, [](const Item& x, const Item& y) { return x.value < y.value; });
    seen.clear();
    list.for_each([&](Item& i) { seen.push_back(i.value); });
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 1, 4, 5, 9}));
    EXPECT_EQ(list.find([](const Item& i) { return i.value == 4; }), &items[2]);
}

TEST(RunQueue, HighestPriorityFirstRoundRobinWithin) {
    RunQueue rq;
    Schedulable low1, low2, high;
    low1.priority = low2.priority = 10;
    high.priority = 20;
    EXPECT_TRUE(rq.empty());
    EXPECT_EQ(rq.highest_priority(), -1);
    rq.enqueue(low1);
    rq.enqueue(low2);
    rq.enqueue(high);
    EXPECT_EQ(rq.size(), 3u);
    EXPECT_EQ(rq.highest_priority(), 20);
    EXPECT_EQ(rq.pop_highest(), &high);
    EXPECT_EQ(rq.pop_highest(), &low1);
    rq.enqueue(low1);  // back of its level: low2 is next
    EXPECT_EQ(rq.pop_highest(), &low2);
    rq.enqueue_front(low2);  // preempted early: keeps its turn
    EXPECT_EQ(rq.pop_highest(), &low2);
    rq.remove(low1);
    EXPECT_TRUE(rq.empty());
    EXPECT_EQ(rq.pop_highest(), nullptr);
}

TEST(RunQueue, PreemptionRules) {
    RunQueue rq;
    Schedulable current, same, higher, lower;
    current.priority = same.priority = 16;
    higher.priority = 17;
    lower.priority = 3;
    constexpr uint64_t slice = 4000000;
    EXPECT_FALSE(rq.should_preempt(current, slice * 10, slice));  // alone: keeps running
    rq.enqueue(lower);
    EXPECT_FALSE(rq.should_preempt(current, slice * 10, slice));  // lower waits: still no
    rq.enqueue(same);
    EXPECT_FALSE(rq.should_preempt(current, slice - 1, slice));   // slice not used up
    EXPECT_TRUE(rq.should_preempt(current, slice, slice));        // round robin
    rq.remove(same);
    rq.enqueue(higher);
    EXPECT_TRUE(rq.should_preempt(current, 0, slice));            // higher priority at once
}

TEST(RunQueue, RandomOperationsMatchModel) {
    // Against a model: per-priority FIFO queues.
    std::mt19937 rng(5);
    constexpr int n = 64;
    Schedulable s[n];
    bool queued[n] = {};
    std::vector<int> model[priority_levels];
    RunQueue rq;
    for (int i = 0; i < n; ++i) s[i].priority = static_cast<int>(rng() % priority_levels);
    for (int step = 0; step < 20000; ++step) {
        int i = static_cast<int>(rng() % n);
        if (!queued[i]) {
            rq.enqueue(s[i]);
            model[s[i].priority].push_back(i);
            queued[i] = true;
        } else if (rng() % 2) {
            rq.remove(s[i]);
            auto& q = model[s[i].priority];
            q.erase(std::find(q.begin(), q.end(), i));
            queued[i] = false;
        } else {
            Schedulable* got = rq.pop_highest();
            int p = priority_levels - 1;
            while (p >= 0 && model[p].empty()) --p;
            ASSERT_GE(p, 0);
            ASSERT_EQ(got, &s[model[p].front()]);
            queued[model[p].front()] = false;
            model[p].erase(model[p].begin());
        }
        int p = priority_levels - 1;
        while (p >= 0 && model[p].empty()) --p;
        ASSERT_EQ(rq.highest_priority(), p);
    }
}

}  // namespace
