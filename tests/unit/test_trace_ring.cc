// The trace rings and the trace file encoder (kernel/include/mica/trace/ring.h, format.h).
#include <gtest/gtest.h>
#include <mica/trace/format.h>
#include <mica/trace/ring.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace mica::trace;

namespace {

// Records of 16 + 8 * words bytes whose payload words all equal `value` (checkable when read).
std::vector<uint8_t> record(uint16_t id, uint32_t thread, uint64_t timestamp, size_t words, uint64_t value) {
    std::vector<uint8_t> r(sizeof(RecordHeader) + words * 8);
    RecordHeader h{timestamp, id, static_cast<uint16_t>(r.size()), thread};
    memcpy(r.data(), &h, sizeof h);
    for (size_t i = 0; i < words; ++i) memcpy(r.data() + sizeof h + i * 8, &value, 8);
    return r;
}

bool put(Ring& ring, const std::vector<uint8_t>& r) {
    Ring::Piece piece{r.data(), r.size()};
    return ring.write(&piece, 1, r.size());
}

struct Seen {
    uint64_t timestamp;
    uint64_t value;
    size_t words;
};

// Decodes a snapshot; fails the test on a record whose payload is not its own.
std::vector<Seen> decode(const std::vector<uint8_t>& bytes, size_t size) {
    std::vector<Seen> out;
    size_t at = 0;
    while (at < size) {
        RecordHeader h;
        EXPECT_LE(at + sizeof h, size);
        memcpy(&h, bytes.data() + at, sizeof h);
        EXPECT_GE(h.size, sizeof h);
        EXPECT_EQ(h.size % 8, 0u);
        EXPECT_LE(at + h.size, size);
        if (h.size < sizeof h || at + h.size > size) break;
        size_t words = (h.size - sizeof h) / 8;
        uint64_t first = 0;
        if (words) memcpy(&first, bytes.data() + at + sizeof h, 8);
        for (size_t i = 0; i < words; ++i) {
            uint64_t v;
            memcpy(&v, bytes.data() + at + sizeof h + i * 8, 8);
            EXPECT_EQ(v, first) << "a torn record was decoded";
        }
        EXPECT_EQ(first, h.timestamp) << "payload of another record";
        out.push_back({h.timestamp, first, words});
        at += h.size;
    }
    return out;
}

std::vector<Seen> snapshot(const Ring& ring, uint64_t* lost = nullptr) {
    std::vector<uint8_t> copy(ring.capacity());
    Ring::Snapshot s = ring.snapshot(copy.data(), copy.size());
    if (lost) *lost = s.lost;
    return decode(copy, s.bytes);
}

}  // namespace

