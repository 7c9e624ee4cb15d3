// What travels with a message besides its bytes: descriptors (SCM_RIGHTS) and credentials
// (SCM_CREDENTIALS). Host-compilable (the AF_UNIX queue core is host-tested).
#pragma once

#include <mica/net/socket_abi.h>
#include <stdint.h>

namespace mica::fs {
class OpenFile;
}

namespace mica::net {

// The files are open file descriptions, each with a reference the holder owns: a send hands
// them to the socket (taken only when it returns success; on failure they stay with the
// caller), a receive gets them. Dropping references needs the VFS lock (the system-call
// layer, or mica/linux/files.h's files_release); a family drops undelivered ones only in
// its destructor, which runs under it.
struct Ancillary {
    fs::OpenFile** files = nullptr;  // malloc'd array of file_count, owned with the references
    int file_count = 0;
    bool has_credentials = false;
    Credentials credentials{};
};

}  // namespace mica::net
