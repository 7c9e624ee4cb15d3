// squashfs as a Mica file system: vnodes over the image reader (squashfs.h), read-only, with
// file data served from the page cache (page_cache.h) so that read(), mmap and the ELF loader
// share one copy of each page. Host-testable: the tests mount images made by mksquashfs.
//
// One vnode per inode while anything refers to it (the file system keeps a table of live
// vnodes by inode number), so every open of a file shares its cached pages. A directory
// vnode holds its parent, which answers "..". Everything that would change the tree or a
// file answers -EROFS, as Linux does on a read-only mount; device nodes, FIFOs and sockets in
// the image are listed and stat'ed but cannot be opened (-ENXIO, as ramfs's mknod nodes).
//
// Files are pagers (mm/file_pager.h): private mappings of them fault their pages in on
// demand. A file handed out as a pager stays pinned (referenced) until the file system goes.
//
// Locking: the VFS lock serialises the vnode calls (vfs.h); the image and the page cache are
// also used by faults outside it, so both are under the file system's SquashfsLock.
#pragma once

#include <mica/fs/page_cache.h>
#include <mica/fs/squashfs.h>
#include <mica/fs/vnode.h>
#include <mica/mm/file_pager.h>

namespace mica::fs {

// statfs(2)'s f_type, and the name /proc/mounts shows.
inline constexpr uint64_t squashfs_magic = 0x73717368;
extern const FileSystemType squashfs_type;

// Where a read that fails on a corrupt image is reported (the console in the kernel), so the
// user learns which file and why while the application gets -EIO. May be nullptr.
using SquashfsReport = void (*)(const char* message);

// The lock that serialises the reader and the page cache: the VFS lock covers the vnode
// calls, but application faults read pages in without it (mm/file_pager.h), so every use of
// the image takes this one (after the VFS lock, before the VM's). Both may be nullptr (host
// tests).
struct SquashfsLock {
    void (*lock)(void* context) = nullptr;
    void (*unlock)(void* context) = nullptr;
    void* context = nullptr;
};

// A squashfs file system over an open image. Takes ownership of `image` (and deletes
// `source` with it when `owns_source`); the cache is shared by every such file system and
// must outlive them. 0, -ENOMEM, or -EIO when the root inode cannot be read (message in
// `error`).
int squashfs_create(Clock clock, squashfs::Image* image, squashfs::Source* source, bool owns_source,
                    PageCache& cache, SquashfsLock lock, SquashfsReport report, FileSystem** out, char* error, size_t error_size);

}  // namespace mica::fs