TEST(TraceRing, KeepsRecordsInOrder) {
    std::vector<uint8_t> buffer(256);
    Ring ring;
    ring.init(buffer.data(), buffer.size());
    for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(put(ring, record(1, 7, i, 2, i)));
    uint64_t lost = 99;
    auto seen = snapshot(ring, &lost);
    ASSERT_EQ(seen.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(seen[i].timestamp, i + 1);
    EXPECT_EQ(lost, 0u);
}

TEST(TraceRing, WrapsAroundDroppingTheOldestAndCountingThem) {
    std::vector<uint8_t> buffer(256);
    Ring ring;
    ring.init(buffer.data(), buffer.size());
    // 32-byte records: 8 fit; 20 written leave the newest 8 and 12 lost.
    for (uint64_t i = 1; i <= 20; ++i) ASSERT_TRUE(put(ring, record(1, 7, i, 2, i)));
    uint64_t lost = 0;
    auto seen = snapshot(ring, &lost);
    ASSERT_EQ(seen.size(), 8u);
    EXPECT_EQ(seen.front().timestamp, 13u);
    EXPECT_EQ(seen.back().timestamp, 20u);
    EXPECT_EQ(lost, 12u);
    EXPECT_EQ(ring.lost(), 12u);
}

TEST(TraceRing, RecordsStraddleTheEnd) {
    std::vector<uint8_t> buffer(128);
    Ring ring;
    ring.init(buffer.data(), buffer.size());
    // Sizes 40, 24, 56 ... never divide 128: records keep crossing the end of the buffer.
    size_t sizes[] = {3, 1, 5, 2, 4};
    uint64_t lost = 0;
    for (uint64_t i = 1; i <= 50; ++i) {
        ASSERT_TRUE(put(ring, record(2, 1, i, sizes[i % 5], i)));
        auto seen = snapshot(ring, &lost);
        ASSERT_FALSE(seen.empty());
        EXPECT_EQ(seen.back().timestamp, i);
        for (size_t k = 1; k < seen.size(); ++k) EXPECT_EQ(seen[k].timestamp, seen[k - 1].timestamp + 1);
        EXPECT_EQ(lost + seen.size(), i) << "every record is either kept or counted lost";
    }
}

TEST(TraceRing, RefusesWhatCanNeverFit) {
    std::vector<uint8_t> buffer(128);
    Ring ring;
    ring.init(buffer.data(), buffer.size());
    EXPECT_FALSE(put(ring, record(1, 1, 1, 8, 1)));  // 80 bytes: over half the ring
    auto r = record(1, 1, 1, 1, 1);
    Ring::Piece piece{r.data(), 20};
    EXPECT_FALSE(ring.write(&piece, 1, 20));  // not a multiple of 8
    EXPECT_FALSE(ring.write(&piece, 1, 8));   // smaller than a header
    EXPECT_TRUE(snapshot(ring).empty());
    Ring unready;
    EXPECT_FALSE(put(unready, r));
}

// One ring per writer thread (as one per CPU in the kernel) and a reader taking snapshots of
// the first while it is written: every snapshot holds whole records only, in order, and at
// the end every record was kept or counted lost.
TEST(TraceRing, ConcurrentWritersAndASnapshotReader) {
    constexpr int writers = 4;
    constexpr uint64_t per_writer = 20000;
    std::vector<std::vector<uint8_t>> buffers(writers, std::vector<uint8_t>(1024));
    std::vector<Ring> rings(writers);
    for (int w = 0; w < writers; ++w) rings[w].init(buffers[w].data(), buffers[w].size());
    std::atomic<bool> done{false};
    std::atomic<int> snapshots{0}, gaps{0};
    std::thread reader([&] {
        // (Counts gaps rather than asserting: it must keep taking snapshots to the end, as
        // writer 0 waits for some.)
        std::vector<uint8_t> copy(1024);
        while (!done.load()) {
            Ring::Snapshot s = rings[0].snapshot(copy.data(), copy.size());
            auto seen = decode(copy, s.bytes);
            for (size_t k = 1; k < seen.size(); ++k) {
                if (seen[k].timestamp != seen[k - 1].timestamp + 1) gaps.fetch_add(1);
            }
            snapshots.fetch_add(1);
        }
    });
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            for (uint64_t i = 1; i <= per_writer; ++i) {
                if (w == 0 && i == per_writer / 2) {
                    // Halfway, until the reader has taken two more snapshots: at least one
                    // whole snapshot falls between writes, however the host schedules the
                    // threads (all the writers could otherwise finish before it first runs).
                    int before = snapshots.load();
                    while (snapshots.load() < before + 2) std::this_thread::yield();
                }
                auto r = record(3, static_cast<uint32_t>(w), i, 1 + i % 6, i);
                ASSERT_TRUE(put(rings[w], r));
            }
        });
    }
    for (auto& t : threads) t.join();
    done = true;
    reader.join();
    EXPECT_GE(snapshots.load(), 2);
    EXPECT_EQ(gaps.load(), 0) << "a gap inside one snapshot";
    for (int w = 0; w < writers; ++w) {
        uint64_t lost = 0;
        auto seen = snapshot(rings[w], &lost);
        ASSERT_FALSE(seen.empty());
        EXPECT_EQ(seen.back().timestamp, per_writer);
        EXPECT_EQ(lost + seen.size(), per_writer);
    }
}

// ---- the trace file ------------------------------------------------------------------------

