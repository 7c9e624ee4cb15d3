// The ACPI DSDT walker (drivers/acpi/dsdt_devices.cc) on arbitrary AML: it reports devices or
// stops with a reason, never reading outside the table, and every device it reports has a
// terminated _HID equal to the one asked for.
#include <mica/acpi/dsdt_devices.h>

#include <vector>

#include "fuzz.h"

namespace {
const char* wanted[] = {"LNRO0005", "ACPI0007", "PNP0A08"};

void found(const mica::acpi::FixedDevice& device, void* context) {
    const char* hid = static_cast<const char*>(context);
    FUZZ_CHECK(strnlen(device.hid, sizeof device.hid) < sizeof device.hid);
    FUZZ_CHECK(strcmp(device.hid, hid) == 0);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const char* hid = wanted[data[0] % 3];
    std::vector<uint8_t> aml(data + 1, data + size);  // exactly the table: ASan sees overreads
    const char* why = mica::acpi::find_devices(aml.data(), aml.size(), hid, found, const_cast<char*>(hid));
    FUZZ_CHECK(!why || why[0]);
    return 0;
}
