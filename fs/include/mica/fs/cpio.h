// The boot archive: a cpio "newc" archive (magic 070701, or 070702 with checksums), the format
// of Linux's initramfs, QEMU -initrd, GNU `cpio -o -H newc` and tools/mkramfs. Each member is a
// 110-byte ASCII header (magic and 13 8-digit hex fields), the NUL-terminated name and the data,
// name and data each padded to 4 bytes; "TRAILER!!!" ends the archive.
//
// The unpacker checks every length against the end of the buffer before using it, so a
// corrupted archive is rejected with a message naming the member and the problem, never read
// out of bounds. Directories, regular files and symlinks are created (with mode, uid, gid and
// mtime); missing parent directories are created 0755; an existing non-directory at a path is
// replaced. Hard links (regular files sharing an inode number, the data with the last of them,
// as GNU cpio writes them) become hard links. Device nodes, FIFOs and sockets are skipped and
// counted (devfs provides /dev). A ".." component is rejected: names stay under the target.
#pragma once

#include <mica/fs/vfs.h>
#include <stddef.h>

namespace mica::fs {

struct CpioReport {
    size_t entries = 0;  // members created or updated
    size_t skipped = 0;  // device nodes, FIFOs, sockets
    size_t bytes = 0;    // file data written
    char error[192] = {};  // why unpacking stopped, when it returns an error
};

inline constexpr size_t cpio_header_size = 110;

// Unpacks `archive` into directory `at` (nullptr: the root). 0, or -EINVAL for a malformed
// archive, or the VFS's -errno; the report says why. Members before the problem stay created.
int cpio_unpack(Vfs& vfs, Vnode* at, const void* archive, size_t size, CpioReport* report);

}  // namespace mica::fs
