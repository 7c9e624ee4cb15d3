// The host-testable cores of the file system calls: the pipe ring, the /dev/random generator
// and the /proc text formats.
#include <gtest/gtest.h>
#include <mica/linux/pipe_buffer.h>
#include <mica/linux/procfs_format.h>
#include <mica/linux/random.h>
#include <string.h>
#include <string>
#include <vector>

using namespace mica::abi;

TEST(PipeBuffer, WrapsAroundAndKeepsOrder) {
    std::vector<uint8_t> storage(16);
    PipeBuffer ring(storage.data(), storage.size());
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.write("abcdefghij", 10), 10u);
    char out[16] = {};
    EXPECT_EQ(ring.read(out, 6), 6u);
    EXPECT_EQ(std::string(out, 6), "abcdef");
    // 4 left; 12 more fill it, crossing the end of the storage.
    EXPECT_EQ(ring.write("0123456789ABCDEF", 16), 12u);
    EXPECT_TRUE(ring.full());
    EXPECT_EQ(ring.write("x", 1), 0u);
    EXPECT_EQ(ring.read(out, sizeof(out)), 16u);
    EXPECT_EQ(std::string(out, 16), "ghij0123456789AB");
    EXPECT_TRUE(ring.empty());
}

TEST(PipeBuffer, SpansAreContiguousPieces) {
    std::vector<uint8_t> storage(8);
    PipeBuffer ring(storage.data(), storage.size());
    ring.write("123456", 6);
    char sink[4];
    ring.read(sink, 4);  // head at 4, two bytes used
    PipeBuffer::Span w = ring.writable();
    EXPECT_EQ(w.length, 2u);  // up to the end of the storage first
    memcpy(w.data, "ab", 2);
    ring.commit(2);
    w = ring.writable();
    EXPECT_EQ(w.length, 4u);  // then from the start
    ring.commit(1);
    w.data[0] = 'c';
    PipeBuffer::Span r = ring.readable();
    EXPECT_EQ(r.length, 4u);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(r.data), 4), "56ab");
    ring.consume(4);
    r = ring.readable();
    ASSERT_EQ(r.length, 1u);
    EXPECT_EQ(r.data[0], 'c');
    ring.consume(1);
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.writable().length, 8u);  // an empty ring starts over at the beginning
}

TEST(PipeBuffer, RelocateKeepsWrappedBytesInOrder) {
    std::vector<uint8_t> small(8), big(32);
    PipeBuffer ring(small.data(), small.size());
    char sink[8];
    ring.write("123456", 6);
    ring.read(sink, 5);          // head at 5
    ring.write("abcdef", 6);     // wraps: "6abcdef" spans the end
    ASSERT_EQ(ring.size(), 7u);
    ring.relocate(big.data(), big.size());
    EXPECT_EQ(ring.storage(), big.data());
    EXPECT_EQ(ring.capacity(), 32u);
    EXPECT_EQ(ring.space(), 25u);
    EXPECT_EQ(ring.readable().length, 7u);  // one contiguous span now
    EXPECT_EQ(ring.write("0123456789", 10), 10u);
    char out[32] = {};
    EXPECT_EQ(ring.read(out, sizeof out), 17u);
    EXPECT_EQ(std::string(out, 17), "6abcdef0123456789");
    // An empty ring moves too (a pipe drained before it grew).
    std::vector<uint8_t> other(16);
    ring.relocate(other.data(), other.size());
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.writable().length, 16u);
}

TEST(PipeBuffer, LinuxCapacity) {
    EXPECT_EQ(pipe_capacity, 65536u);
    EXPECT_EQ(pipe_buf, 4096u);
}

