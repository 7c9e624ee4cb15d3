#include <mica/virtio/mmio_spec.h>

namespace mica::virtio {
namespace {

bool is_digit(char c, unsigned base) {
    if (c >= '0' && c <= '9') return unsigned(c - '0') < base;
    if (base == 16) return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    return false;
}

unsigned digit_value(char c) {
    if (c >= '0' && c <= '9') return unsigned(c - '0');
    if (c >= 'a' && c <= 'f') return unsigned(c - 'a' + 10);
    return unsigned(c - 'A' + 10);
}

// Reads an unsigned number with C's prefixes (0x, 0) at *p; false when there is none or it
// does not fit in 64 bits.
bool read_number(const char*& p, uint64_t& out, bool decimal_only = false) {
    unsigned base = 10;
    const char* q = p;
    bool hex_prefix = q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
    if (!decimal_only && hex_prefix && !is_digit(q[2], 16)) return false;  // "0x" and no digit
    if (!decimal_only && hex_prefix) {
        base = 16;
        q += 2;
    } else if (!decimal_only && q[0] == '0' && is_digit(q[1], 8)) {
        base = 8;
        q += 1;
    }
    if (!is_digit(*q, base)) return false;
    uint64_t v = 0;
    for (; is_digit(*q, base); ++q) {
        uint64_t d = digit_value(*q);
        if (v > (~uint64_t{0} - d) / base) return false;
        v = v * base + d;
    }
    out = v;
    p = q;
    return true;
}

// Owned here: the devices the command line named, filled while it is parsed (boot CPU).
MmioDeviceSpec cmdline_devices[max_cmdline_mmio_devices];
size_t cmdline_device_count = 0;

}  // namespace

const char* parse_mmio_device(const char* value, MmioDeviceSpec& out) {
    constexpr int kib_shift = 10, mib_shift = 20, gib_shift = 30;
    const char* p = value;
    uint64_t size = 0, base = 0, irq = 0, id = 0;
    if (!read_number(p, size)) return "expected SIZE@ADDR:IRQ[:ID], starting with a size such as 512 or 4K";
    int shift = 0;
    switch (*p) {
    case 'k': case 'K': shift = kib_shift; ++p; break;
    case 'm': case 'M': shift = mib_shift; ++p; break;
    case 'g': case 'G': shift = gib_shift; ++p; break;
    default: break;
    }
    if (shift && size > (~uint64_t{0} >> shift)) return "the size is too large";
    size <<= shift;
    if (*p != '@') return "expected '@' after the size (SIZE@ADDR:IRQ[:ID]; size suffixes: K, M, G)";
    ++p;
    if (size == 0) return "the size is 0";
    if (!read_number(p, base)) return "expected an address after '@'";
    if (base + size < base) return "the address range wraps around";
    if (*p != ':') return "expected ':' and an interrupt number after the address";
    ++p;
    if (!read_number(p, irq, true) || irq > 0xffffffffu) return "expected a decimal interrupt number after ':'";
    int64_t parsed_id = -1;
    if (*p == ':') {
        ++p;
        if (!read_number(p, id, true) || id > 0x7fffffff) return "expected a decimal device id after the interrupt";
        parsed_id = static_cast<int64_t>(id);
    }
    if (*p) return "unexpected characters after the interrupt number";
    out = MmioDeviceSpec{base, size, static_cast<uint32_t>(irq), static_cast<int32_t>(parsed_id)};
    return nullptr;
}

bool add_cmdline_mmio_device(const MmioDeviceSpec& spec) {
    if (cmdline_device_count == max_cmdline_mmio_devices) return false;
    cmdline_devices[cmdline_device_count++] = spec;
    return true;
}

size_t cmdline_mmio_device_count() { return cmdline_device_count; }
const MmioDeviceSpec& cmdline_mmio_device(size_t index) { return cmdline_devices[index]; }

}  // namespace mica::virtio
