// The driver half of the split virtqueue (drivers/virtio/virtqueue.cc) against a model of the
// device half written from the spec (virtio 1.2, 2.7): it consumes available buffers, checks
// every chain it walks (indices, loops, indirect tables, readable before writable), writes
// used entries, decides on notifications and interrupts as a device must, and checks the
// driver never leaves it asleep with work (a lost kick) or sleeps through a used buffer
// (a lost interrupt). Random operation sequences, with and without EVENT_IDX and indirect
// descriptors, across the 16-bit index wrap-around.
#include <gtest/gtest.h>
#include <mica/virtio/virtqueue.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {
using mica::virtio::Descriptor;
using mica::virtio::Segment;
using mica::virtio::UsedElement;
using mica::virtio::Virtqueue;

// Host addresses double as device addresses.
uint64_t dev(const void* p) { return reinterpret_cast<uint64_t>(p); }
template <typename T>
T* host(uint64_t a) {
    return reinterpret_cast<T*>(a);
}

struct Tables {
    std::set<void*> live;
    size_t allocated = 0;
    bool fail = false;  // simulate running out of memory: add() must fall back to direct
    static void* allocate(size_t size, uint64_t* address, void* context) {
        auto* self = static_cast<Tables*>(context);
        if (self->fail) return nullptr;
        void* p = aligned_alloc(16, (size + 15) & ~size_t{15});
        memset(p, 0xcd, size);
        self->live.insert(p);
        ++self->allocated;
        *address = dev(p);
        return p;
    }
    static void release(void* table, void* context) {
        auto* self = static_cast<Tables*>(context);
        ASSERT_EQ(self->live.erase(table), 1u) << "released a table that is not live";
        free(table);
    }
};

// A request as the driver builds it: the out bytes start with a header the device checks.
struct Header {
    uint32_t id;
    uint32_t checksum;  // of the out bytes after the header
    uint32_t in_bytes;  // device-writable bytes the request offers
};

uint8_t in_byte(uint32_t id, size_t k) { return static_cast<uint8_t>(id * 31 + k * 7 + 1); }

class ModelDevice {
public:
    ModelDevice(const Virtqueue& q, bool event_idx, uint16_t start)
        : size_(q.size()), event_idx_(event_idx), last_avail_(start), used_(start) {
        desc_ = host<Descriptor>(q.desc_address());
        avail_ = host<volatile uint16_t>(q.avail_address());
        used_base_ = host<uint8_t>(q.used_address());
    }

    volatile uint16_t& avail_flags() { return avail_[0]; }
    volatile uint16_t& avail_idx() { return avail_[1]; }
    uint16_t avail_ring(uint16_t i) { return avail_[2 + (i & (size_ - 1))]; }
    volatile uint16_t& used_event() { return avail_[2 + size_]; }
    volatile uint16_t& used_flags() { return reinterpret_cast<volatile uint16_t*>(used_base_)[0]; }
    volatile uint16_t& used_idx() { return reinterpret_cast<volatile uint16_t*>(used_base_)[1]; }
    volatile UsedElement& used_ring(uint16_t i) {
        return reinterpret_cast<volatile UsedElement*>(used_base_ + 4)[i & (size_ - 1)];
    }
    volatile uint16_t& avail_event() {
        return *reinterpret_cast<volatile uint16_t*>(used_base_ + 4 + sizeof(UsedElement) * size_);
    }

    bool pending() { return avail_idx() != last_avail_; }

    // The device stops polling and asks to be notified of new buffers. Like a real device it
    // looks again after asking, so a buffer published in between is not missed.
    void sleep() {
        if (event_idx_) avail_event() = last_avail_;
        else used_flags() = 0;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        asleep_ = !pending();
    }
    // Busy: the device tells the driver not to bother notifying (a hint without EVENT_IDX;
    // with it, the device just does not move avail_event).
    void poll_mode() {
        asleep_ = false;
        if (!event_idx_) used_flags() = mica::virtio::used_f_no_notify;
    }
    void notify() {
        ++notifications_;
        asleep_ = false;
    }
    bool asleep() const { return asleep_; }
    uint64_t notifications() const { return notifications_; }
    uint64_t interrupts() const { return interrupts_; }

