#include <mica/drivers/fdt.h>
#include <string.h>

namespace mica::fdt {
namespace {

constexpr uint32_t magic = 0xd00dfeed;
constexpr uint32_t token_begin_node = 1, token_end_node = 2, token_prop = 3, token_nop = 4, token_end = 9;
constexpr uint32_t min_compatible_version = 16;
constexpr size_t header_size = 40;
constexpr int max_depth = 32;

uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint64_t be64(const uint8_t* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }
uint32_t align4(uint32_t v) { return (v + 3) & ~3u; }

}  // namespace

const char* error_string(Error e) {
    switch (e) {
    case Error::none: return "no error";
    case Error::null_blob: return "no device tree";
    case Error::bad_magic: return "bad magic (not a flattened device tree)";
    case Error::unsupported_version: return "unsupported version (need 16 or later)";
    case Error::truncated: return "total size larger than the blob";
    case Error::block_out_of_bounds: return "a block offset or size points outside the blob";
    case Error::bad_token: return "unknown token in the structure block";
    case Error::unterminated_name: return "node name runs past the structure block";
    case Error::property_out_of_bounds: return "property runs past the structure block";
    case Error::bad_string_offset: return "property name offset outside the strings block";
    case Error::bad_nesting: return "unbalanced or too deeply nested nodes";
    case Error::missing_end: return "structure block has no end token";
    case Error::property_after_node: return "a property follows a subnode (properties must come first)";
    }
    return "unknown error";
}

uint32_t Property::u32(size_t index) const {
    return (index + 1) * 4 <= length ? be32(data + index * 4) : 0;
}

const char* Property::string() const {
    if (!data || length == 0 || data[length - 1] != '\0') return "";
    return reinterpret_cast<const char*>(data);
}

Error Tree::open(const void* blob, size_t max_size) {
    *this = Tree{};
    if (!blob) return Error::null_blob;
    auto* b = static_cast<const uint8_t*>(blob);
    if (max_size < header_size) return Error::truncated;
    if (be32(b) != magic) return Error::bad_magic;
    uint32_t total = be32(b + 4), off_struct = be32(b + 8), off_strings = be32(b + 12);
    uint32_t off_rsvmap = be32(b + 16), last_compatible = be32(b + 24);
    uint32_t size_strings = be32(b + 32), size_struct = be32(b + 36);
    if (last_compatible > min_compatible_version) return Error::unsupported_version;
    if (be32(b + 20) < min_compatible_version) return Error::unsupported_version;
    if (total > max_size || total < header_size) return Error::truncated;
    auto inside = [&](uint64_t off, uint64_t size) { return off >= header_size && off + size <= total; };
    if (!inside(off_struct, size_struct) || !inside(off_strings, size_strings) || !inside(off_rsvmap, 16) ||
        (off_struct & 3) || (size_struct & 3) || (off_rsvmap & 7)) {
        return Error::block_out_of_bounds;
    }
    // The reservation map ends with a zero entry inside the blob.
    uint64_t rsvmap_end = off_rsvmap;
    for (uint64_t p = off_rsvmap;; p += 16) {
        if (p + 16 > total) return Error::block_out_of_bounds;
        if (be64(b + p) == 0 && be64(b + p + 8) == 0) {
            rsvmap_end = p + 16;
            break;
        }
    }
    uint64_t used = rsvmap_end;
    if (uint64_t{off_struct} + size_struct > used) used = uint64_t{off_struct} + size_struct;
    if (uint64_t{off_strings} + size_strings > used) used = uint64_t{off_strings} + size_strings;

    // Walk every token once.
    const uint8_t* s = b + off_struct;
    uint32_t pos = 0;
    int depth = 0;
    // Per depth: whether the node open there has had a subnode. The lookups walk a node's
    // properties and then its subnodes, so a property after a subnode would be read as a
    // node (found by fuzzing: find_path then read past the blob).
    bool had_subnode[max_depth + 1] = {};
    bool ended = false;
    while (!ended) {
        if (pos + 4 > size_struct) return Error::missing_end;
        uint32_t token = be32(s + pos);
        pos += 4;
        switch (token) {
        case token_begin_node: {
            const void* nul = memchr(s + pos, '\0', size_struct - pos);
            if (!nul) return Error::unterminated_name;
            pos = align4(static_cast<uint32_t>(static_cast<const uint8_t*>(nul) - s) + 1);
            had_subnode[depth] = true;
            if (++depth > max_depth) return Error::bad_nesting;
            had_subnode[depth] = false;
            break;
        }
        case token_end_node:
            if (--depth < 0) return Error::bad_nesting;
            break;
        case token_prop: {
            if (pos + 8 > size_struct) return Error::property_out_of_bounds;
            uint32_t len = be32(s + pos), nameoff = be32(s + pos + 4);
            pos += 8;
            if (len > size_struct - pos) return Error::property_out_of_bounds;
            if (nameoff >= size_strings || !memchr(b + off_strings + nameoff, '\0', size_strings - nameoff)) {
                return Error::bad_string_offset;
            }
            if (depth == 0) return Error::bad_nesting;  // properties belong to nodes
            if (had_subnode[depth]) return Error::property_after_node;
            pos = align4(pos + len);
            break;
        }
        case token_nop: break;
        case token_end:
            if (depth != 0) return Error::bad_nesting;
            ended = true;
            break;
        default: return Error::bad_token;
        }
    }
    blob_ = b;
    structure_ = s;
    structure_size_ = size_struct;
    strings_ = reinterpret_cast<const char*>(b + off_strings);
    strings_size_ = size_strings;
    reservations_ = b + off_rsvmap;
    total_size_ = total;
    used_size_ = used;
    return Error::none;
}

// Visits nodes in order after `start_after` (0: from the first); visit(node) returns true to
// stop there. Tracks #address-cells/#size-cells per depth so each node knows its parent's.
template <typename Visit>
Node Tree::walk(Visit visit, uint32_t start_after) const {
    if (!structure_) return {};
    struct Cells {
        uint8_t address = 2, size = 1;
    } cells[max_depth + 1];
    int depth = 0;
    uint32_t pos = 0;
    for (;;) {
        uint32_t here = pos;
        uint32_t token = be32(structure_ + pos);
        pos += 4;
        if (token == token_begin_node) {
            const char* name = reinterpret_cast<const char*>(structure_ + pos);
            pos = align4(pos + static_cast<uint32_t>(strlen(name)) + 1);
            Node node{here, cells[depth].address, cells[depth].size, true};
            ++depth;
            cells[depth] = Cells{};
            // Read this node's own cell sizes (they apply to its children).
            uint32_t p = pos;
            while (be32(structure_ + p) == token_prop || be32(structure_ + p) == token_nop) {
                if (be32(structure_ + p) == token_nop) {
                    p += 4;
                    continue;
                }
                uint32_t len = be32(structure_ + p + 4);
                const char* pname = strings_ + be32(structure_ + p + 8);
                if (len == 4 && strcmp(pname, "#address-cells") == 0) cells[depth].address = static_cast<uint8_t>(be32(structure_ + p + 12));
                if (len == 4 && strcmp(pname, "#size-cells") == 0) cells[depth].size = static_cast<uint8_t>(be32(structure_ + p + 12));
                p = align4(p + 12 + len);
            }
            if ((start_after == 0 || here > start_after) && visit(node)) return node;
        } else if (token == token_end_node) {
            --depth;
        } else if (token == token_prop) {
            pos = align4(pos + 8 + be32(structure_ + pos));
        } else if (token == token_end) {
            return {};
        }
    }
}

Node Tree::root() const {
    return walk([](const Node&) { return true; }, 0);
}

const char* Tree::name(Node node) const {
    return node.valid ? reinterpret_cast<const char*>(structure_ + node.offset + 4) : "";
}

Property Tree::property(Node node, const char* wanted) const {
    if (!node.valid) return {};
    uint32_t pos = align4(node.offset + 4 + static_cast<uint32_t>(strlen(name(node))) + 1);
    for (;;) {
        uint32_t token = be32(structure_ + pos);
        if (token == token_nop) {
            pos += 4;
            continue;
        }
        if (token != token_prop) return {};
        uint32_t len = be32(structure_ + pos + 4);
        if (strcmp(strings_ + be32(structure_ + pos + 8), wanted) == 0) {
            return Property{structure_ + pos + 12, len};
        }
        pos = align4(pos + 12 + len);
    }
}

bool Tree::is_compatible(Node node, const char* compatible) const {
    Property p = property(node, "compatible");
    // A list of NUL-separated strings.
    for (uint32_t i = 0; i < p.length;) {
        const char* entry = reinterpret_cast<const char*>(p.data + i);
        size_t n = strnlen(entry, p.length - i);
        if (n == strlen(compatible) && strncmp(entry, compatible, n) == 0) return true;
        i += static_cast<uint32_t>(n) + 1;
    }
    return false;
}

Node Tree::find_compatible(const char* compatible, Node after) const {
    return walk([&](const Node& n) { return is_compatible(n, compatible); }, after.valid ? after.offset : 0);
}

Node Tree::find_phandle(uint32_t phandle) const {
    return walk([&](const Node& n) {
        Property p = property(n, "phandle");
        if (!p.found()) p = property(n, "linux,phandle");
        return p.length == 4 && p.u32() == phandle;
    }, 0);
}

Node Tree::find_device_type(const char* type, Node after) const {
    return walk([&](const Node& n) { return strcmp(property(n, "device_type").string(), type) == 0; },
                after.valid ? after.offset : 0);
}

// Position just after the properties of the node whose BEGIN_NODE token is at `pos`.
uint32_t Tree::skip_properties(uint32_t pos) const {
    pos = align4(pos + 4 + static_cast<uint32_t>(strlen(reinterpret_cast<const char*>(structure_ + pos + 4))) + 1);
    for (;;) {
        uint32_t token = be32(structure_ + pos);
        if (token == token_nop) pos += 4;
        else if (token == token_prop) pos = align4(pos + 12 + be32(structure_ + pos + 4));
        else return pos;
    }
}

// Position just after the END_NODE of the node whose BEGIN_NODE token is at `pos`.
uint32_t Tree::skip_node(uint32_t pos) const {
    pos = skip_properties(pos);
    for (;;) {
        uint32_t token = be32(structure_ + pos);
        if (token == token_begin_node) pos = skip_node(pos);
        else if (token == token_nop) pos += 4;
        else return pos + 4;  // token_end_node (open() checked the nesting)
    }
}

Node Tree::find_path(const char* path) const {
    Node current = root();
    if (path[0] != '/') return {};
    for (const char* rest = path + 1; *rest && current.valid;) {
        const char* slash = strchr(rest, '/');
        size_t len = slash ? static_cast<size_t>(slash - rest) : strlen(rest);
        bool unit_given = memchr(rest, '@', len) != nullptr;
        // The children's cell sizes come from the parent's own properties.
        Property ac = property(current, "#address-cells"), sc = property(current, "#size-cells");
        auto child_cells_a = static_cast<uint8_t>(ac.length == 4 ? ac.u32() : 2);
        auto child_cells_s = static_cast<uint8_t>(sc.length == 4 ? sc.u32() : 1);
        Node found{};
        for (uint32_t pos = skip_properties(current.offset); be32(structure_ + pos) != token_end_node;) {
            if (be32(structure_ + pos) == token_nop) {
                pos += 4;
                continue;
            }
            const char* child = reinterpret_cast<const char*>(structure_ + pos + 4);
            // "name" also matches "name@unit" when the path gives no unit address.
            if (strncmp(child, rest, len) == 0 && (child[len] == '\0' || (child[len] == '@' && !unit_given))) {
                found = Node{pos, child_cells_a, child_cells_s, true};
                break;
            }
            pos = skip_node(pos);
        }
        current = found;
        rest = slash ? slash + 1 : rest + len;
    }
    return current;
}

bool Tree::reg(Node node, size_t index, uint64_t& address, uint64_t& size) const {
    Property p = property(node, "reg");
    size_t cells = size_t{node.address_cells} + node.size_cells;
    if (!p.found() || cells == 0 || node.address_cells > 2 || node.size_cells > 2) return false;
    if ((index + 1) * cells * 4 > p.length) return false;
    const uint8_t* e = p.data + index * cells * 4;
    address = node.address_cells == 2 ? be64(e) : be32(e);
    e += node.address_cells * 4;
    size = node.size_cells == 2 ? be64(e) : node.size_cells == 1 ? be32(e) : 0;
    return true;
}

bool Tree::reserved_entry(size_t index, uint64_t& address, uint64_t& size) const {
    if (!reservations_) return false;
    for (size_t i = 0;; ++i) {
        const uint8_t* e = reservations_ + i * 16;
        uint64_t a = be64(e), s = be64(e + 8);
        if (a == 0 && s == 0) return false;
        if (i == index) {
            address = a;
            size = s;
            return true;
        }
    }
}

}  // namespace mica::fdt
