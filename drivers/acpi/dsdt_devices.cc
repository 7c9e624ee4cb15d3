#include <mica/acpi/dsdt_devices.h>
#include <string.h>

namespace mica::acpi {
namespace {
constexpr size_t table_header = 36;
// AML opcodes (ACPI 6.5, section 20).
constexpr uint8_t op_zero = 0x00, op_one = 0x01, op_alias = 0x06, op_name = 0x08, op_byte = 0x0a, op_word = 0x0b,
                  op_dword = 0x0c, op_string = 0x0d, op_qword = 0x0e, op_scope = 0x10, op_buffer = 0x11,
                  op_package = 0x12, op_var_package = 0x13, op_method = 0x14, op_ext = 0x5b, op_if = 0xa0,
                  op_else = 0xa1, op_while = 0xa2, op_ones = 0xff;
constexpr uint8_t ext_mutex = 0x01, ext_event = 0x02, ext_region = 0x80, ext_field = 0x81, ext_device = 0x82,
                  ext_processor = 0x83, ext_power = 0x84, ext_thermal = 0x85, ext_index_field = 0x86,
                  ext_bank_field = 0x87;
constexpr uint8_t root_prefix = 0x5c, parent_prefix = 0x5e, dual_name = 0x2e, multi_name = 0x2f;
// Resource descriptors (ACPI 6.5, section 6.4).
constexpr uint8_t large_item = 0x80, res_memory32_fixed = 0x86, res_extended_interrupt = 0x89, small_end_tag = 0x0f;
constexpr uint8_t irq_flag_edge = 1 << 1, irq_flag_active_low = 1 << 2;
constexpr int max_depth = 16;

class Walker {
public:
    Walker(const uint8_t* aml, const char* hid, void (*found)(const FixedDevice&, void*), void* context)
        : aml_(aml), hid_(hid), found_(found), context_(context) {}

    const char* error = nullptr;

    // A TermList in [pos, end): true when it was walked to its end.
    bool term_list(size_t pos, size_t end, int depth, FixedDevice* device) {
        if (depth > max_depth) return fail("objects nested too deeply");
        while (pos < end) {
            uint8_t op = aml_[pos];
            if (op == op_scope) {
                size_t body, next;
                if (!package(pos + 1, end, body, next) || !name_string(body, next, body)) return false;
                if (!term_list(body, next, depth + 1, nullptr)) return false;
                pos = next;
            } else if (op == op_name) {
                size_t after_name;
                if (!name_string(pos + 1, end, after_name)) return false;
                size_t value_end;
                if (!data_object(after_name, end, value_end, device, aml_ + pos + 1)) return false;
                pos = value_end;
            } else if (op == op_method || op == op_if || op == op_else || op == op_while || op == op_buffer ||
                       op == op_package || op == op_var_package) {
                size_t body, next;
                if (!package(pos + 1, end, body, next)) return false;
                pos = next;
            } else if (op == op_alias) {
                size_t a, b;
                if (!name_string(pos + 1, end, a) || !name_string(a, end, b)) return false;
                pos = b;
            } else if (op == op_ext && pos + 1 < end) {
                uint8_t ext = aml_[pos + 1];
                if (ext == ext_device) {
                    size_t body, next;
                    if (!package(pos + 2, end, body, next) || !name_string(body, next, body)) return false;
                    FixedDevice d{};
                    bool outer_hid = seen_hid_, outer_crs = seen_crs_;  // a device inside a device
                    seen_hid_ = seen_crs_ = false;
                    term_list(body, next, depth + 1, &d);  // an unknown object ends only this device
                    error = nullptr;
                    if (seen_hid_ && seen_crs_ && strcmp(d.hid, hid_) == 0) found_(d, context_);
                    seen_hid_ = outer_hid;
                    seen_crs_ = outer_crs;
                    pos = next;
                } else if (ext == ext_field || ext == ext_processor || ext == ext_power || ext == ext_thermal ||
                           ext == ext_index_field || ext == ext_bank_field) {
                    size_t body, next;
                    if (!package(pos + 2, end, body, next)) return false;
                    pos = next;
                } else if (ext == ext_region) {
                    size_t p;
                    if (!name_string(pos + 2, end, p) || p + 1 > end) return false;
                    size_t a, b;
                    if (!integer(p + 1, end, a) || !integer(a, end, b)) return fail("OperationRegion with computed bounds");
                    pos = b;
                } else if (ext == ext_mutex) {
                    size_t p;
                    if (!name_string(pos + 2, end, p) || p + 1 > end) return false;
                    pos = p + 1;
                } else if (ext == ext_event) {
                    size_t p;
                    if (!name_string(pos + 2, end, p)) return false;
                    pos = p;
                } else {
                    return fail("an AML object this reader does not know");
                }
            } else {
                return fail("an AML object this reader does not know");
            }
        }
        return true;
    }

private:
    bool fail(const char* why) {
        if (!error) error = why;
        return false;
    }

    // PkgLength at `pos`: the body starts after it, `next` is where the package ends.
    bool package(size_t pos, size_t end, size_t& body, size_t& next) {
        if (pos >= end) return fail("truncated package length");
        uint8_t lead = aml_[pos];
        unsigned extra = lead >> 6;
        if (pos + 1 + extra > end) return fail("truncated package length");
        size_t length = extra ? lead & 0x0f : lead & 0x3f;
        for (unsigned i = 0; i < extra; ++i) length |= size_t{aml_[pos + 1 + i]} << (4 + 8 * i);
        body = pos + 1 + extra;
        next = pos + length;
        if (length < 1 + extra || next > end) return fail("a package runs past its parent");
        return true;
    }