    // Walks one chain and checks it as a device must; returns the out bytes and the
    // writable segments.
    void set_used(uint16_t index, uint32_t id, uint32_t length) {
        used_ring(index).id = id;
        used_ring(index).length = length;
    }
    void walk(uint16_t head, std::vector<uint8_t>& out, std::vector<std::pair<uint8_t*, uint32_t>>& in) {
        ASSERT_LT(head, size_) << "available ring names descriptor " << head;
        const Descriptor* table = desc_;
        uint32_t table_size = size_;
        uint16_t i = head;
        if (desc_[head].flags & mica::virtio::desc_f_indirect) {
            ASSERT_FALSE(desc_[head].flags & mica::virtio::desc_f_next) << "indirect descriptor with NEXT";
            ASSERT_EQ(desc_[head].length % sizeof(Descriptor), 0u);
            ASSERT_GT(desc_[head].length, 0u);
            table = host<Descriptor>(desc_[head].address);
            table_size = desc_[head].length / sizeof(Descriptor);
            i = 0;
            ++indirect_seen_;
        }
        bool writable_seen = false;
        for (uint32_t steps = 0;; ++steps) {
            ASSERT_LT(steps, table_size) << "descriptor chain loops";
            ASSERT_LT(i, table_size);
            const Descriptor& d = table[i];
            ASSERT_FALSE(d.flags & mica::virtio::desc_f_indirect) << "nested indirect table";
            ASSERT_GT(d.length, 0u);
            if (d.flags & mica::virtio::desc_f_write) {
                writable_seen = true;
                in.emplace_back(host<uint8_t>(d.address), d.length);
            } else {
                ASSERT_FALSE(writable_seen) << "readable descriptor after a writable one";
                const uint8_t* p = host<uint8_t>(d.address);
                out.insert(out.end(), p, p + d.length);
            }
            if (!(d.flags & mica::virtio::desc_f_next)) break;
            i = d.next;
        }
    }

    // Consumes up to `max` available buffers; returns how many.
    unsigned process(unsigned max) {
        unsigned done = 0;
        uint16_t old_used = used_;
        while (done < max && pending()) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            uint16_t head = avail_ring(last_avail_);
            std::vector<uint8_t> out;
            std::vector<std::pair<uint8_t*, uint32_t>> in;
            walk(head, out, in);
            if (::testing::Test::HasFatalFailure()) return done;
            EXPECT_GE(out.size(), sizeof(Header));
            Header h{};
            memcpy(&h, out.data(), sizeof h);
            uint32_t sum = 0;
            for (size_t k = sizeof h; k < out.size(); ++k) sum = sum * 33 + out[k];
            EXPECT_EQ(sum, h.checksum) << "request " << h.id << ": the out bytes arrived changed";
            uint32_t total_in = 0, written = 0;
            for (auto& [p, n] : in) total_in += n;
            EXPECT_EQ(total_in, h.in_bytes) << "request " << h.id;
            for (auto& [p, n] : in) {
                for (uint32_t k = 0; k < n; ++k) p[k] = in_byte(h.id, written + k);
                written += n;
            }
            set_used(used_, head, written);
            ++last_avail_;
            ++used_;
            ++done;
        }
        if (done) {
            __atomic_thread_fence(__ATOMIC_RELEASE);
            used_idx() = used_;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            bool interrupt = event_idx_ ? mica::virtio::need_event(used_event(), used_, old_used)
                                        : !(avail_flags() & mica::virtio::avail_f_no_interrupt);
            if (interrupt) ++interrupts_;
            last_interrupted_ = interrupt;
        }
        return done;
    }
    bool last_interrupted() const { return last_interrupted_; }
    uint16_t used_index() const { return used_; }
    uint64_t indirect_seen() const { return indirect_seen_; }

private:
    uint16_t size_;
    bool event_idx_;
    Descriptor* desc_;
    volatile uint16_t* avail_;
    uint8_t* used_base_;
    uint16_t last_avail_;
    uint16_t used_;
    bool asleep_ = false;
    bool last_interrupted_ = false;
    uint64_t notifications_ = 0, interrupts_ = 0, indirect_seen_ = 0;
};

struct Request {
    uint32_t id;
    std::vector<std::vector<uint8_t>> out, in;
};

struct Harness {
    uint16_t size;
    bool event_idx, indirect;
    void* memory;
    std::vector<uint8_t> state;
    Tables tables;
    Virtqueue q;
    std::map<uint32_t, Request*> in_flight;
    uint32_t next_id = 1;
    uint64_t completed = 0;

