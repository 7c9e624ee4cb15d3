// /etc/resolv.conf and /etc/hosts in the root filesystem, so that a static program's resolver
// (glibc's or musl's getaddrinfo) finds the nameservers and localhost. The image's own files
// win: a file that exists is left alone.
#include <mica/fs/abi.h>
#include <mica/fs/file.h>
#include <mica/fs/vfs.h>
#include <mica/linux/files.h>
#include <mica/net/net.h>
#include <mica/net/resolver_files.h>
#include <mica/sched/sync.h>
#include <string.h>

#include "stack_internal.h"

namespace mica::net {
namespace {

constexpr uint32_t etc_mode = 0755, file_mode = 0644;
constexpr size_t text_size = 512;

uint32_t host_order(uint32_t network) {
    const auto* b = reinterpret_cast<const uint8_t*>(&network);
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

// Creates `path` with `text` unless it exists. VFS lock held.
int create_file(fs::Vfs& vfs, const char* path, const char* text, size_t length) {
    fs::OpenFile* file;
    int r = vfs.open(vfs.root(), path, fs::o_wronly | fs::o_creat | fs::o_excl, file_mode, &file);
    if (r == -fs::errno_exist) return 0;
    if (r < 0) return r;
    int64_t written = file->write(text, length);
    file->unref();
    if (written < 0) return static_cast<int>(written);
    return written == static_cast<int64_t>(length) ? 0 : -fs::errno_io;
}

}  // namespace

int write_resolver_files() {
    if (!initialized() || !abi::files_ready()) return 0;
    uint32_t servers[max_nameservers];
    size_t count = nameservers(servers, max_nameservers);
    if (count > max_nameservers) count = max_nameservers;
    for (size_t i = 0; i < count; ++i) servers[i] = host_order(servers[i]);
    const char* source = boot_options().nameserver_count ? "from --nameserver"
                         : count                          ? "from DHCP"
                                                          : "no nameserver known: give --nameserver";
    char resolv[text_size], hosts[text_size];
    int resolv_length = format_resolv_conf(servers, count, source, resolv, sizeof(resolv));
    int hosts_length = format_hosts(host_name, hosts, sizeof(hosts));
    if (resolv_length < 0 || hosts_length < 0) return -fs::errno_range;

    sched::LockGuard<sched::Mutex> guard(abi::vfs_mutex());
    fs::Vfs& vfs = abi::vfs();
    int r = vfs.mkdir(vfs.root(), "/etc", etc_mode);
    if (r < 0 && r != -fs::errno_exist) return r;
    r = create_file(vfs, "/etc/resolv.conf", resolv, static_cast<size_t>(resolv_length));
    if (r < 0) return r;
    return create_file(vfs, "/etc/hosts", hosts, static_cast<size_t>(hosts_length));
}

}  // namespace mica::net