TEST(ChaCha20, Rfc7539BlockVector) {
    // RFC 7539 section 2.3.2: key 00 01 .. 1f, counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00.
    uint32_t key[8];
    for (uint32_t i = 0; i < 8; ++i) key[i] = (4 * i) | (4 * i + 1) << 8 | (4 * i + 2) << 16 | (4 * i + 3) << 24;
    const uint32_t nonce[3] = {0x09000000, 0x4a000000, 0};
    uint8_t block[64];
    chacha20_block(key, 1, nonce, block);
    const uint8_t expected[64] = {
        0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
        0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
        0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
        0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
    EXPECT_EQ(memcmp(block, expected, 64), 0);
}

TEST(ChaChaRng, DeterministicPerSeedAndNeverRepeats) {
    ChaChaRng a, b, c;
    EXPECT_FALSE(a.seeded());
    a.seed("seed one", 8);
    b.seed("seed one", 8);
    c.seed("seed two", 8);
    EXPECT_TRUE(a.seeded());
    uint8_t x[100], y[100], z[100];
    a.fill(x, sizeof(x));
    b.fill(y, sizeof(y));
    c.fill(z, sizeof(z));
    EXPECT_EQ(memcmp(x, y, sizeof(x)), 0);
    EXPECT_NE(memcmp(x, z, sizeof(x)), 0);
    a.fill(y, sizeof(y));  // the key changed after the first request
    EXPECT_NE(memcmp(x, y, sizeof(x)), 0);
    // Roughly balanced bits over a larger sample.
    std::vector<uint8_t> big(1 << 16);
    a.fill(big.data(), big.size());
    size_t ones = 0;
    for (uint8_t v : big) ones += static_cast<size_t>(__builtin_popcount(v));
    double fraction = static_cast<double>(ones) / (8.0 * big.size());
    EXPECT_NEAR(fraction, 0.5, 0.01);
}

TEST(ProcfsFormat, MeminfoInLinuxLayout) {
    char buffer[2048];
    Text out(buffer, sizeof(buffer));
    format_meminfo(out, MemInfo{128ull << 20, 100ull << 20, 100ull << 20, 4096});
    std::string text(out.data(), out.length());
    EXPECT_FALSE(out.overflowed());
    EXPECT_EQ(text.substr(0, 28), "MemTotal:         131072 kB\n");
    EXPECT_NE(text.find("\nMemFree:          102400 kB\n"), std::string::npos);
    EXPECT_NE(text.find("\nMemAvailable:     102400 kB\n"), std::string::npos);
    EXPECT_NE(text.find("\nBuffers:               0 kB\n"), std::string::npos);
    EXPECT_NE(text.find("\nCached:                0 kB\n"), std::string::npos);
    EXPECT_NE(text.find("\nAnonPages:             4 kB\n"), std::string::npos);
}

TEST(ProcfsFormat, MapsLinesPadTheName) {
    char buffer[512];
    Text out(buffer, sizeof(buffer));
    format_maps_line(out, MapsLine{0x400000, 0x401000, true, false, true, false, "/bin/app"});
    format_maps_line(out, MapsLine{0x7f0000000000, 0x7f0000021000, true, true, false, false, nullptr});
    std::string text(out.data(), out.length());
    std::string first = "00400000-00401000 r-xp 00000000 00:00 0";
    first += std::string(73 - first.size(), ' ') + "/bin/app\n";
    EXPECT_EQ(text, first + "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n");
}

TEST(ProcfsFormat, CpuinfoBlocks) {
    char buffer[256];
    Text out(buffer, sizeof(buffer));
    format_cpuinfo(out, 0, "Test CPU");
    format_cpuinfo(out, 1, "");
    EXPECT_EQ(std::string(out.data(), out.length()),
              "processor\t: 0\nmodel name\t: Test CPU\n\nprocessor\t: 1\nmodel name\t: unknown\n\n");
}

TEST(ProcfsFormat, TextStopsAtCapacity) {
    char buffer[16];
    Text out(buffer, sizeof(buffer));
    out.append("%s", "0123456789");
    EXPECT_FALSE(out.overflowed());
    out.append("%s", "0123456789");
    EXPECT_TRUE(out.overflowed());
    EXPECT_EQ(out.length(), 15u);
    EXPECT_EQ(strlen(buffer), 15u);
}
