// ramfs: directories, regular files and symlinks in memory. Directory entries keep insertion
// order (readdir cookies are per-directory sequence numbers, stable across changes); file data
// is one growable buffer, holes read as zeros.
#pragma once

#include <mica/fs/vnode.h>

namespace mica::fs {

// Registered under "ramfs".
extern const FileSystemType ramfs_type;
int ramfs_create(Clock clock, FileSystem** out);

}  // namespace mica::fs
