// The root file system from a disk (`--root=vda`): the squashfs image on a block device,
// read through the block layer's buffer cache, its file pages in the kernel's page cache.
#pragma once

#include <mica/linux/files.h>
#include <stddef.h>

namespace mica::fs {
class PageCache;
}

namespace mica::abi {

// Opens block device `device` ("vda" or "/dev/vda"), checks the squashfs image on it and
// makes the file system for files_init in *out. 0, or -errno with a message naming the
// problem in `error` ("no block device vda (the machine has: vdb)", "vda: not a squashfs
// image (magic ...)").
int open_disk_root(const char* device, RootFileSystem* out, char* error, size_t error_size);

// The kernel's page cache (made by the first disk mount: a sixteenth of RAM for pages nobody
// maps), nullptr before.
fs::PageCache* page_cache();

}  // namespace mica::abi