    Harness(uint16_t size, bool event_idx, bool indirect) : size(size), event_idx(event_idx), indirect(indirect) {
        auto l = Virtqueue::layout(size);
        memory = aligned_alloc(4096, (l.total + 4095) & ~size_t{4095});
        memset(memory, 0, l.total);
        state.resize(Virtqueue::state_size(size));
        EXPECT_EQ(q.init(size, memory, dev(memory), state.data(), event_idx, indirect,
                         {Tables::allocate, Tables::release, &tables}),
                  0);
    }
    ~Harness() {
        for (auto& [id, r] : in_flight) delete r;
        free(memory);
    }

    // Builds and adds a request with `out` + `in` segments; false when the ring is full.
    bool add(std::mt19937& rng, unsigned out_count, unsigned in_count) {
        auto* r = new Request{next_id, {}, {}};
        std::vector<Segment> segments;
        std::vector<uint8_t> payload;
        for (unsigned i = 0; i < out_count; ++i) {
            size_t n = i == 0 ? sizeof(Header) + rng() % 40 : 1 + rng() % 64;
            r->out.emplace_back(n);
        }
        uint32_t in_bytes = 0;
        for (unsigned i = 0; i < in_count; ++i) {
            r->in.emplace_back(1 + rng() % 64, 0);
            in_bytes += r->in.back().size();
        }
        for (auto& o : r->out) {
            for (auto& b : o) b = static_cast<uint8_t>(rng());
        }
        // The header sits in the first out segment; the checksum covers what follows it.
        uint32_t sum = 0;
        for (size_t s = 0; s < r->out.size(); ++s) {
            for (size_t k = s == 0 ? sizeof(Header) : 0; k < r->out[s].size(); ++k) sum = sum * 33 + r->out[s][k];
        }
        Header h{r->id, sum, in_bytes};
        memcpy(r->out[0].data(), &h, sizeof h);
        for (auto& o : r->out) segments.push_back({dev(o.data()), static_cast<uint32_t>(o.size())});
        for (auto& i : r->in) segments.push_back({dev(i.data()), static_cast<uint32_t>(i.size())});
        int e = q.add(segments.data(), out_count, in_count, r);
        if (e != 0) {
            EXPECT_EQ(e, -28) << "add failed other than for room";
            delete r;
            return false;
        }
        in_flight[r->id] = r;
        ++next_id;
        return true;
    }

    // Takes one used buffer and checks it; false when there is none.
    bool take() {
        uint32_t written = 0;
        auto* r = static_cast<Request*>(q.take_used(&written));
        if (!r) return false;
        EXPECT_EQ(in_flight.erase(r->id), 1u) << "token returned twice or never added";
        uint32_t expected = 0;
        for (auto& i : r->in) expected += i.size();
        EXPECT_EQ(written, expected);
        size_t k = 0;
        for (auto& i : r->in) {
            for (uint8_t b : i) {
                EXPECT_EQ(b, in_byte(r->id, k)) << "request " << r->id << " byte " << k;
                ++k;
            }
        }
        ++completed;
        delete r;
        return true;
    }
};

struct Params {
    uint16_t size;
    bool event_idx;
    bool indirect;
    uint16_t start;
};

class VirtqueueRandom : public ::testing::TestWithParam<Params> {};

