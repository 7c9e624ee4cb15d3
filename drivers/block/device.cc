// The block device registry (mica/block/device.h).
#include <mica/block/device.h>
#include <string.h>

namespace mica::block {
namespace {
constexpr int errno_inval = 22, errno_rofs = 30, errno_nospc = 28;
constexpr size_t max_devices = 26;  // vda..vdz
constexpr char dev_prefix[] = "/dev/";

// Owned here: the devices drivers registered (appended in the devices phase of boot, on the
// boot CPU, never removed), so readers need no lock.
Device* devices[max_devices];
size_t count = 0;
}  // namespace

int Device::check(uint64_t offset, size_t length, bool write) const {
    uint64_t mask = sector_size_ - 1;
    if ((offset & mask) || (length & mask)) return -errno_inval;
    if (offset > capacity_ || length > capacity_ - offset) return -errno_inval;
    if (write && read_only_) return -errno_rofs;
    return 0;
}

int register_device(Device* device) {
    if (count == max_devices) return -errno_nospc;
    device->name_[0] = 'v';
    device->name_[1] = 'd';
    device->name_[2] = static_cast<char>('a' + count);
    device->name_[3] = '\0';
    devices[count] = device;
    __atomic_store_n(&count, count + 1, __ATOMIC_RELEASE);
    return 0;
}

size_t device_count() { return __atomic_load_n(&count, __ATOMIC_ACQUIRE); }

Device* device(size_t index) { return index < device_count() ? devices[index] : nullptr; }

Device* find(const char* name) {
    if (!name) return nullptr;
    if (strncmp(name, dev_prefix, sizeof dev_prefix - 1) == 0) name += sizeof dev_prefix - 1;
    for (size_t i = 0; i < device_count(); ++i) {
        if (strcmp(devices[i]->name(), name) == 0) return devices[i];
    }
    return nullptr;
}

void reset_registry_for_tests() { __atomic_store_n(&count, 0, __ATOMIC_RELEASE); }

}  // namespace mica::block