    bool name_string(size_t pos, size_t end, size_t& after) {
        if (pos < end && aml_[pos] == root_prefix) ++pos;
        while (pos < end && aml_[pos] == parent_prefix) ++pos;
        if (pos >= end) return fail("truncated name");
        size_t segments = 1;
        if (aml_[pos] == op_zero) {  // the null name
            after = pos + 1;
            return true;
        }
        if (aml_[pos] == dual_name) {
            segments = 2;
            ++pos;
        } else if (aml_[pos] == multi_name) {
            if (pos + 1 >= end) return fail("truncated name");
            segments = aml_[pos + 1];
            pos += 2;
        }
        if (pos + 4 * segments > end) return fail("truncated name");
        after = pos + 4 * segments;
        return true;
    }

    // An integer data object (the only TermArgs this reader evaluates).
    bool integer(size_t pos, size_t end, size_t& after, uint64_t* value = nullptr) {
        if (pos >= end) return false;
        size_t n;
        switch (aml_[pos]) {
        case op_zero: case op_one: case op_ones:
            if (value) *value = aml_[pos] == op_one ? 1 : aml_[pos] == op_zero ? 0 : ~uint64_t{0};
            after = pos + 1;
            return true;
        case op_byte: n = 1; break;
        case op_word: n = 2; break;
        case op_dword: n = 4; break;
        case op_qword: n = 8; break;
        default: return false;
        }
        if (pos + 1 + n > end) return false;
        if (value) {
            *value = 0;
            for (size_t i = 0; i < n; ++i) *value |= uint64_t{aml_[pos + 1 + i]} << (8 * i);
        }
        after = pos + 1 + n;
        return true;
    }

    // The value of Name(NAME, value); records _HID and _CRS for the device being read.
    bool data_object(size_t pos, size_t end, size_t& after, FixedDevice* device, const uint8_t* name) {
        if (pos >= end) return fail("truncated Name");
        uint8_t op = aml_[pos];
        bool is_hid = device && memcmp(name, "_HID", 4) == 0, is_crs = device && memcmp(name, "_CRS", 4) == 0;
        if (op == op_string) {
            size_t s = pos + 1;
            while (s < end && aml_[s]) ++s;
            if (s >= end) return fail("unterminated string");
            if (is_hid && s - (pos + 1) < sizeof(device->hid)) {
                memcpy(device->hid, aml_ + pos + 1, s - (pos + 1));
                device->hid[s - (pos + 1)] = '\0';
                seen_hid_ = true;
            }
            after = s + 1;
            return true;
        }
        if (op == op_buffer || op == op_package || op == op_var_package) {
            size_t body, next;
            if (!package(pos + 1, end, body, next)) return false;
            if (is_crs && op == op_buffer) {
                size_t bytes;
                uint64_t declared = 0;
                if (!integer(body, next, bytes, &declared)) return fail("_CRS buffer with a computed size");
                size_t have = next - bytes;
                resources(bytes, bytes + (declared < have ? declared : have), *device);
                seen_crs_ = true;
            }
            after = next;
            return true;
        }
        if (op == op_ext && pos + 1 < end && aml_[pos + 1] == 0x30) {  // RevisionOp
            after = pos + 2;
            return true;
        }
        if (integer(pos, end, after)) return true;
        return fail("a Name value this reader does not know");
    }

    // Walks a resource template: the first fixed memory range and the first interrupt.
    void resources(size_t pos, size_t end, FixedDevice& d) {
        bool have_memory = false;
        while (pos < end) {
            uint8_t tag = aml_[pos];
            size_t length, data;
            if (tag & large_item) {
                if (pos + 3 > end) return;
                length = aml_[pos + 1] | size_t{aml_[pos + 2]} << 8;
                data = pos + 3;
            } else {
                if (((tag >> 3) & 0x0f) == small_end_tag) return;
                length = tag & 7;
                data = pos + 1;
            }
            if (data + length > end) return;
            auto u32 = [&](size_t at) {
                return uint32_t{aml_[at]} | uint32_t{aml_[at + 1]} << 8 | uint32_t{aml_[at + 2]} << 16 |
                       uint32_t{aml_[at + 3]} << 24;
            };
            if (tag == res_memory32_fixed && length >= 9 && !have_memory) {
                d.base = u32(data + 1);
                d.size = u32(data + 5);
                have_memory = true;
            } else if (tag == res_extended_interrupt && length >= 6 && !d.has_irq && aml_[data + 1] >= 1) {
                uint8_t flags = aml_[data];
                d.irq = u32(data + 2);
                d.config.trigger = flags & irq_flag_edge ? irq::Trigger::edge : irq::Trigger::level;
                d.config.polarity = flags & irq_flag_active_low ? irq::Polarity::low : irq::Polarity::high;
                d.has_irq = true;
            }
            pos = data + length;
        }
    }

    const uint8_t* aml_;
    const char* hid_;
    void (*found_)(const FixedDevice&, void*);
    void* context_;
    bool seen_hid_ = false, seen_crs_ = false;
};
}  // namespace

const char* find_devices(const uint8_t* aml, size_t length, const char* hid,
                         void (*found)(const FixedDevice& device, void* context), void* context) {
    if (!aml || length < table_header) return "the table is shorter than its header";
    uint32_t declared = uint32_t{aml[4]} | uint32_t{aml[5]} << 8 | uint32_t{aml[6]} << 16 | uint32_t{aml[7]} << 24;
    if (declared < table_header || declared > length) return "the table's length field is wrong";
    Walker w(aml, hid, found, context);
    w.term_list(table_header, declared, 0, nullptr);
    return w.error;
}

}  // namespace mica::acpi
