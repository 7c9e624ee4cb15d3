// The application's files (files.cc): the root filesystem and the process's descriptors.
#pragma once

#include <stddef.h>

namespace mica::abi {
// Creates the root filesystem (ramfs) from a cpio archive (size 0: empty), mounts /dev and
// /proc, opens descriptors 0-2 on the console. 0, or -errno with a message in `error`.
int files_init(const void* archive, size_t size, char* error, size_t error_size);
// Reads a whole file into a malloc'd buffer (the loader's way to the executable).
int files_read_whole(const char* path, void** data, size_t* size);
// What /proc/self/exe points to.
void set_executable_path(const char* path);
}  // namespace mica::abi