namespace {

const Descriptor points[] = {
    {"test.plain", 2, {{FieldType::u64, "a"}, {FieldType::hex, "b"}}},
    {"test.named", 2, {{FieldType::u64, "thread"}, {FieldType::string, "name"}}},
    {"profile.sample", 2, {{FieldType::hex, "pc"}, {FieldType::u64, "kernel"}}},
};
constexpr uint16_t sample_id = 2;

// A ring record of `points[id]` as trace.cc writes it.
std::vector<uint8_t> ring_record(uint16_t id, uint64_t cycles, std::vector<uint64_t> words, const char* text,
                                 std::vector<uint64_t> backtrace, bool with_backtrace) {
    size_t length = text ? strlen(text) : 0;
    size_t lengths[1] = {length};
    size_t size = ring_record_size(points[id], lengths, with_backtrace, backtrace.size());
    std::vector<uint8_t> r(size, 0);
    RecordHeader h{cycles, id, static_cast<uint16_t>(size), 42};
    memcpy(r.data(), &h, sizeof h);
    size_t at = sizeof h;
    for (uint64_t w : words) {
        memcpy(r.data() + at, &w, 8);
        at += 8;
    }
    if (with_backtrace) {
        uint64_t depth = backtrace.size();
        memcpy(r.data() + at, &depth, 8);
        at += 8;
        for (uint64_t pc : backtrace) {
            memcpy(r.data() + at, &pc, 8);
            at += 8;
        }
    }
    if (text) memcpy(r.data() + at, text, length);
    return r;
}

void append(std::vector<uint8_t>& to, const std::vector<uint8_t>& r) { to.insert(to.end(), r.begin(), r.end()); }

void to_vector(void* context, const void* data, size_t size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
}

template <typename T>
T at(const std::vector<uint8_t>& file, size_t offset) {
    T v;
    memcpy(&v, file.data() + offset, sizeof v);
    return v;
}

}  // namespace

