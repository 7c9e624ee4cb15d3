// The device tree reader on blobs dumped from QEMU (-machine virt,dumpdtb=...), and on
// damaged copies of them.
#include <gtest/gtest.h>
#include <mica/drivers/fdt.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using mica::fdt::Error;
using mica::fdt::Tree;

namespace {

std::vector<uint8_t> load(const char* name) {
    std::ifstream f(std::string(MICA_FIXTURES) + "/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

void put_be32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
    b[off] = v >> 24;
    b[off + 1] = v >> 16;
    b[off + 2] = v >> 8;
    b[off + 3] = v;
}
uint32_t get_be32(const std::vector<uint8_t>& b, size_t off) {
    return uint32_t{b[off]} << 24 | uint32_t{b[off + 1]} << 16 | uint32_t{b[off + 2]} << 8 | b[off + 3];
}

TEST(Fdt, ReadsQemuVirtMemoryConsoleAndPsci) {
    auto blob = load("qemu-virt-gicv2.dtb");
    ASSERT_GT(blob.size(), 1000u);
    Tree t;
    ASSERT_EQ(t.open(blob.data(), blob.size()), Error::none);
    EXPECT_EQ(t.total_size(), blob.size());
    EXPECT_EQ(t.used_size(), blob.size());  // a packed blob: no free space

    auto mem = t.find_device_type("memory");
    ASSERT_TRUE(mem.valid);
    uint64_t addr = 0, size = 0;
    ASSERT_TRUE(t.reg(mem, 0, addr, size));
    EXPECT_EQ(addr, 0x40000000u);
    EXPECT_EQ(size, 128u << 20);  // dumped with -m 128
    EXPECT_FALSE(t.reg(mem, 1, addr, size));
    EXPECT_FALSE(t.find_device_type("memory", mem).valid);

    auto uart = t.find_compatible("arm,pl011");
    ASSERT_TRUE(uart.valid);
    EXPECT_STREQ(t.name(uart), "pl011@9000000");
    ASSERT_TRUE(t.reg(uart, 0, addr, size));
    EXPECT_EQ(addr, 0x9000000u);
    EXPECT_EQ(size, 0x1000u);
    EXPECT_TRUE(t.is_compatible(uart, "arm,primecell"));
    EXPECT_FALSE(t.is_compatible(uart, "arm,prime"));  // whole entries only

    auto psci = t.find_compatible("arm,psci-0.2");
    ASSERT_TRUE(psci.valid);
    EXPECT_STREQ(t.property(psci, "method").string(), "hvc");

    auto gic = t.find_compatible("arm,cortex-a15-gic");
    ASSERT_TRUE(gic.valid);
    ASSERT_TRUE(t.reg(gic, 1, addr, size));  // CPU interface
    EXPECT_EQ(addr, 0x8010000u);
    EXPECT_FALSE(t.find_compatible("arm,gic-v3").valid);
}

// QEMU's virt blob in memory says 1 MiB (free space after the strings); only the used part
// stays reserved on a small machine.
TEST(Fdt, UsedSizeLeavesOutFreeSpace) {
    auto blob = load("qemu-virt-gicv2.dtb");
    size_t used = blob.size();
    blob.resize(1 << 20);
    put_be32(blob, 4, 1 << 20);
    Tree t;
    ASSERT_EQ(t.open(blob.data(), blob.size()), Error::none);
    EXPECT_EQ(t.total_size(), size_t{1} << 20);
    EXPECT_EQ(t.used_size(), used);
    EXPECT_TRUE(t.find_path("/chosen").valid);
    // Strings moved to the end of the free space: they are used, so they count.
    size_t off_strings = get_be32(blob, 12), size_strings = get_be32(blob, 32);
    std::vector<uint8_t> strings(blob.begin() + off_strings, blob.begin() + off_strings + size_strings);
    size_t moved = blob.size() - size_strings;
    std::copy(strings.begin(), strings.end(), blob.begin() + moved);
    put_be32(blob, 12, moved);
    ASSERT_EQ(t.open(blob.data(), blob.size()), Error::none);
    EXPECT_EQ(t.used_size(), blob.size());
}

TEST(Fdt, PathsAndProperties) {
    auto blob = load("qemu-virt-gicv2.dtb");
    Tree t;
    ASSERT_EQ(t.open(blob.data(), blob.size()), Error::none);
    EXPECT_TRUE(t.root().valid);
    EXPECT_STREQ(t.name(t.root()), "");
    auto chosen = t.find_path("/chosen");
    ASSERT_TRUE(chosen.valid);
    EXPECT_STREQ(t.property(chosen, "stdout-path").string(), "/pl011@9000000");
    EXPECT_FALSE(t.property(chosen, "bootargs").found());
    EXPECT_TRUE(t.find_path("/pl011@9000000").valid);
    EXPECT_TRUE(t.find_path("/pl011").valid);  // unit address optional
    EXPECT_TRUE(t.find_path("/intc@8000000/v2m@8020000").valid);
    EXPECT_FALSE(t.find_path("/nope").valid);
    EXPECT_FALSE(t.find_path("/chosen/nope").valid);
    EXPECT_EQ(t.property(t.root(), "#address-cells").u32(), 2u);
    EXPECT_EQ(t.property(t.root(), "#address-cells").u32(1), 0u);  // out of range reads as 0
    uint64_t a, s;
    EXPECT_FALSE(t.reserved_entry(0, a, s));
}

TEST(Fdt, GicV3AndCpus) {
    auto blob = load("qemu-virt-gicv3-smp2.dtb");
    Tree t;
    ASSERT_EQ(t.open(blob.data(), blob.size()), Error::none);
    EXPECT_TRUE(t.find_compatible("arm,gic-v3").valid);
    int cpus = 0;
    for (auto n = t.find_device_type("cpu"); n.valid; n = t.find_device_type("cpu", n)) ++cpus;
    EXPECT_EQ(cpus, 2);
    uint64_t addr, size;
    auto mem = t.find_device_type("memory");
    ASSERT_TRUE(t.reg(mem, 0, addr, size));
    EXPECT_EQ(size, 256u << 20);
}

TEST(Fdt, RejectsDamagedBlobs) {
    auto good = load("qemu-virt-gicv2.dtb");
    Tree t;
    EXPECT_EQ(t.open(nullptr, 100), Error::null_blob);
    EXPECT_EQ(t.open(good.data(), 20), Error::truncated);
    EXPECT_EQ(t.open(good.data(), good.size() - 1), Error::truncated);

    auto b = good;
    b[0] ^= 0xff;
    EXPECT_EQ(t.open(b.data(), b.size()), Error::bad_magic);

    b = good;
    put_be32(b, 8, static_cast<uint32_t>(b.size()));  // structure block past the end
    EXPECT_EQ(t.open(b.data(), b.size()), Error::block_out_of_bounds);

    b = good;
    put_be32(b, 20, 2);  // last compatible version 2
    EXPECT_EQ(t.open(b.data(), b.size()), Error::unsupported_version);

    uint32_t off_struct = get_be32(good, 8);
    b = good;
    put_be32(b, off_struct, 0x77);  // first token garbage
    EXPECT_EQ(t.open(b.data(), b.size()), Error::bad_token);

    // Find the first property and corrupt its length and then its name offset.
    size_t pos = off_struct + 4;
    while (good[pos]) ++pos;
    pos = (pos + 1 + 3) & ~size_t{3};
    ASSERT_EQ(get_be32(good, pos), 3u);  // FDT_PROP
    b = good;
    put_be32(b, pos + 4, 0x7fffffff);
    EXPECT_EQ(t.open(b.data(), b.size()), Error::property_out_of_bounds);
    b = good;
    put_be32(b, pos + 8, 0x7fffffff);
    EXPECT_EQ(t.open(b.data(), b.size()), Error::bad_string_offset);

    // Drop the final END token: the walk must stop at the block end, not run past it.
    b = good;
    uint32_t size_struct = get_be32(good, 36);
    put_be32(b, off_struct + size_struct - 4, 2);  // END -> END_NODE: unbalanced
    EXPECT_EQ(t.open(b.data(), b.size()), Error::bad_nesting);
    // A rejected blob leaves the tree empty.
    EXPECT_FALSE(t.root().valid);
    EXPECT_FALSE(t.find_compatible("arm,pl011").valid);
}

// A blob made here: the root with property "x" (4 bytes) and subnode "a", in the order given.
std::vector<uint8_t> root_with_property_and_node(bool property_first) {
    auto token = [](std::vector<uint8_t>& s, uint32_t v) {
        s.resize(s.size() + 4);
        put_be32(s, s.size() - 4, v);
    };
    std::vector<uint8_t> structure;
    token(structure, 1);  // BEGIN_NODE ""
    token(structure, 0);
    auto property = [&] {
        token(structure, 3);  // PROP, 4 bytes, name offset 0 ("x")
        token(structure, 4);
        token(structure, 0);
        token(structure, 42);
    };
    if (property_first) property();
    token(structure, 1);  // BEGIN_NODE "a"
    token(structure, 'a' << 24);
    token(structure, 2);  // END_NODE
    if (!property_first) property();
    token(structure, 2);
    token(structure, 9);  // END
    const uint32_t header = 40, rsvmap = 40, off_struct = rsvmap + 16;
    const uint32_t off_strings = off_struct + static_cast<uint32_t>(structure.size()), strings = 2;
    std::vector<uint8_t> b(off_strings + strings);
    const uint32_t fields[] = {0xd00dfeed, off_strings + strings, off_struct, off_strings, rsvmap, 17, 16, 0,
                               strings, static_cast<uint32_t>(structure.size())};
    for (size_t i = 0; i < header / 4; ++i) put_be32(b, i * 4, fields[i]);
    std::copy(structure.begin(), structure.end(), b.begin() + off_struct);
    b[off_strings] = 'x';
    return b;
}

// Found by tests/fuzz (fdt): a property after a subnode passed open(), and find_path, which
// reads a node's properties and then its subnodes, took it for a node and read past the blob.
TEST(Fdt, PropertiesMustComeBeforeSubnodes) {
    Tree t;
    auto good = root_with_property_and_node(true);
    ASSERT_EQ(t.open(good.data(), good.size()), Error::none);
    EXPECT_TRUE(t.find_path("/a").valid);
    EXPECT_EQ(t.property(t.root(), "x").u32(), 42u);
    auto bad = root_with_property_and_node(false);
    EXPECT_EQ(t.open(bad.data(), bad.size()), Error::property_after_node);
    EXPECT_FALSE(t.find_path("/a").valid);
}

TEST(Fdt, RandomCorruptionNeverCrashes) {
    auto good = load("qemu-virt-gicv2.dtb");
    uint32_t seed = 7;
    for (int i = 0; i < 3000; ++i) {
        auto b = good;
        for (int k = 0; k < 4; ++k) {
            seed = seed * 1103515245 + 12345;
            b[seed % b.size()] = static_cast<uint8_t>(seed >> 16);
        }
        Tree t;
        if (t.open(b.data(), b.size()) == Error::none) {
            // Whatever survived validation must be safe to query.
            auto n = t.find_compatible("arm,pl011");
            uint64_t a, s;
            if (n.valid) t.reg(n, 0, a, s);
            t.find_path("/chosen");
            for (auto m = t.find_device_type("memory"); m.valid; m = t.find_device_type("memory", m)) t.reg(m, 0, a, s);
        }
    }
}

}  // namespace
