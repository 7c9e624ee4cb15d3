#include <mica/format.h>
#include <mica/net/options.h>
#include <mica/net/resolver_files.h>

namespace mica::net {
namespace {

// Appends with snprintf's rules; false once the text no longer fits.
bool append(char* out, size_t size, size_t& used, const char* format, const char* a, const char* b = "") {
    int n = fmt::snprintf(out + used, size - used, format, a, b);
    if (n < 0 || static_cast<size_t>(n) >= size - used) return false;
    used += static_cast<size_t>(n);
    return true;
}

}  // namespace

int format_resolv_conf(const uint32_t* servers, size_t count, const char* source, char* out, size_t size) {
    if (size == 0) return -1;
    size_t used = 0;
    if (!append(out, size, used, "# Written by the Mica kernel (%s)\n", source)) return -1;
    for (size_t i = 0; i < count; ++i) {
        char address[16];
        format_ipv4(servers[i], address, sizeof(address));
        if (!append(out, size, used, "nameserver %s\n", address)) return -1;
    }
    return static_cast<int>(used);
}

int format_hosts(const char* name, char* out, size_t size) {
    if (size == 0) return -1;
    size_t used = 0;
    if (!append(out, size, used, "127.0.0.1\tlocalhost %s\n", name)) return -1;
    return static_cast<int>(used);
}

}  // namespace mica::net
