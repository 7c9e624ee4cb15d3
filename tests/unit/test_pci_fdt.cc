// The device tree's PCIe host bridge (pci-host-ecam-generic: reg, bus-range, ranges,
// interrupt-map) and virtio-mmio nodes, on blobs dumped from QEMU 7.2 virt, and the INTx
// swizzle; plus nodes damaged on purpose.
#include <gtest/gtest.h>
#include <mica/drivers/fdt.h>
#include <mica/pci/fdt_host.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {
using mica::pci::FdtHost;
using mica::pci::Window;

std::vector<uint8_t> load(const char* name) {
    std::ifstream f(std::string(MICA_FIXTURES) + "/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

struct Parsed {
    std::vector<uint8_t> blob;
    mica::fdt::Tree tree;
    mica::fdt::Node node;
};

void open(Parsed& p, const char* fixture) {
    p.blob = load(fixture);
    ASSERT_FALSE(p.blob.empty()) << fixture;
    ASSERT_EQ(p.tree.open(p.blob.data(), p.blob.size()), mica::fdt::Error::none);
    p.node = p.tree.find_compatible("pci-host-ecam-generic");
    ASSERT_TRUE(p.node.valid);
}

class PciFdtHost : public ::testing::TestWithParam<const char*> {};

TEST_P(PciFdtHost, ReadsQemuVirtHostBridge) {
    Parsed p;
    ASSERT_NO_FATAL_FAILURE(open(p, GetParam()));
    FdtHost h;
    ASSERT_EQ(mica::pci::parse_fdt_host(p.tree, p.node, h), nullptr);
    EXPECT_EQ(h.ecam_base, 0x4010000000u);  // virt's high ECAM (highmem-ecam)
    EXPECT_EQ(h.ecam_size, 0x10000000u);
    EXPECT_EQ(h.bus_first, 0);
    EXPECT_EQ(h.bus_last, 255);
    ASSERT_EQ(h.window_count, 3u);
    EXPECT_EQ(h.windows[0].kind, Window::Kind::io);
    EXPECT_EQ(h.windows[0].cpu_address, 0x3eff0000u);
    EXPECT_EQ(h.windows[0].pci_address, 0u);
    EXPECT_EQ(h.windows[0].size, 0x10000u);
    EXPECT_EQ(h.windows[1].kind, Window::Kind::mem32);
    EXPECT_EQ(h.windows[1].cpu_address, 0x10000000u);
    EXPECT_EQ(h.windows[1].pci_address, 0x10000000u);
    EXPECT_EQ(h.windows[1].size, 0x2eff0000u);
    EXPECT_EQ(h.windows[2].kind, Window::Kind::mem64);
    EXPECT_EQ(h.windows[2].cpu_address, 0x8000000000u);
    EXPECT_EQ(h.windows[2].size, 0x8000000000u);
    // 4 slots x 4 pins, the swizzle folded in: slot s, pin p -> SPI 3 + (s + p - 1) % 4,
    // level-triggered active-high (GIC interrupt id = 32 + SPI).
    EXPECT_EQ(h.route_count, 16u);
    EXPECT_EQ(h.map_mask_hi, 0x1800u);
    EXPECT_EQ(h.map_mask_pin, 7u);
    for (uint8_t slot = 0; slot < 8; ++slot) {
        for (uint8_t pin = 1; pin <= 4; ++pin) {
            unsigned line = 0;
            mica::irq::LineConfig config{};
            ASSERT_TRUE(h.route(0, slot, pin, line, config)) << int(slot) << " " << int(pin);
            EXPECT_EQ(line, 32u + 3 + (slot + pin - 1) % 4) << "slot " << int(slot) << " pin " << int(pin);
            EXPECT_EQ(config.trigger, mica::irq::Trigger::level);
            EXPECT_EQ(config.polarity, mica::irq::Polarity::high);
        }
    }
    unsigned line;
    mica::irq::LineConfig config;
    EXPECT_FALSE(h.route(0, 1, 5, line, config));  // pin 5 does not exist (masked to 5)
}

INSTANTIATE_TEST_SUITE_P(Blobs, PciFdtHost, ::testing::Values("qemu-virt-gicv2.dtb", "qemu-virt-gicv3-smp2.dtb"));

TEST(PciFdt, VirtioMmioNodesOfQemuVirt) {
    auto blob = load("qemu-virt-gicv2.dtb");
    mica::fdt::Tree tree;
    ASSERT_EQ(tree.open(blob.data(), blob.size()), mica::fdt::Error::none);
    std::vector<std::pair<uint64_t, unsigned>> found;
    for (auto n = tree.find_compatible("virtio,mmio"); n.valid; n = tree.find_compatible("virtio,mmio", n)) {
        uint64_t base, size;
        ASSERT_TRUE(tree.reg(n, 0, base, size));
        EXPECT_EQ(size, 0x200u);
        auto irqs = tree.property(n, "interrupts");
        ASSERT_EQ(irqs.length, 12u);
        unsigned line;
        mica::irq::LineConfig config;
        ASSERT_TRUE(mica::pci::decode_gic_interrupt(irqs.u32(0), irqs.u32(1), irqs.u32(2), line, config));
        EXPECT_EQ(config.trigger, mica::irq::Trigger::edge);
        found.emplace_back(base, line);
    }
    ASSERT_EQ(found.size(), 32u);
    for (auto [base, line] : found) {
        unsigned index = static_cast<unsigned>((base - 0xa000000) / 0x200);
        EXPECT_LT(index, 32u);
        EXPECT_EQ(line, 32u + 16 + index);  // SPI 16 + slot
    }
}

TEST(PciFdt, SwizzleAndGicSpecifiers) {
    // A device in slot 2 behind a bridge: its INTA appears as INTC on the bridge's bus.
    EXPECT_EQ(mica::pci::swizzle(1, 2), 3);
    EXPECT_EQ(mica::pci::swizzle(4, 1), 1);
    EXPECT_EQ(mica::pci::swizzle(2, 0), 2);
    unsigned line;
    mica::irq::LineConfig config;
    EXPECT_TRUE(mica::pci::decode_gic_interrupt(0, 7, 4, line, config));
    EXPECT_EQ(line, 39u);
    EXPECT_EQ(config.trigger, mica::irq::Trigger::level);
    EXPECT_TRUE(mica::pci::decode_gic_interrupt(1, 14, 1, line, config));  // a PPI
    EXPECT_EQ(line, 30u);
    EXPECT_FALSE(mica::pci::decode_gic_interrupt(0, 7, 8, line, config));  // level low: no GIC input
    EXPECT_FALSE(mica::pci::decode_gic_interrupt(0, 7, 2, line, config));  // falling edge
    EXPECT_FALSE(mica::pci::decode_gic_interrupt(2, 7, 4, line, config));  // unknown type
}

// Overwrites cell `cell` of a property of the host node with `value` (in place:
// the blob's layout stays valid).
void poke(Parsed& p, const char* property, size_t cell, uint32_t value) {
    auto prop = p.tree.property(p.node, property);
    ASSERT_TRUE(prop.found()) << property;
    auto* at = const_cast<uint8_t*>(prop.data) + 4 * cell;
    at[0] = value >> 24;
    at[1] = value >> 16;
    at[2] = value >> 8;
    at[3] = value;
}

TEST(PciFdt, DamagedNodesAreRefusedWithAReason) {
    struct Case {
        const char* property;
        size_t cell;
        uint32_t value;
        const char* message;
    };
    const Case cases[] = {
        {"bus-range", 0, 9, "malformed bus-range"},  // with the last bus set to 3 below
        {"bus-range", 1, 300, "malformed bus-range"},
        {"#address-cells", 0, 2, "#address-cells is not 3"},
        {"#size-cells", 0, 3, "unsupported #size-cells"},
        {"interrupt-map", 4, 0x7777, "interrupt-map names a missing interrupt controller"},
        // Entry cells: child address (3), pin, phandle, GIC address (2), type, number, flags.
        {"interrupt-map", 7, 2, "interrupt-map entry the GIC cannot take (type or trigger)"},
        {"interrupt-map", 9, 8, "interrupt-map entry the GIC cannot take (type or trigger)"},
        {"#interrupt-cells", 0, 2, "#interrupt-cells is not 1"},
    };
    for (const Case& c : cases) {
        Parsed p;
        ASSERT_NO_FATAL_FAILURE(open(p, "qemu-virt-gicv2.dtb"));
        if (std::string(c.property) == "bus-range" && c.cell == 0) {
            poke(p, "bus-range", 1, 3);  // last 3 < first 9
        }
        poke(p, c.property, c.cell, c.value);
        FdtHost h;
        const char* problem = mica::pci::parse_fdt_host(p.tree, p.node, h);
        ASSERT_NE(problem, nullptr) << c.property << "[" << c.cell << "] = " << c.value;
        EXPECT_STREQ(problem, c.message) << c.property;
    }
}

}  // namespace
