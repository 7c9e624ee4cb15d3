// Devices the ACPI DSDT declares with a fixed resource template, found without an AML
// interpreter: QEMU microvm with ACPI (its default) describes its virtio-mmio transports only
// there, as Device(VRnn) { Name(_HID, "LNRO0005"); Name(_UID, n); Name(_CRS,
// ResourceTemplate() { Memory32Fixed(...); Interrupt(...) }) } inside Scope(\_SB), and does
// not append virtio_mmio.device= words. The walker understands the AML that such tables
// use (Scope, Device, Name with data objects, and skips Method, Field, OperationRegion and
// other length-prefixed objects) and stops at anything else; every length is checked
// against the table. Host-tested on QEMU's table.
#pragma once

#include <mica/irq.h>
#include <stddef.h>
#include <stdint.h>

namespace mica::acpi {

struct FixedDevice {
    char hid[16];        // _HID as a string ("LNRO0005"); EISA ids are not decoded
    uint64_t base;       // the first Memory32Fixed range
    uint64_t size;
    bool has_irq;        // the first Extended Interrupt descriptor
    uint32_t irq;        // its first interrupt (a GSI)
    irq::LineConfig config;
};

// Calls `found` for each Device whose _HID is a string equal to `hid` and whose _CRS is a
// buffer; returns nullptr, or what made the walk stop early (the devices before it were
// reported).
const char* find_devices(const uint8_t* aml, size_t length, const char* hid,
                         void (*found)(const FixedDevice& device, void* context), void* context);

}  // namespace mica::acpi
