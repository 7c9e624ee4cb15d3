// ramfs: directories, regular files and symlinks in memory. Directory entries keep insertion
// order (readdir cookies are per-directory sequence numbers, stable across changes); file data
// lives in pages allocated as they are written (file_pages.h), holes read as zeros.
#pragma once

#include <mica/fs/vnode.h>
#include <mica/fs/data_pages.h>
#include <mica/mm/heap.h>

namespace mica::fs {

// A file's page index is one heap allocation, so a file cannot grow past 2 GiB (the heap's
// largest block of page pointers): writes beyond it fail with EFBIG, which says so, rather
// than ENOMEM, which would send the user looking for memory the machine has.
inline constexpr uint64_t ramfs_max_file_bytes = mm::Heap::max_allocation / sizeof(void*) * data_page_size;

// Registered under "ramfs".
extern const FileSystemType ramfs_type;
int ramfs_create(Clock clock, FileSystem** out);
// A regular file of ramfs instance `fs` that no directory names (memfd_create): referenced,
// nullptr when out of memory. `mode` holds permission bits.
Vnode* ramfs_new_file(FileSystem* fs, uint32_t mode);

}  // namespace mica::fs
