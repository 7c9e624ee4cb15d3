// Host stand-in for the kernel's checked copies (mm/vm.h): the unit tests' "application
// memory" is ordinary memory, and any address below 64 KiB (where Mica maps nothing for
// applications) is a bad pointer, so -EFAULT paths can be tested.
#include <mica/mm/vm.h>
#include <string.h>

namespace mica::mm::vm {
namespace {
constexpr uintptr_t lowest_app_address = 64 * 1024;
bool bad(const void* p, size_t n) { return n > 0 && reinterpret_cast<uintptr_t>(p) < lowest_app_address; }
}  // namespace

int copy_from_app(void* dst, const void* app_src, size_t length) {
    if (bad(app_src, length)) return -errno_fault;
    memcpy(dst, app_src, length);
    return 0;
}

int copy_to_app(void* app_dst, const void* src, size_t length) {
    if (bad(app_dst, length)) return -errno_fault;
    memcpy(app_dst, src, length);
    return 0;
}

int64_t copy_string_from_app(char* dst, const char* app_src, size_t capacity) {
    if (bad(app_src, 1)) return -errno_fault;
    size_t n = strnlen(app_src, capacity);
    if (n == capacity) return -36;
    memcpy(dst, app_src, n + 1);
    return static_cast<int64_t>(n);
}

}  // namespace mica::mm::vm