// The driver's loop: add, publish (notify when told), take used buffers, sleep with
// interrupts enabled; the device runs in between in random steps and modes.
TEST_P(VirtqueueRandom, RandomSequencesAgainstTheModelDevice) {
    const Params p = GetParam();
    Harness h(p.size, p.event_idx, p.indirect);
    h.q.start_indices_at(p.start);
    ModelDevice d(h.q, p.event_idx, p.start);
    std::mt19937 rng(p.size * 1000003u + p.event_idx * 7 + p.indirect * 13 + p.start);
    bool driver_sleeping = false;
    constexpr int steps = 60000;
    for (int step = 0; step < steps && !::testing::Test::HasFailure(); ++step) {
        switch (rng() % 8) {
        case 0:
        case 1: {  // the driver adds a few buffers and publishes them
            driver_sleeping = false;
            unsigned n = 1 + rng() % 3;
            for (unsigned i = 0; i < n; ++i) {
                unsigned max_out = p.size < 3 ? 1 : 3;
                unsigned out = 1 + rng() % max_out;
                unsigned in = p.size < 3 ? 0 : rng() % 3;
                if (out + in > p.size) in = p.size - out;
                h.tables.fail = rng() % 16 == 0;
                if (!h.add(rng, out, in)) break;
            }
            if (h.q.publish()) d.notify();
            else if (d.asleep() && d.pending()) FAIL() << "lost kick: the device sleeps with buffers available";
            break;
        }
        case 2:
        case 3: {  // the device works, unless it sleeps un-notified
            if (d.asleep()) break;
            unsigned done = d.process(1 + rng() % 4);
            if (done && driver_sleeping && !d.last_interrupted()) {
                FAIL() << "lost interrupt: the driver sleeps with a used buffer waiting";
            }
            if (done && d.last_interrupted()) driver_sleeping = false;  // the interrupt wakes it
            break;
        }
        case 4: {  // the device goes idle (asks for notifications) or busy-polls
            if (rng() % 3) d.sleep();
            else d.poll_mode();
            break;
        }
        case 5: {  // the driver takes what is done
            if (driver_sleeping) break;
            unsigned n = rng() % 5;
            for (unsigned i = 0; i < n && h.take(); ++i) {
            }
            break;
        }
        case 6: {  // the driver sleeps for an interrupt, or polls with interrupts off
            if (driver_sleeping) break;
            if (rng() % 2) {
                // The NAPI-style loop: interrupts off, drain, and the device may finish
                // another buffer right then, before interrupts are on again: enable must see it.
                h.q.disable_interrupts();
                while (h.take()) {
                }
                if (rng() % 2 && !d.asleep()) d.process(1);
                if (h.q.enable_interrupts()) {
                    driver_sleeping = true;
                    if (d.used_index() != static_cast<uint16_t>(p.start + h.completed)) {
                        FAIL() << "lost wake-up: the driver sleeps with a used buffer it has not taken";
                    }
                }
            } else {
                h.q.disable_interrupts();
            }
            break;
        }
        case 7:  // a notification the device did not ask for (always allowed)
            if (rng() % 4 == 0) d.notify();
            break;
        }
    }
    ASSERT_FALSE(::testing::Test::HasFailure());
    ASSERT_EQ(h.q.broken(), nullptr);
    // Drain: everything comes back, every descriptor and table is free again.
    for (int round = 0; round < 100000 && !h.in_flight.empty(); ++round) {
        if (h.q.publish()) d.notify();
        d.notify();
        d.process(p.size);
        while (h.take()) {
        }
    }
    EXPECT_TRUE(h.in_flight.empty()) << h.in_flight.size() << " buffers never came back";
    EXPECT_EQ(h.q.free_descriptors(), p.size);
    EXPECT_TRUE(h.tables.live.empty()) << h.tables.live.size() << " indirect tables leaked";
    EXPECT_GT(h.completed, 1000u);
    if (p.indirect && p.size >= 4) {
        EXPECT_GT(d.indirect_seen(), 0u);
    }
    if (!p.indirect) {
        EXPECT_EQ(h.tables.allocated, 0u);
    }
}

std::string name(const ::testing::TestParamInfo<Params>& info) {
    const Params& p = info.param;
    return "size" + std::to_string(p.size) + (p.event_idx ? "_eventidx" : "_flags") +
           (p.indirect ? "_indirect" : "_direct") + "_from" + std::to_string(p.start);
}

INSTANTIATE_TEST_SUITE_P(Modes, VirtqueueRandom,
                         ::testing::Values(Params{1, false, false, 0}, Params{2, true, false, 65530},
                                           Params{4, false, true, 65000}, Params{8, true, true, 0},
                                           Params{8, false, false, 65535}, Params{16, true, false, 32768},
                                           Params{64, true, true, 65500}, Params{256, false, true, 0},
                                           Params{256, true, false, 65280}),
                         name);

TEST(Virtqueue, LayoutFollowsTheSpec) {
    auto l = Virtqueue::layout(256);
    EXPECT_EQ(l.desc_offset, 0u);
    EXPECT_EQ(l.avail_offset, 256u * 16);
    EXPECT_EQ(l.used_offset % 4096, 0u);
    EXPECT_GE(l.used_offset, l.avail_offset + 6 + 2 * 256);
    EXPECT_EQ(l.total, l.used_offset + 6 + 8 * 256);
    EXPECT_TRUE(Virtqueue::valid_size(1));
    EXPECT_TRUE(Virtqueue::valid_size(32768));
    EXPECT_FALSE(Virtqueue::valid_size(0));
    EXPECT_FALSE(Virtqueue::valid_size(3));
    std::vector<uint8_t> state(Virtqueue::state_size(8));
    std::vector<uint8_t> memory(Virtqueue::layout(8).total);
    Virtqueue q;
    EXPECT_EQ(q.init(6, memory.data(), 0, state.data(), false, false), -22);
}

