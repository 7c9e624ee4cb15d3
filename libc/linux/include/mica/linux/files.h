// Files for the Linux application: the VFS instance (ramfs root, devfs on /dev, procfs on
// /proc), the process's one descriptor table (shared by all its threads, as clone(CLONE_FILES)
// threads share Linux's), the working directory and umask, and the kernel-side helpers the
// process layer and loader need. The system calls themselves are in files.cc, pipe.cc,
// devfs.cc and procfs.cc (listed in files.def).
//
// Locking: the VFS core (fs/) is not thread-safe; every call into it, its vnodes, open files
// and the descriptor table happens with vfs_mutex() held. Pipes and character devices are
// driven outside it (they have their own locks and may block), holding a reference to the
// open file taken under it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mica::fs {
class FileSystem;
struct FileSystemType;
class OpenFile;
class Vfs;
class Vnode;
}
namespace mica::sched {
class Mutex;
}

namespace mica::abi {

// A root file system made by the caller (root_disk.h: squashfs on a block device).
struct RootFileSystem {
    fs::FileSystem* fs;  // given to the VFS
    const fs::FileSystemType* type;
};

// Creates the VFS with a ramfs root, unpacks the cpio archive (`size` > 0) into it, creates
// /dev, /proc and /tmp when missing, mounts devfs and procfs there and opens descriptors 0, 1
// and 2 on /dev/console. With `root`, that file system is the root instead; when it is
// read-only (a disk image) it must have /dev, /proc and /tmp, /tmp gets a ramfs, and there
// must be no archive. 0 or -errno, with a message in `error` (may be nullptr). Safe to call
// more than once: later calls return 0 without doing anything (the archive is not unpacked
// again).
int files_init(const void* archive, size_t size, char* error, size_t error_size, const RootFileSystem* root = nullptr);
bool files_ready();
// For tests: closes every descriptor, drops the working directory and destroys the VFS and
// everything in it, so that a later files_init starts afresh (and the heap is as before).
void files_shutdown();

// The executable's path as /proc/self/exe reports it (copied; at most 4095 bytes).
void set_executable_path(const char* path);
// Each process has its own descriptors, working directory and umask (processes.cc keeps
// them): files_copy copies the calling process's (fork; the kernel's before the first
// process), nullptr when out of memory; files_free closes everything of one; files_exec
// closes the close-on-exec descriptors. current_process_files (processes.cc) is the calling
// thread's process's, or nullptr for kernel threads.
void* files_copy();
void files_free(void* files);
void* current_process_files();
void files_exec();
// RLIMIT_NOFILE (resources.cc): the bound of a process's descriptor table (its `files`, as
// files_copy made them); any context, no lock needed.
void files_set_descriptor_limit(void* files, int limit);

// Reads the regular file `path` (absolute, or relative to the working directory) from the
// VFS into a malloc'd buffer: 0 and *data / *size (free() it), or -errno (-EACCES for a
// directory or device).
int files_read_whole(const char* path, void** data, size_t* size);
// The regular file `path` opened for the kernel's own reads (the ELF loader), with its size:
// 0, or -errno as files_read_whole. Release it with files_release.
int files_open_regular(const char* path, fs::OpenFile** out, uint64_t* size);
// Reads up to `length` bytes at `offset` (fewer only at end of file): the count or -errno.
// `buffer` may be application memory the kernel writes directly (pages fault in).
int64_t files_read_at(fs::OpenFile* file, void* buffer, size_t length, uint64_t offset);
// Maps the file's own pages from `offset` (page aligned) at `address` in the current address
// space, copy-on-write (mm::vm::map_file_pages), up to the end of the file or `length`: 1
// when done, 0 when the file system has no pages to share (the caller copies the bytes
// instead), -errno on failure. The fd form takes a descriptor (mmap): -EBADF, -EACCES for a
// file not open for reading.
int files_map_pages(fs::OpenFile* file, uint64_t offset, uintptr_t address, size_t length);
int files_map_fd_pages(int fd, uint64_t offset, uintptr_t address, size_t length);

// The VFS (after files_init) and the lock that serialises every use of it.
fs::Vfs& vfs();
sched::Mutex& vfs_mutex();

// For AF_UNIX names (net/unix/), each taking the VFS lock (so never called with it held):
// the vnode `path` names, relative to the working directory, with a reference, following
// symbolic links; and a new special file there (`mode`: type and permissions, the umask
// applied), referenced, -EEXIST when the name exists.
int files_lookup(const char* path, fs::Vnode** out);
int files_mknod(const char* path, uint32_t mode, fs::Vnode** out);
int files_unlink(const char* path);
// Drops one reference to each of `count` open files (descriptors a socket message carried
// that nobody received), taking the VFS lock.
void files_release(fs::OpenFile** files, int count);

}  // namespace mica::abi
