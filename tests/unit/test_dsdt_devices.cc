// Devices found in an ACPI DSDT without an AML interpreter (drivers/acpi/dsdt_devices.cc):
// QEMU 7.2 microvm's table (two virtio-rng-device, ACPI on: dumped from guest memory), and
// thousands of truncated and corrupted copies under ASan/UBSan.
#include <gtest/gtest.h>
#include <mica/acpi/dsdt_devices.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {
using mica::acpi::FixedDevice;

std::vector<uint8_t> load(const char* name) {
    std::ifstream f(std::string(MICA_FIXTURES) + "/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::vector<FixedDevice> find(const std::vector<uint8_t>& aml, const char* hid, const char** error = nullptr) {
    std::vector<FixedDevice> out;
    const char* e = mica::acpi::find_devices(aml.data(), aml.size(), hid, [](const FixedDevice& d, void* c) {
        static_cast<std::vector<FixedDevice>*>(c)->push_back(d);
    }, &out);
    if (error) *error = e;
    return out;
}

TEST(DsdtDevices, QemuMicrovmVirtioMmioTransports) {
    auto aml = load("acpi/qemu-microvm-dsdt.aml");
    ASSERT_EQ(aml.size(), 472u);
    const char* error = "unset";
    auto devices = find(aml, "LNRO0005", &error);
    EXPECT_EQ(error, nullptr) << error;
    ASSERT_EQ(devices.size(), 2u);
    // QEMU fills the 24 transports from the top: slots 23 and 22, GSIs 24 + slot.
    EXPECT_EQ(devices[0].base, 0xfeb02e00u);
    EXPECT_EQ(devices[0].size, 0x200u);
    EXPECT_TRUE(devices[0].has_irq);
    EXPECT_EQ(devices[0].irq, 47u);
    EXPECT_EQ(devices[0].config.trigger, mica::irq::Trigger::level);
    EXPECT_EQ(devices[0].config.polarity, mica::irq::Polarity::high);
    EXPECT_EQ(devices[1].base, 0xfeb02c00u);
    EXPECT_EQ(devices[1].irq, 46u);
    // Other string ids in the same table; EISA ids (COM1, RTC) are integers, never matched.
    auto ged = find(aml, "ACPI0013");
    ASSERT_EQ(ged.size(), 1u);
    EXPECT_TRUE(ged[0].has_irq);
    EXPECT_EQ(ged[0].irq, 9u);
    EXPECT_EQ(ged[0].config.trigger, mica::irq::Trigger::edge);
    EXPECT_TRUE(find(aml, "PNP0501").empty());
}

TEST(DsdtDevices, BadTablesAreReportedNotOverrun) {
    auto aml = load("acpi/qemu-microvm-dsdt.aml");
    ASSERT_FALSE(aml.empty());
    std::vector<uint8_t> tiny(aml.begin(), aml.begin() + 20);
    EXPECT_STREQ(mica::acpi::find_devices(tiny.data(), tiny.size(), "LNRO0005", [](const FixedDevice&, void*) {},
                                          nullptr),
                 "the table is shorter than its header");
    // Every truncation: the length field then claims more than there is.
    for (size_t n = 36; n < aml.size(); ++n) {
        std::vector<uint8_t> cut(aml.begin(), aml.begin() + n);
        const char* error = nullptr;
        auto devices = find(cut, "LNRO0005", &error);
        EXPECT_STREQ(error, "the table's length field is wrong");
        // With the length field fixed, the walk stops inside the table.
        cut[4] = n & 0xff;
        cut[5] = (n >> 8) & 0xff;
        devices = find(cut, "LNRO0005", &error);
        EXPECT_LE(devices.size(), 2u);
        for (auto& d : devices) EXPECT_TRUE(d.base == 0xfeb02e00u || d.base == 0xfeb02c00u || !d.has_irq || d.irq < 256);
    }
    // Random corruption: never a read outside the table (ASan), always an answer.
    std::mt19937 rng(7);
    for (int i = 0; i < 20000; ++i) {
        auto copy = aml;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) copy[36 + rng() % (copy.size() - 36)] = static_cast<uint8_t>(rng());
        find(copy, "LNRO0005");
    }
}

}  // namespace