TEST(Virtqueue, BadRequestsAndAFullRing) {
    Harness h(4, false, false);
    uint8_t b[8];
    Segment s[5] = {{dev(b), 8}, {dev(b), 8}, {dev(b), 8}, {dev(b), 8}, {dev(b), 8}};
    int token = 0;
    EXPECT_EQ(h.q.add(s, 0, 0, &token), -22);       // nothing
    EXPECT_EQ(h.q.add(s, 1, 0, nullptr), -22);      // no token
    EXPECT_EQ(h.q.add(s, 3, 2, &token), -22);       // more than the ring holds
    Segment empty{dev(b), 0};
    EXPECT_EQ(h.q.add(&empty, 1, 0, &token), -22);  // zero length
    EXPECT_EQ(h.q.add(s, 2, 1, &token), 0);
    EXPECT_EQ(h.q.free_descriptors(), 1);
    EXPECT_EQ(h.q.add(s, 1, 1, &token), -28);  // no room
    EXPECT_EQ(h.q.add(s, 1, 0, &token), 0);
    EXPECT_EQ(h.q.free_descriptors(), 0);
    EXPECT_FALSE(h.q.has_used());
    EXPECT_EQ(h.q.take_used(nullptr), nullptr);
}

TEST(Virtqueue, IndirectTablesKeepAFullRingUsable) {
    Harness h(2 * 2, false, true);
    ModelDevice d(h.q, false, 0);
    std::mt19937 rng(1);
    // Two requests of four segments each fit in a ring of four only through indirect tables.
    ASSERT_TRUE(h.add(rng, 2, 2));
    ASSERT_TRUE(h.add(rng, 3, 1));
    EXPECT_EQ(h.q.free_descriptors(), 2);
    EXPECT_EQ(h.tables.live.size(), 2u);
    EXPECT_TRUE(h.q.publish());
    EXPECT_EQ(d.process(8), 2u);
    EXPECT_TRUE(h.take());
    EXPECT_TRUE(h.take());
    EXPECT_TRUE(h.tables.live.empty());
    EXPECT_EQ(h.q.free_descriptors(), 4);
}

TEST(Virtqueue, AUsedIdThatIsNotInFlightBreaksTheQueue) {
    Harness h(4, false, false);
    ModelDevice d(h.q, false, 0);
    std::mt19937 rng(2);
    ASSERT_TRUE(h.add(rng, 1, 1));
    h.q.publish();
    d.set_used(0, 3, 0);  // descriptor 3 was never handed out
    d.used_idx() = 1;
    EXPECT_EQ(h.q.take_used(nullptr), nullptr);
    EXPECT_STREQ(h.q.broken(), "the device returned a buffer that is not in flight");
    uint8_t b[4];
    Segment s{dev(b), 4};
    int token;
    EXPECT_EQ(h.q.add(&s, 1, 0, &token), -22);
}

TEST(Virtqueue, EventIndexSuppressesNotificationsUntilTheDeviceAsks) {
    Harness h(8, true, false);
    ModelDevice d(h.q, true, 0);
    std::mt19937 rng(3);
    d.sleep();  // avail_event = 0: notify for the first buffer
    ASSERT_TRUE(h.add(rng, 1, 1));
    EXPECT_TRUE(h.q.publish());
    d.notify();
    // The device is busy and has not moved avail_event: no more notifications.
    d.poll_mode();
    ASSERT_TRUE(h.add(rng, 1, 1));
    EXPECT_FALSE(h.q.publish());
    EXPECT_EQ(d.process(8), 2u);
    d.sleep();  // avail_event = 2
    ASSERT_TRUE(h.add(rng, 1, 0));
    EXPECT_TRUE(h.q.publish());
    // Interrupts: disabled means none, however many buffers complete.
    while (h.take()) {
    }
    h.q.disable_interrupts();
    uint64_t before = d.interrupts();
    EXPECT_EQ(d.process(8), 1u);
    EXPECT_EQ(d.interrupts(), before);
    EXPECT_FALSE(h.q.enable_interrupts());  // one is waiting: process it instead of sleeping
    EXPECT_TRUE(h.take());
    EXPECT_TRUE(h.q.enable_interrupts());
    ASSERT_TRUE(h.add(rng, 1, 1));
    h.q.publish();
    EXPECT_EQ(d.process(8), 1u);
    EXPECT_TRUE(d.last_interrupted());
}

}  // namespace
