// The AF_UNIX receive queue (net/include/mica/net/message_queue.h): stream reads across
// records and partial consumption, peeking, records for datagrams (truncation, empty
// records), descriptors stopping a stream read, source addresses, faults, and random
// stream traffic against a byte model.
#include <gtest/gtest.h>
#include <mica/net/message_queue.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

using namespace mica;
using namespace mica::net;

namespace {

int64_t push(MessageQueue& q, const std::string& text, Ancillary* anc = nullptr, const char* source = nullptr) {
    fs::IoVector data(const_cast<char*>(text.data()), text.size(), false);
    return q.push(data, text.size(), source, source ? static_cast<uint32_t>(strlen(source)) : 0, anc);
}

std::string read_stream(MessageQueue& q, size_t max, bool peek = false, Ancillary* anc = nullptr) {
    std::string out(max, '\0');
    fs::IoVector v(out.data(), max, false);
    Ancillary local;
    int64_t n = q.read_stream(v, peek, anc ? anc : &local);
    EXPECT_GE(n, 0);
    free(local.files);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
}

// Fake open files: the queue never dereferences them.
fs::OpenFile* fake(uintptr_t n) { return reinterpret_cast<fs::OpenFile*>(n * 16); }

Ancillary with_files(std::initializer_list<uintptr_t> ids) {
    Ancillary a;
    a.files = static_cast<fs::OpenFile**>(malloc(ids.size() * sizeof(fs::OpenFile*)));
    for (uintptr_t id : ids) a.files[a.file_count++] = fake(id);
    return a;
}

std::vector<fs::OpenFile*> released;
void record_release(fs::OpenFile** files, int count) { released.insert(released.end(), files, files + count); }

TEST(MessageQueue, StreamReadsCrossRecords) {
    MessageQueue q;
    push(q, "hello ");
    push(q, "world");
    EXPECT_EQ(q.bytes(), 11u);
    EXPECT_EQ(q.count(), 2u);
    EXPECT_EQ(read_stream(q, 8), "hello wo");
    EXPECT_EQ(q.bytes(), 3u);
    EXPECT_EQ(q.count(), 1u);
    EXPECT_EQ(q.front_length(), 3u);
    EXPECT_EQ(read_stream(q, 100), "rld");
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(read_stream(q, 10), "");
}

TEST(MessageQueue, PeekLeavesEverything) {
    MessageQueue q;
    push(q, "abc");
    push(q, "def");
    EXPECT_EQ(read_stream(q, 2), "ab");
    EXPECT_EQ(read_stream(q, 10, true), "cdef");
    EXPECT_EQ(q.bytes(), 4u);
    EXPECT_EQ(read_stream(q, 10), "cdef");
}

TEST(MessageQueue, DescriptorsEndAStreamRead) {
    MessageQueue q;
    push(q, "before");
    Ancillary files = with_files({1, 2});
    push(q, "with", &files);
    EXPECT_EQ(files.file_count, 0);  // moved into the queue
    push(q, "after");
    Ancillary got;
    EXPECT_EQ(read_stream(q, 100, false, &got), "beforewith");
    ASSERT_EQ(got.file_count, 2);
    EXPECT_EQ(got.files[0], fake(1));
    EXPECT_EQ(got.files[1], fake(2));
    free(got.files);
    EXPECT_EQ(read_stream(q, 100), "after");
}

TEST(MessageQueue, PeekGivesNoDescriptors) {
    MessageQueue q;
    Ancillary files = with_files({3});
    push(q, "x", &files);
    Ancillary got;
    EXPECT_EQ(read_stream(q, 10, true, &got), "x");
    EXPECT_EQ(got.file_count, 0);
    EXPECT_EQ(read_stream(q, 10, false, &got), "x");
    EXPECT_EQ(got.file_count, 1);
    free(got.files);
}

TEST(MessageQueue, RecordsKeepBoundaries) {
    MessageQueue q;
    push(q, "first", nullptr, "\x01\x00src");
    push(q, "");
    push(q, "a longer record");
    char buf[8];
    size_t length;
    Ancillary anc;
    uint32_t source_length;
    const uint8_t* source = q.front_source(&source_length);
    EXPECT_EQ(source_length, 1u);  // strlen stops at the NUL: one byte of "address"
    EXPECT_EQ(source[0], 1);
    fs::IoVector a(buf, sizeof buf, false);
    EXPECT_EQ(q.read_record(a, false, &length, &anc), 5);
    EXPECT_EQ(length, 5u);
    fs::IoVector b(buf, sizeof buf, false);
    EXPECT_EQ(q.read_record(b, false, &length, &anc), 0);  // the empty record
    EXPECT_EQ(length, 0u);
    fs::IoVector peek(buf, sizeof buf, false);
    EXPECT_EQ(q.read_record(peek, true, &length, &anc), 8);
    EXPECT_EQ(length, 15u);
    fs::IoVector c(buf, 4, false);
    EXPECT_EQ(q.read_record(c, false, &length, &anc), 4);  // truncated: the rest is dropped
    EXPECT_EQ(std::string(buf, 4), "a lo");
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0u);
}

TEST(MessageQueue, FaultsCopyWhatTheyCan) {
    MessageQueue q;
    // Pushing from a bad application address: nothing queued.
    fs::IoVector bad(reinterpret_cast<void*>(16), 4, true);
    EXPECT_EQ(q.push(bad, 4, nullptr, 0, nullptr), -14);
    EXPECT_TRUE(q.empty());
    push(q, "data");
    fs::IoVector to_bad(reinterpret_cast<void*>(16), 4, true);
    Ancillary anc;
    EXPECT_EQ(q.read_stream(to_bad, false, &anc), -14);
    EXPECT_EQ(q.bytes(), 4u);  // still there
    size_t length;
    fs::IoVector to_bad_record(reinterpret_cast<void*>(16), 4, true);
    EXPECT_EQ(q.read_record(to_bad_record, false, &length, &anc), -14);
    EXPECT_EQ(q.count(), 1u);
}

TEST(MessageQueue, DetachedRecordsReleaseTheirDescriptors) {
    released.clear();
    {
        MessageQueue q;
        Ancillary a = with_files({7, 8}), b = with_files({9});
        push(q, "one", &a);
        push(q, "two", &b);
        push(q, "three");
        MessageQueue::free_records(q.detach_all(), record_release);
        EXPECT_TRUE(q.empty());
    }
    EXPECT_EQ(released, (std::vector<fs::OpenFile*>{fake(7), fake(8), fake(9)}));
}

TEST(MessageQueue, RandomStreamTrafficMatchesAByteModel) {
    std::mt19937 rng(5);
    MessageQueue q;
    std::deque<char> model;
    unsigned next = 0;
    for (int step = 0; step < 20000; ++step) {
        if (rng() % 2) {
            std::string chunk(rng() % 300 + 1, '\0');
            for (char& c : chunk) c = static_cast<char>(next++ * 31 + 7);
            ASSERT_EQ(push(q, chunk), static_cast<int64_t>(chunk.size()));
            model.insert(model.end(), chunk.begin(), chunk.end());
        } else {
            size_t want = rng() % 500;
            bool peek = rng() % 4 == 0;
            std::string got = read_stream(q, want, peek);
            size_t expect = std::min(want, model.size());
            ASSERT_EQ(got.size(), expect);
            ASSERT_TRUE(std::equal(got.begin(), got.end(), model.begin()));
            if (!peek) model.erase(model.begin(), model.begin() + static_cast<long>(expect));
        }
        ASSERT_EQ(q.bytes(), model.size());
    }
}

}  // namespace
