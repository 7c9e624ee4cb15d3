// The device-tree reader (drivers/fdt) on arbitrary blobs: open() validates once, and every
// lookup the kernel makes afterwards (paths, compatible and device_type scans, properties,
// reg entries with the parent's cell sizes, the reservation block) stays inside the blob,
// terminates, and returns NUL-terminated names. Seeds: the blobs QEMU virt passes.
#include <mica/drivers/fdt.h>

#include <vector>

#include <initializer_list>

#include "fuzz.h"

using namespace mica::fdt;

namespace {

constexpr int max_visits = 4096;  // a scan that visits more nodes than bytes exist loops

void read_node(const Tree& tree, Node node, const uint8_t* blob, size_t size) {
    if (!node.valid) return;
    const char* name = tree.name(node);
    FUZZ_CHECK(name != nullptr);
    (void)strlen(name);  // ASan: within the blob
    for (const char* p : {"compatible", "reg", "device_type", "#address-cells", "#size-cells", "status",
                          "linux,initrd-start", "linux,initrd-end", "bootargs", "method", "interrupts"}) {
        Property prop = tree.property(node, p);
        if (!prop.found()) continue;
        auto* data = static_cast<const uint8_t*>(prop.data);
        FUZZ_CHECK(data >= blob && data + prop.length <= blob + size);
        for (size_t i = 0; i < prop.length / 4 && i < 8; ++i) (void)prop.u32(i);
        (void)strlen(prop.string());
    }
    uint64_t address, length;
    for (size_t i = 0; i < 64 && tree.reg(node, i, address, length); ++i) {
    }
    (void)tree.is_compatible(node, "arm,pl011");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The blob at an exact-size allocation: a read past `size` is an ASan report.
    std::vector<uint8_t> copy(data, data + size);
    const uint8_t* blob = copy.data();
    Tree tree;
    Error e = tree.open(blob, size);
    FUZZ_CHECK(error_string(e) != nullptr);
    if (e != Error::none) return 0;
    FUZZ_CHECK(tree.total_size() <= size);
    read_node(tree, tree.root(), blob, size);
    for (const char* path : {"/", "/chosen", "/memory", "/cpus", "/psci", "/intc", "/pl011@9000000", "//", "/a/b/c"}) {
        read_node(tree, tree.find_path(path), blob, size);
    }
    for (const char* type : {"cpu", "memory"}) {
        int visits = 0;
        for (Node n = tree.find_device_type(type); n.valid; n = tree.find_device_type(type, n)) {
            FUZZ_CHECK(++visits < max_visits);
            read_node(tree, n, blob, size);
        }
    }
    for (const char* compatible : {"arm,pl011", "arm,cortex-a15-gic", "arm,gic-v3", "arm,psci-1.0", "arm,pl031",
                                   "virtio,mmio", "arm,armv8-timer"}) {
        int visits = 0;
        for (Node n = tree.find_compatible(compatible); n.valid; n = tree.find_compatible(compatible, n)) {
            FUZZ_CHECK(++visits < max_visits);
            read_node(tree, n, blob, size);
        }
    }
    uint64_t address, length;
    for (size_t i = 0; tree.reserved_entry(i, address, length); ++i) FUZZ_CHECK(i < size / 16 + 1);
    return 0;
}
