// Flattened device tree (DTB) reader. open() validates the whole blob once (header, block
// bounds, every token, name and property, nesting), so lookups afterwards never read outside
// it; a malformed blob gives an Error naming the problem instead. No allocation, no globals:
// it runs before memory management and is host-tested on blobs dumped from QEMU.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::fdt {

enum class Error {
    none,
    null_blob,
    bad_magic,
    unsupported_version,
    truncated,            // totalsize larger than the space the blob may occupy
    block_out_of_bounds,  // a header offset/size points outside the blob
    bad_token,
    unterminated_name,
    property_out_of_bounds,
    bad_string_offset,
    bad_nesting,
    missing_end,
    property_after_node,  // a node's property after one of its subnodes (DTSpec: properties first)
};
const char* error_string(Error e);

struct Property {
    const uint8_t* data = nullptr;
    uint32_t length = 0;
    bool found() const { return data != nullptr; }
    uint32_t u32(size_t index = 0) const;  // big-endian cell `index`
    // The string value (properties are NUL-terminated; an unterminated one reads as "").
    const char* string() const;
};

// A node, remembered with its parent's #address-cells/#size-cells for decoding `reg`.
struct Node {
    uint32_t offset = 0;  // of its FDT_BEGIN_NODE token within the structure block
    uint8_t address_cells = 2, size_cells = 1;
    bool valid = false;
};

class Tree {
public:
    // `max_size`: how many bytes at `blob` may belong to it (the blob says its own size).
    Error open(const void* blob, size_t max_size);
    size_t total_size() const { return total_size_; }
    // Bytes from the blob's start to the end of its last block (header, reservation map,
    // structure, strings): QEMU's virt blob says 1 MiB for ~8 KiB of content, the rest free
    // space that no reader touches, so only this much needs to stay reserved.
    size_t used_size() const { return used_size_; }

    Node root() const;
    // Path of node names from the root, e.g. "/chosen" or "/pl011@9000000".
    Node find_path(const char* path) const;
    // Next node after `after` (or the first, when `after` is invalid) whose "compatible"
    // list contains `compatible`.
    Node find_compatible(const char* compatible, Node after = {}) const;
    // Next node whose "device_type" property equals `type` (e.g. "memory").
    Node find_device_type(const char* type, Node after = {}) const;
    // The node whose "phandle" property is `phandle` (interrupt-parent, interrupt-map).
    Node find_phandle(uint32_t phandle) const;
    const char* name(Node node) const;
    Property property(Node node, const char* name) const;
    bool is_compatible(Node node, const char* compatible) const;
    // Entry `index` of the node's "reg" property, decoded with its parent's cell sizes.
    bool reg(Node node, size_t index, uint64_t& address, uint64_t& size) const;
    // Memory reservation block entry `index` (address, size); false past the end.
    bool reserved_entry(size_t index, uint64_t& address, uint64_t& size) const;

private:
    template <typename Visit>
    Node walk(Visit visit, uint32_t start_after) const;
    uint32_t skip_properties(uint32_t pos) const;
    uint32_t skip_node(uint32_t pos) const;

    const uint8_t* blob_ = nullptr;
    const uint8_t* structure_ = nullptr;
    uint32_t structure_size_ = 0;
    const char* strings_ = nullptr;
    uint32_t strings_size_ = 0;
    const uint8_t* reservations_ = nullptr;
    size_t total_size_ = 0;
    size_t used_size_ = 0;
};

}  // namespace mica::fdt