TEST(TraceFile, Crc32IsZlibs) {
    EXPECT_EQ(crc32(0, "123456789", 9), 0xcbf43926u);
    EXPECT_EQ(crc32(crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
    EXPECT_EQ(crc32(0, "", 0), 0u);
}

TEST(TraceFile, HeaderSectionsStringsAndEnd) {
    std::vector<uint8_t> ring;
    append(ring, ring_record(0, 3000, {5, 0xabc}, nullptr, {}, false));
    append(ring, ring_record(1, 5000, {1000001, 12}, "tcpip-thread", {}, false));  // a string field holds its length
    append(ring, ring_record(2, 7000, {0xffff0000, 1}, nullptr, {0xffff0000, 0x1234}, true));
    std::vector<uint8_t> file;
    Sink sink(to_vector, &file);
    write_header(sink, {1, 77, "aarch64", 0, flag_profile}, points, 3);
    Clock clock{1000, 1000000000};  // 1 GHz: a cycle is a ns; origin at cycle 1000
    SectionInput in{0, 4, ring.data(), ring.size(), false, sample_id};
    EXPECT_EQ(write_cpu_section(sink, in, points, 3, clock), 3u);
    write_end(sink);

    ASSERT_EQ(memcmp(file.data(), "MICATRC1", 8), 0);
    EXPECT_EQ(at<uint32_t>(file, 8), 1u);    // version
    EXPECT_EQ(at<uint32_t>(file, 12), 1u);   // CPUs
    EXPECT_EQ(at<uint64_t>(file, 16), 1u);   // ns per tick
    EXPECT_EQ(at<uint64_t>(file, 32), 77u);  // boot wall clock
    EXPECT_STREQ(reinterpret_cast<const char*>(file.data() + 40), "aarch64");
    EXPECT_EQ(at<uint32_t>(file, 64), flag_profile);
    EXPECT_EQ(at<uint32_t>(file, 72), 3u);   // tracepoints
    // The END tag and the CRC of everything before it.
    size_t end = file.size() - 8;
    EXPECT_EQ(at<uint32_t>(file, end), end_tag);
    EXPECT_EQ(at<uint32_t>(file, end + 4), crc32(0, file.data(), end));
    // The CPU section: find its tag after the tracepoint table.
    std::string bytes(file.begin(), file.end());
    size_t section = bytes.find(std::string("CPU\0", 4));
    ASSERT_NE(section, std::string::npos);
    EXPECT_EQ(at<uint32_t>(file, section + 4), 0u);   // cpu
    EXPECT_EQ(at<uint64_t>(file, section + 8), 4u);   // lost
    uint64_t string_bytes = at<uint64_t>(file, section + 16);
    EXPECT_EQ(string_bytes, strlen("tcpip-thread") + 1);
    EXPECT_STREQ(reinterpret_cast<const char*>(file.data() + section + 24), "tcpip-thread");
    size_t records = section + 24 + string_bytes;
    uint64_t record_bytes = at<uint64_t>(file, records);
    EXPECT_EQ(record_bytes, 32u + 32u + 32u + 8u + 16u);  // the sample carries its backtrace
    size_t r = records + 8;
    EXPECT_EQ(at<uint64_t>(file, r), 2000u);  // ns since the origin
    EXPECT_EQ(at<uint16_t>(file, r + 10), 32u);
    EXPECT_EQ(at<uint32_t>(file, r + 12), 42u);
    EXPECT_EQ(at<uint64_t>(file, r + 24), 0xabcu);
    r += 32;
    EXPECT_EQ(at<uint64_t>(file, r + 24), 0u);  // the string's offset in the table
    r += 32;
    EXPECT_EQ(at<uint16_t>(file, r + 8), sample_id);
    EXPECT_EQ(at<uint64_t>(file, r + 32), 2u);  // depth
    EXPECT_EQ(at<uint64_t>(file, r + 40), 0xffff0000u);
    EXPECT_EQ(r + 56, end);
}

// A damaged or cut-short ring copy is decoded up to its last whole, valid record only.
TEST(TraceFile, DamagedRecordsAreNeverDecoded) {
    std::vector<uint8_t> ring;
    append(ring, ring_record(0, 1, {1, 2}, nullptr, {}, false));
    append(ring, ring_record(1, 2, {3, 4}, "name", {}, false));
    RecordView v;
    size_t offset = 0;
    // Cut inside the second record: only the first decodes.
    EXPECT_TRUE(next_ring_record(ring.data(), ring.size() - 8, offset, points, 3, false, sample_id, v));
    EXPECT_FALSE(next_ring_record(ring.data(), ring.size() - 8, offset, points, 3, false, sample_id, v));
    // A size that disagrees with the fields, an unknown id, a string longer than its record.
    for (int damage = 0; damage < 3; ++damage) {
        std::vector<uint8_t> bad = ring;
        RecordHeader h;
        memcpy(&h, bad.data() + 32, sizeof h);
        if (damage == 0) h.size = 24;
        if (damage == 1) h.id = 9;
        memcpy(bad.data() + 32, &h, sizeof h);
        if (damage == 2) {
            uint64_t long_string = 200;
            memcpy(bad.data() + 32 + 24, &long_string, 8);
        }
        offset = 0;
        EXPECT_TRUE(next_ring_record(bad.data(), bad.size(), offset, points, 3, false, sample_id, v));
        EXPECT_FALSE(next_ring_record(bad.data(), bad.size(), offset, points, 3, false, sample_id, v)) << damage;
        std::vector<uint8_t> file;
        Sink sink(to_vector, &file);
        SectionInput in{0, 0, bad.data(), bad.size(), false, sample_id};
        EXPECT_EQ(write_cpu_section(sink, in, points, 3, Clock{0, 1000000000}), 1u);
    }
    // A backtrace deeper than the limit.
    auto deep = ring_record(2, 1, {1, 1}, nullptr, {}, true);
    uint64_t depth = max_backtrace + 1;
    memcpy(deep.data() + 32, &depth, 8);
    offset = 0;
    EXPECT_FALSE(next_ring_record(deep.data(), deep.size(), offset, points, 3, false, sample_id, v));
}
