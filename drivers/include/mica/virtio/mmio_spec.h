// The value of a `virtio_mmio.device=SIZE@ADDR:IRQ[:ID]` word, Linux's syntax for a
// virtio-mmio device that no firmware table describes. QEMU microvm (without ACPI) and
// Firecracker append one such word per device to the kernel command line. Host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::virtio {

struct MmioDeviceSpec {
    uint64_t base = 0;
    uint64_t size = 0;
    uint32_t irq = 0;    // the platform interrupt line (x86: a GSI)
    int32_t id = -1;     // the optional platform device id (Linux's; unused here), -1 when absent
};

// Parses SIZE@ADDR:IRQ[:ID]: SIZE is a number with an optional K, M or G suffix (powers of
// 1024, either case), ADDR a number, IRQ a decimal number, ID a decimal number; numbers are
// decimal, 0x hexadecimal or 0 octal, as Linux's memparse and %lli read them. Returns
// nullptr, or a message saying what is wrong (the caller names the word).
const char* parse_mmio_device(const char* value, MmioDeviceSpec& out);

// Devices named on the command line, for the virtio-mmio transport to probe (kept here, in
// the always-built part of the drivers, so a kernel without virtio-mmio still accepts and
// checks the words QEMU appends). False when the table is full.
inline constexpr size_t max_cmdline_mmio_devices = 32;
bool add_cmdline_mmio_device(const MmioDeviceSpec& spec);
size_t cmdline_mmio_device_count();
const MmioDeviceSpec& cmdline_mmio_device(size_t index);

}  // namespace mica::virtio
