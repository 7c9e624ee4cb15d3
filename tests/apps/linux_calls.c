/* The system calls Debian's dynamically linked programs use (issue 12): limits and usage,
   credentials and capabilities, priorities and scheduling policies, statfs, the chmod and
   chown families, extended attributes, fadvise, msync/mincore/mlock, membarrier,
   copy_file_range, fallocate, flock, sync, close_range, memfd_create, getcpu, personality and
   the older utimes calls - each with what succeeds and with Linux's errno for bad
   descriptors, pointers, flags and ranges. Only what Linux answers the same on any host is
   printed: the host's TMPDIR is on ext4 or tmpfs, and the host's root may lack capabilities
   Mica's has, so where the answers may differ the line says so ("ok or EPERM"). Calls that
   change the process for good (ids, capabilities) run in forked children. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/personality.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include "app_test.h"

/* Numbers a C library's headers may lack (the same on both architectures unless noted). */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define NR_clone3 435
#if defined(__x86_64__)
#define NR_membarrier 324
#define NR_copy_file_range 326
#define NR_memfd_create 319
#define NR_mlock2 325
#else
#define NR_membarrier 283
#define NR_copy_file_range 285
#define NR_memfd_create 279
#define NR_mlock2 284
#endif

#define TMPFS_MAGIC 0x01021994
#define PROC_SUPER_MAGIC 0x9fa0
#define PIPEFS_MAGIC 0x50495045
#define SOCKFS_MAGIC 0x534f434b
#define ANON_INODE_FS_MAGIC 0x09041934

static char dir[512];
static char bad_name[300];
static void* const bad = (void*)1;  /* unmapped on Linux, outside the application on Mica */

static const char* error_of(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case ENODATA: return "ENODATA";
    case E2BIG: return "E2BIG";
    case EXDEV: return "EXDEV";
    case ENOSPC: return "ENOSPC";
    case EOVERFLOW: return "EOVERFLOW";
    default: return errno_name(errno);
    }
}

static void path_in(char* out, size_t size, const char* name) { snprintf(out, size, "%s/%s", dir, name); }

static int make_file(const char* name, const char* contents) {
    char path[600];
    path_in(path, sizeof path, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    APP_REQUIRE(fd >= 0);
    if (contents) APP_REQUIRE(write(fd, contents, strlen(contents)) == (ssize_t)strlen(contents));
    return fd;
}

static const char* fs_name(long type) {
    switch (type) {
    case TMPFS_MAGIC: return "tmpfs";
    case PROC_SUPER_MAGIC: return "proc";
    case PIPEFS_MAGIC: return "pipefs";
    case SOCKFS_MAGIC: return "sockfs";
    case ANON_INODE_FS_MAGIC: return "anon_inodefs";
    default: return "another";
    }
}

static unsigned mode_of(const char* path) {
    struct stat st;
    APP_REQUIRE(lstat(path, &st) == 0);
    return st.st_mode & 07777;
}

static void statfs_calls(void) {
    struct statfs st;
    long r = statfs("/proc", &st);
    printf("statfs /proc: %s %s\n", error_of(r), fs_name(st.f_type));
    r = statfs("/dev", &st);
    printf("statfs /dev: %s %s\n", error_of(r), fs_name(st.f_type));
    r = statfs(dir, &st);
    printf("statfs TMPDIR: %s bsize %ld namelen %ld\n", error_of(r), (long)st.f_bsize, (long)st.f_namelen);
    long dir_type = st.f_type;
    int fd = make_file("statfs_file", "x");
    struct statfs fst;
    r = fstatfs(fd, &fst);
    printf("fstatfs file: %s same type as its directory: %s\n", error_of(r), yes_no((long)fst.f_type == dir_type));
    int p[2], s[2];
    APP_REQUIRE(pipe(p) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
    int efd = eventfd(0, 0);
    r = fstatfs(p[0], &fst);
    printf("fstatfs pipe: %s %s\n", error_of(r), fs_name(fst.f_type));
    r = fstatfs(s[0], &fst);
    printf("fstatfs socket: %s %s\n", error_of(r), fs_name(fst.f_type));
    r = fstatfs(efd, &fst);
    printf("fstatfs eventfd: %s %s\n", error_of(r), fs_name(fst.f_type));
    int opath = open(dir, O_PATH);
    printf("fstatfs O_PATH: %s\n", error_of(fstatfs(opath, &fst)));
    printf("statfs missing: %s\n", error_of(statfs("/no/such/path", &st)));
    char under_file[600];
    path_in(under_file, sizeof under_file, "statfs_file/x");
    printf("statfs under a file: %s\n", error_of(statfs(under_file, &st)));
    printf("statfs bad path: %s\n", error_of(syscall(SYS_statfs, bad, &st)));
    printf("statfs bad buffer: %s\n", error_of(syscall(SYS_statfs, dir, bad)));
    printf("fstatfs bad descriptor: %s\n", error_of(fstatfs(-1, &st)));
    printf("fstatfs bad buffer: %s\n", error_of(syscall(SYS_fstatfs, fd, bad)));
    close(p[0]), close(p[1]), close(s[0]), close(s[1]), close(efd), close(opath), close(fd);
}

static void chmod_chown_calls(void) {
    char file[600], link[600];
    path_in(file, sizeof file, "modes");
    path_in(link, sizeof link, "modes_link");
    int fd = make_file("modes", "data");
    long r = chmod(file, 0600);
    printf("chmod 600: %s %o\n", error_of(r), mode_of(file));
    r = fchmod(fd, 04755);
    printf("fchmod 4755: %s %o\n", error_of(r), mode_of(file));
    r = fchmodat(AT_FDCWD, file, 0640, 0);
    printf("fchmodat 640: %s %o\n", error_of(r), mode_of(file));
    r = chmod(file, 0170644);
    printf("chmod with type bits: %s %o\n", error_of(r), mode_of(file));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    r = syscall(SYS_fchmodat, dfd, "modes", 0604);
    printf("fchmodat relative: %s %o\n", error_of(r), mode_of(file));
    printf("chmod missing: %s\n", error_of(chmod("/no/such/file", 0600)));
    printf("chmod bad path: %s\n", error_of(chmod(bad, 0600)));
    printf("fchmod bad descriptor: %s\n", error_of(fchmod(-1, 0600)));
    int opath = open(file, O_PATH);
    printf("fchmod O_PATH: %s\n", error_of(syscall(SYS_fchmod, opath, 0600)));  /* musl falls back to /proc */
    printf("fchmodat bad directory: %s\n", error_of(syscall(SYS_fchmodat, 999, "modes", 0600)));
    printf("chmod /proc/self/maps: %s\n", error_of(chmod("/proc/self/maps", 0600)));

    struct stat st;
    printf("chown 1234 5678: %s", error_of(chown(file, 1234, 5678)));
    APP_REQUIRE(stat(file, &st) == 0);
    printf(" %u %u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
    printf("fchown -1 42: %s", error_of(fchown(fd, (uid_t)-1, 42)));
    APP_REQUIRE(stat(file, &st) == 0);
    printf(" %u %u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
    APP_REQUIRE(chmod(file, 06755) == 0);
    r = chown(file, 0, 0);
    printf("chown clears set-id bits: %s %o\n", error_of(r), mode_of(file));
    APP_REQUIRE(chmod(file, 02745) == 0);
    r = chown(file, 0, 0);
    printf("chown keeps set-group-id without group execute: %s %o\n", error_of(r), mode_of(file));
    unlink(link);
    APP_REQUIRE(symlink("modes", link) == 0);
    printf("lchown the link: %s", error_of(lchown(link, 77, 88)));
    APP_REQUIRE(lstat(link, &st) == 0);
    printf(" link %u %u", (unsigned)st.st_uid, (unsigned)st.st_gid);
    APP_REQUIRE(stat(link, &st) == 0);
    printf(" target %u %u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
    printf("fchownat AT_SYMLINK_NOFOLLOW: %s", error_of(fchownat(AT_FDCWD, link, 99, -1, AT_SYMLINK_NOFOLLOW)));
    APP_REQUIRE(lstat(link, &st) == 0);
    printf(" link %u\n", (unsigned)st.st_uid);
    printf("fchownat AT_EMPTY_PATH: %s", error_of(fchownat(fd, "", 5, 6, AT_EMPTY_PATH)));
    APP_REQUIRE(stat(file, &st) == 0);
    printf(" %u %u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
    printf("fchownat unknown flag: %s\n", error_of(fchownat(AT_FDCWD, file, 0, 0, 0x4)));
    printf("fchownat empty path without AT_EMPTY_PATH: %s\n", error_of(fchownat(fd, "", 0, 0, 0)));
    printf("chown missing: %s\n", error_of(chown("/no/such/file", 0, 0)));
    printf("chown bad path: %s\n", error_of(chown(bad, 0, 0)));
    printf("fchown bad descriptor: %s\n", error_of(fchown(-1, 0, 0)));
    printf("fchown O_PATH: %s\n", error_of(syscall(SYS_fchown, opath, 0, 0)));
    APP_REQUIRE(chown(file, 0, 0) == 0);
    close(opath), close(dfd), close(fd);
}

static void xattr_calls(void) {
    char file[600], link[600], buf[64];
    path_in(file, sizeof file, "modes");
    path_in(link, sizeof link, "modes_link");
    int fd = open(file, O_RDWR);
    int opath = open(file, O_PATH);
    printf("getxattr absent user name: %s\n", error_of(getxattr(file, "user.mica_absent", buf, sizeof buf)));
    printf("lgetxattr security.selinux: %s\n", error_of(lgetxattr(file, "security.selinux", buf, sizeof buf)));
    printf("lgetxattr on a symlink: %s\n", error_of(lgetxattr(link, "security.selinux", buf, sizeof buf)));
    printf("fgetxattr absent: %s\n", error_of(fgetxattr(fd, "user.mica_absent", buf, sizeof buf)));
    printf("getxattr unknown namespace: %s\n", error_of(getxattr(file, "mica.name", buf, sizeof buf)));
    printf("getxattr on /proc: %s\n", error_of(getxattr("/proc/self/maps", "user.x", buf, sizeof buf)));
    printf("getxattr empty name: %s\n", error_of(getxattr(file, "", buf, sizeof buf)));
    printf("getxattr 256-byte name: %s\n", error_of(getxattr(file, bad_name, buf, sizeof buf)));
    printf("getxattr bad name: %s\n", error_of(syscall(SYS_getxattr, file, bad, buf, sizeof buf)));
    printf("getxattr bad path: %s\n", error_of(syscall(SYS_getxattr, bad, "user.x", buf, sizeof buf)));
    printf("getxattr missing file: %s\n", error_of(getxattr("/no/such/file", "user.x", buf, sizeof buf)));
    printf("getxattr bad value buffer: %s\n", error_of(syscall(SYS_getxattr, file, "user.mica_absent", bad, 64)));
    printf("fgetxattr bad descriptor: %s\n", error_of(fgetxattr(-1, "user.x", buf, sizeof buf)));
    printf("fgetxattr O_PATH: %s\n", error_of(fgetxattr(opath, "user.x", buf, sizeof buf)));
    printf("listxattr: %s\n", error_of(listxattr(file, buf, sizeof buf)));
    printf("listxattr size query: %s\n", error_of(listxattr(file, NULL, 0)));
    printf("llistxattr: %s\n", error_of(llistxattr(link, buf, sizeof buf)));
    printf("flistxattr: %s\n", error_of(flistxattr(fd, buf, sizeof buf)));
    printf("listxattr missing: %s\n", error_of(listxattr("/no/such/file", buf, sizeof buf)));
    printf("flistxattr bad descriptor: %s\n", error_of(flistxattr(-1, buf, sizeof buf)));
    long r = setxattr(file, "user.mica_test", "v", 1, 0);
    printf("setxattr user.*: stored or EOPNOTSUPP: %s\n", yes_no(r == 0 || errno == EOPNOTSUPP));
    printf("setxattr unknown flags: %s\n", error_of(setxattr(file, "user.x", "v", 1, 4)));
    printf("setxattr empty name: %s\n", error_of(setxattr(file, "", "v", 1, 0)));
    static char big[65537];
    printf("setxattr too large: %s\n", error_of(setxattr(file, "user.x", big, sizeof big, 0)));
    printf("setxattr bad value: %s\n", error_of(syscall(SYS_setxattr, file, "user.x", bad, 4, 0)));
    printf("setxattr bad name: %s\n", error_of(syscall(SYS_setxattr, file, bad, "v", 1, 0)));
    printf("setxattr missing file: %s\n", error_of(setxattr("/no/such/file", "user.x", "v", 1, 0)));
    printf("lsetxattr user.* on a symlink: %s\n", error_of(lsetxattr(link, "user.x", "v", 1, 0)));
    printf("fsetxattr bad descriptor: %s\n", error_of(fsetxattr(-1, "user.x", "v", 1, 0)));
    printf("removexattr absent: %s\n", error_of(removexattr(file, "user.mica_absent")));
    printf("removexattr unknown namespace: %s\n", error_of(removexattr(file, "mica.name")));
    printf("lremovexattr missing: %s\n", error_of(lremovexattr("/no/such/file", "user.x")));
    printf("fremovexattr bad descriptor: %s\n", error_of(fremovexattr(-1, "user.x")));
    if (r == 0) removexattr(file, "user.mica_test");
    close(opath), close(fd);
}

static long fadvise(int fd, long offset, long length, int advice) {
    return syscall(SYS_fadvise64, fd, offset, length, advice);
}

static void fadvise_calls(void) {
    int fd = make_file("advice", "data");
    int p[2];
    APP_REQUIRE(pipe(p) == 0);
    printf("fadvise64 sequential: %s\n", error_of(fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)));
    printf("fadvise64 dontneed: %s\n", error_of(fadvise(fd, 0, 4096, POSIX_FADV_DONTNEED)));
    printf("fadvise64 unknown advice: %s\n", error_of(fadvise(fd, 0, 0, 99)));
    printf("fadvise64 negative length: %s\n", error_of(fadvise(fd, 0, -1, POSIX_FADV_NORMAL)));
    printf("fadvise64 pipe: %s\n", error_of(fadvise(p[0], 0, 0, POSIX_FADV_NORMAL)));
    printf("fadvise64 bad descriptor: %s\n", error_of(fadvise(-1, 0, 0, POSIX_FADV_NORMAL)));
    close(p[0]), close(p[1]), close(fd);
}

static void memory_calls(void) {
    long page = 4096;
    char* m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(m != MAP_FAILED);
    m[0] = 1;
    m[2 * page] = 1;
    unsigned char vec[4];
    printf("mincore: %s", error_of(mincore(m, 4 * page, vec)));
    printf(" %d%d%d%d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
    printf("mincore partial page length: %s\n", error_of(mincore(m, page + 1, vec)));
    printf("mincore unaligned: %s\n", error_of(mincore(m + 1, page, vec)));
    printf("mincore bad vector: %s\n", error_of(mincore(m, page, bad)));
    printf("msync MS_SYNC: %s\n", error_of(msync(m, 4 * page, MS_SYNC)));
    printf("msync MS_ASYNC|MS_INVALIDATE: %s\n", error_of(msync(m, page, MS_ASYNC | MS_INVALIDATE)));
    printf("msync no flags: %s\n", error_of(msync(m, page, 0)));
    printf("msync zero length: %s\n", error_of(msync(m, 0, MS_SYNC)));
    printf("msync MS_ASYNC|MS_SYNC: %s\n", error_of(msync(m, page, MS_ASYNC | MS_SYNC)));
    printf("msync unknown flag: %s\n", error_of(msync(m, page, 8)));
    printf("msync unaligned: %s\n", error_of(msync(m + 1, page, MS_SYNC)));
    printf("mlock: %s", error_of(mlock(m + page, page)));
    APP_REQUIRE(mincore(m, 4 * page, vec) == 0);
    printf(" resident after: %d\n", vec[1] & 1);
    printf("munlock: %s\n", error_of(munlock(m + page, page)));
    printf("mlock unaligned start: %s\n", error_of(mlock(m + 10, 100)));
    printf("mlock2 MLOCK_ONFAULT: %s\n", error_of(syscall(NR_mlock2, m + 3 * page, page, 1)));
    printf("mlock2 unknown flag: %s\n", error_of(syscall(NR_mlock2, m, page, 2)));
    printf("munlock wrapping length: %s\n", error_of(syscall(SYS_munlock, m, ~0ul)));
    APP_REQUIRE(munmap(m + page, page) == 0);  /* a hole in the middle */
    printf("msync over a hole: %s\n", error_of(msync(m, 4 * page, MS_ASYNC)));
    printf("mincore over a hole: %s\n", error_of(mincore(m, 4 * page, vec)));
    printf("mlock over a hole: %s\n", error_of(mlock(m, 4 * page)));
    printf("munlock over a hole: %s\n", error_of(munlock(m, 4 * page)));
    printf("mincore unmapped: %s\n", error_of(mincore(m + page, page, vec)));
    printf("mlockall no flags: %s\n", error_of(mlockall(0)));
    printf("mlockall MCL_ONFAULT alone: %s\n", error_of(mlockall(MCL_ONFAULT)));
    printf("mlockall unknown flag: %s\n", error_of(mlockall(8)));
    printf("mlockall MCL_CURRENT: %s\n", error_of(mlockall(MCL_CURRENT)));
    printf("munlockall: %s\n", error_of(munlockall()));
    munmap(m, 4 * page);
}

static void membarrier_calls(void) {
    enum { query = 0, global = 1, private_expedited = 8, register_private_expedited = 16, get_registrations = 512 };
    long supported = syscall(NR_membarrier, query, 0, 0);
    printf("membarrier query: has GLOBAL and PRIVATE_EXPEDITED: %s\n",
           yes_no(supported > 0 && (supported & global) && (supported & private_expedited)));
    printf("membarrier query with flags: %s\n", error_of(syscall(NR_membarrier, query, 1, 0)));
    printf("membarrier unknown command: %s\n", error_of(syscall(NR_membarrier, 1 << 20, 0, 0)));
    printf("membarrier private expedited unregistered: %s\n", error_of(syscall(NR_membarrier, private_expedited, 0, 0)));
    printf("membarrier register: %s\n", error_of(syscall(NR_membarrier, register_private_expedited, 0, 0)));
    printf("membarrier private expedited: %s\n", error_of(syscall(NR_membarrier, private_expedited, 0, 0)));
    printf("membarrier global: %s\n", error_of(syscall(NR_membarrier, global, 0, 0)));
    long registered = syscall(NR_membarrier, get_registrations, 0, 0);
    printf("membarrier registrations: %s\n", yes_no(registered > 0 && (registered & register_private_expedited)));
}

static void copy_and_space_calls(void) {
    char path[600];
    int src = make_file("copy_src", "0123456789");
    int dst = make_file("copy_dst", NULL);
    loff_t off_in = 2;
    long n = syscall(NR_copy_file_range, src, &off_in, dst, NULL, 5, 0);
    char buf[32] = {0};
    APP_REQUIRE(pread(dst, buf, sizeof buf - 1, 0) >= 0);
    printf("copy_file_range: %ld \"%s\" off_in %ld dst offset %ld\n", n, buf, (long)off_in, (long)lseek(dst, 0, SEEK_CUR));
    loff_t off_out = 100;
    APP_REQUIRE(lseek(src, 1, SEEK_SET) == 1);
    printf("copy_file_range to an offset: %ld", syscall(NR_copy_file_range, src, NULL, dst, &off_out, 3, 0));
    printf(" off_out %ld src offset %ld\n", (long)off_out, (long)lseek(src, 0, SEEK_CUR));
    off_in = 50;
    printf("copy_file_range past the end: %ld\n", syscall(NR_copy_file_range, src, &off_in, dst, NULL, 5, 0));
    printf("copy_file_range flags: %s\n", error_of(syscall(NR_copy_file_range, src, NULL, dst, NULL, 5, 1)));
    printf("copy_file_range bad descriptor: %s\n", error_of(syscall(NR_copy_file_range, -1, NULL, dst, NULL, 5, 0)));
    printf("copy_file_range bad offset pointer: %s\n", error_of(syscall(NR_copy_file_range, src, bad, dst, NULL, 5, 0)));
    off_in = 0, off_out = 2;
    printf("copy_file_range overlapping: %s\n", error_of(syscall(NR_copy_file_range, src, &off_in, src, &off_out, 5, 0)));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    printf("copy_file_range from a directory: %s\n", error_of(syscall(NR_copy_file_range, dfd, NULL, dst, NULL, 5, 0)));
    int p[2];
    APP_REQUIRE(pipe(p) == 0);
    printf("copy_file_range to a pipe: %s\n", error_of(syscall(NR_copy_file_range, src, NULL, p[1], NULL, 5, 0)));
    path_in(path, sizeof path, "copy_dst");
    int ro = open(path, O_RDONLY), app = open(path, O_WRONLY | O_APPEND);
    printf("copy_file_range to a read-only descriptor: %s\n", error_of(syscall(NR_copy_file_range, src, NULL, ro, NULL, 5, 0)));
    printf("copy_file_range to O_APPEND: %s\n", error_of(syscall(NR_copy_file_range, src, NULL, app, NULL, 5, 0)));
    int mfd = syscall(NR_memfd_create, "copy", 0);
    printf("copy_file_range across filesystems: %s\n", error_of(syscall(NR_copy_file_range, src, NULL, mfd, NULL, 5, 0)));

    int f = make_file("space", "abcdefgh");
    struct stat st;
    printf("fallocate: %s", error_of(fallocate(f, 0, 0, 8192)));
    APP_REQUIRE(fstat(f, &st) == 0);
    printf(" size %ld\n", (long)st.st_size);
    printf("fallocate KEEP_SIZE: %s", error_of(fallocate(f, FALLOC_FL_KEEP_SIZE, 8192, 8192)));
    APP_REQUIRE(fstat(f, &st) == 0);
    printf(" size %ld\n", (long)st.st_size);
    printf("fallocate PUNCH_HOLE: %s", error_of(fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3)));
    APP_REQUIRE(pread(f, buf, 8, 0) == 8);
    printf(" %d%d%d%d%d%d size %ld\n", buf[0] == 'a', buf[1] == 'b', buf[2] == 0, buf[4] == 0, buf[5] == 'f',
           buf[7] == 'h', (long)lseek(f, 0, SEEK_END));
    printf("fallocate PUNCH_HOLE without KEEP_SIZE: %s\n", error_of(fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 4)));
    printf("fallocate unknown mode: %s\n", error_of(fallocate(f, 0x100, 0, 4)));
    printf("fallocate zero length: %s\n", error_of(fallocate(f, 0, 0, 0)));
    printf("fallocate negative offset: %s\n", error_of(fallocate(f, 0, -1, 4)));
    printf("fallocate read-only descriptor: %s\n", error_of(fallocate(ro, 0, 0, 4)));
    printf("fallocate pipe: %s\n", error_of(fallocate(p[1], 0, 0, 4)));
    int null = open("/dev/null", O_WRONLY);
    printf("fallocate /dev/null: %s\n", error_of(fallocate(null, 0, 0, 4)));
    printf("fallocate bad descriptor: %s\n", error_of(fallocate(-1, 0, 0, 4)));
    printf("fallocate memfd: %s\n", error_of(fallocate(mfd, 0, 0, 4096)));

    printf("flock LOCK_EX: %s\n", error_of(flock(f, LOCK_EX)));
    printf("flock LOCK_SH|LOCK_NB: %s\n", error_of(flock(f, LOCK_SH | LOCK_NB)));
    printf("flock LOCK_UN: %s\n", error_of(flock(f, LOCK_UN)));
    printf("flock no operation: %s\n", error_of(flock(f, 0)));
    printf("flock LOCK_SH|LOCK_EX: %s\n", error_of(flock(f, LOCK_SH | LOCK_EX)));
    printf("flock bad descriptor: %s\n", error_of(flock(-1, LOCK_EX)));
    int opath = open(path, O_PATH);
    printf("flock O_PATH: %s\n", error_of(flock(opath, LOCK_EX)));
    sync();
    printf("sync: ok\n");
    printf("syncfs: %s\n", error_of(syncfs(f)));
    printf("syncfs bad descriptor: %s\n", error_of(syncfs(-1)));
    close(opath), close(null), close(mfd), close(ro), close(app), close(p[0]), close(p[1]), close(dfd), close(f);
    close(src), close(dst);
}

static void close_range_calls(void) {
    int fd = make_file("range", NULL);
    for (int i = 100; i <= 102; ++i) APP_REQUIRE(dup2(fd, i) == i);
    printf("close_range 100-101: %s", error_of(syscall(SYS_close_range, 100, 101, 0)));
    printf(" 100 %s 101 %s 102 %s\n", error_of(fcntl(100, F_GETFD)), error_of(fcntl(101, F_GETFD)),
           error_of(fcntl(102, F_GETFD)));
    printf("close_range CLOEXEC 102-max: %s", error_of(syscall(SYS_close_range, 102, ~0u, 4)));
    printf(" close-on-exec %s\n", yes_no(fcntl(102, F_GETFD) == FD_CLOEXEC));
    printf("close_range unknown flag: %s\n", error_of(syscall(SYS_close_range, 102, 102, 8)));
    printf("close_range first past last: %s\n", error_of(syscall(SYS_close_range, 102, 101, 0)));
    printf("close_range nothing open: %s\n", error_of(syscall(SYS_close_range, 500, 600, 0)));
    close(102), close(fd);
}

static void memfd_calls(void) {
    int fd = syscall(NR_memfd_create, "mica", MFD_CLOEXEC);
    struct stat st;
    APP_REQUIRE(fd >= 0 && fstat(fd, &st) == 0);
    printf("memfd_create: regular %s mode %o links %ld size %ld close-on-exec %s\n", yes_no(S_ISREG(st.st_mode)),
           st.st_mode & 07777, (long)st.st_nlink, (long)st.st_size, yes_no(fcntl(fd, F_GETFD) == FD_CLOEXEC));
    char buf[8] = {0};
    APP_REQUIRE(write(fd, "memory", 6) == 6 && pread(fd, buf, 6, 0) == 6);
    printf("memfd data: %s ftruncate: %s", buf, error_of(ftruncate(fd, 10000)));
    APP_REQUIRE(fstat(fd, &st) == 0);
    printf(" size %ld\n", (long)st.st_size);
    struct statfs sf;
    long r = fstatfs(fd, &sf);
    printf("memfd fstatfs: %s %s\n", error_of(r), fs_name(sf.f_type));
    int noexec = syscall(NR_memfd_create, "mica", 8 /* MFD_NOEXEC_SEAL */);
    APP_REQUIRE(noexec >= 0 && fstat(noexec, &st) == 0);
    printf("memfd MFD_NOEXEC_SEAL mode %o\n", st.st_mode & 07777);
    char name[300];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    int long_fd = syscall(NR_memfd_create, name, 0);
    printf("memfd 249-byte name: %s\n", error_of(long_fd));
    name[249] = 'n', name[250] = 0;
    printf("memfd 250-byte name: %s\n", error_of(syscall(NR_memfd_create, name, 0)));
    printf("memfd unknown flag: %s\n", error_of(syscall(NR_memfd_create, "x", 0x100)));
    printf("memfd EXEC with NOEXEC_SEAL: %s\n", error_of(syscall(NR_memfd_create, "x", 0x18)));
    printf("memfd bad name: %s\n", error_of(syscall(NR_memfd_create, bad, 0)));
    close(long_fd), close(noexec), close(fd);
}

/* Burns about `ms` milliseconds of CPU time. */
static void burn(long ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile unsigned long x = 0;
    do {
        for (int i = 0; i < 100000; ++i) x += i;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static long cpu_us(const struct rusage* r) {
    return (r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000L + r->ru_utime.tv_usec + r->ru_stime.tv_usec;
}

static void usage_calls(void) {
    struct rusage before, after, children, thread;
    printf("getrusage self: %s", error_of(getrusage(RUSAGE_SELF, &before)));
    printf(" maxrss > 0: %s\n", yes_no(before.ru_maxrss > 0));
    burn(60);
    APP_REQUIRE(getrusage(RUSAGE_SELF, &after) == 0);
    printf("getrusage self grew: %s\n", yes_no(cpu_us(&after) > cpu_us(&before)));
    long r = getrusage(RUSAGE_THREAD, &thread);
    printf("getrusage thread: %s %s\n", error_of(r), yes_no(cpu_us(&thread) > 0));
    r = getrusage(RUSAGE_CHILDREN, &children);
    printf("getrusage children before any: %s %ld\n", error_of(r), cpu_us(&children));
    struct tms t0, t1;
    APP_REQUIRE(times(&t0) != (clock_t)-1);
    pid_t child = fork();
    if (child == 0) {
        burn(150);
        _exit(0);
    }
    int status;
    struct rusage waited;
    printf("wait4 with usage: %s", error_of(wait4(child, &status, 0, &waited) == child ? 0 : -1));
    printf(" child's time > 0: %s\n", yes_no(cpu_us(&waited) > 0));
    APP_REQUIRE(getrusage(RUSAGE_CHILDREN, &children) == 0);
    printf("getrusage children after: %s\n", yes_no(cpu_us(&children) > 0));
    clock_t ticks = times(&t1);
    printf("times: %s children ticks > 0: %s own ticks grew: %s\n", yes_no(ticks != (clock_t)-1),
           yes_no(t1.tms_cutime + t1.tms_cstime > 0), yes_no(t1.tms_utime + t1.tms_stime >= t0.tms_utime + t0.tms_stime));
    printf("times null: %s\n", yes_no(syscall(SYS_times, NULL) != -1));
    printf("times bad buffer: %s\n", error_of(syscall(SYS_times, bad)));
    printf("getrusage unknown who: %s\n", error_of(getrusage(5, &before)));
    printf("getrusage bad buffer: %s\n", error_of(syscall(SYS_getrusage, RUSAGE_SELF, bad)));
}

static void limit_calls(void) {
    struct rlimit old, now;
    APP_REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    struct rlimit low = {32, old.rlim_max};
    printf("setrlimit NOFILE 32: %s", error_of(setrlimit(RLIMIT_NOFILE, &low)));
    APP_REQUIRE(getrlimit(RLIMIT_NOFILE, &now) == 0);
    printf(" soft %ld hard unchanged %s\n", (long)now.rlim_cur, yes_no(now.rlim_max == old.rlim_max));
    int last = -1, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) last = fd;
    printf("descriptors stop below the limit: %s %s\n", yes_no(last == 31), errno_name(errno));
    for (int i = 3; i <= last; ++i) {
        if (i >= 3) close(i);
    }
    printf("dup2 past the limit: %s\n", error_of(dup2(0, 40)));
    printf("F_DUPFD past the limit: %s\n", error_of(fcntl(0, F_DUPFD, 40)));
    printf("setrlimit back: %s\n", error_of(setrlimit(RLIMIT_NOFILE, &old)));
    struct rlimit inverted = {10, 5};
    printf("setrlimit soft above hard: %s\n", error_of(setrlimit(RLIMIT_CORE, &inverted)));
    struct rlimit too_many = {old.rlim_cur, 1ul << 30};
    printf("setrlimit NOFILE beyond nr_open: %s\n", error_of(setrlimit(RLIMIT_NOFILE, &too_many)));
    printf("getrlimit unknown resource: %s\n", error_of(syscall(SYS_getrlimit, 99, &now)));
    printf("setrlimit bad pointer: %s\n", error_of(syscall(SYS_setrlimit, RLIMIT_CORE, bad)));
    printf("getrlimit bad pointer: %s\n", error_of(syscall(SYS_getrlimit, RLIMIT_CORE, bad)));
    struct rlimit core = {0, 0}, prev;
    printf("prlimit CORE 0 0: %s", error_of(syscall(SYS_prlimit64, 0, RLIMIT_CORE, &core, &prev)));
    APP_REQUIRE(getrlimit(RLIMIT_CORE, &now) == 0);
    printf(" now %ld %ld\n", (long)now.rlim_cur, (long)now.rlim_max);
    printf("prlimit no such process: %s\n", error_of(syscall(SYS_prlimit64, 999999, RLIMIT_CORE, NULL, &prev)));
    printf("prlimit own pid: %s\n", error_of(syscall(SYS_prlimit64, getpid(), RLIMIT_STACK, NULL, &prev)));
    pid_t child = fork();
    if (child == 0) {
        APP_REQUIRE(getrlimit(RLIMIT_CORE, &now) == 0);
        printf("child inherits limits: %s\n", yes_no(now.rlim_cur == 0 && now.rlim_max == 0));
        _exit(0);
    }
    int status;
    APP_REQUIRE(waitpid(child, &status, 0) == child);
}

static void print_ids(const char* what) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    APP_REQUIRE(getresuid(&r, &e, &s) == 0 && getresgid(&gr, &ge, &gs) == 0);
    printf("%s: uids %u %u %u gids %u %u %u\n", what, r, e, s, gr, ge, gs);
}

struct cap_header {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t effective, permitted, inheritable;
};
#define CAP_V3 0x20080522

static int capget_sets(struct cap_data data[2]) {
    struct cap_header h = {CAP_V3, 0};
    return syscall(SYS_capget, &h, data);
}
static int has_cap(uint32_t set_low, uint32_t set_high, int cap) {
    return cap < 32 ? (set_low >> cap) & 1 : (set_high >> (cap - 32)) & 1;
}

static void credential_calls(void) {
    pid_t child = fork();
    if (child == 0) {
        print_ids("start");
        printf("getuid geteuid getgid getegid: %d %d %d %d\n", getuid(), geteuid(), getgid(), getegid());
        gid_t groups[4] = {30, 10, 20}, got[8];
        printf("setgroups: %s", error_of(setgroups(3, groups)));
        int n = getgroups(8, got);
        printf(" getgroups %d: %u %u %u\n", n, got[0], got[1], got[2]);
        printf("getgroups count: %d\n", getgroups(0, NULL));
        printf("getgroups too small: %s\n", error_of(getgroups(1, got)));
        printf("getgroups negative: %s\n", error_of(syscall(SYS_getgroups, -1, got)));
        printf("getgroups bad buffer: %s\n", error_of(syscall(SYS_getgroups, 8, bad)));
        printf("setgroups too many: %s\n", error_of(syscall(SYS_setgroups, 65537, groups)));
        printf("setgroups bad list: %s\n", error_of(syscall(SYS_setgroups, 2, bad)));
        printf("setgid 100: %s\n", error_of(syscall(SYS_setgid, 100)));
        print_ids("  ");
        printf("setregid 200 -1: %s\n", error_of(syscall(SYS_setregid, 200, -1)));
        print_ids("  ");
        printf("setresgid -1 -1 300: %s\n", error_of(syscall(SYS_setresgid, -1, -1, 300)));
        print_ids("  ");
        long first = syscall(SYS_setfsgid, 400);
        printf("setfsgid 400 returns %ld, then %ld\n", first, syscall(SYS_setfsgid, -1));
        printf("setuid -1: %s\n", error_of(syscall(SYS_setuid, -1)));
        printf("getresuid bad pointer: %s\n", error_of(syscall(SYS_getresuid, bad, bad, bad)));
        struct cap_data caps[2];
        printf("setresuid 1000 1000 0: %s\n", error_of(syscall(SYS_setresuid, 1000, 1000, 0)));
        print_ids("  ");
        APP_REQUIRE(capget_sets(caps) == 0);
        printf("  capabilities: effective none %s, permitted CAP_SETUID %s\n",
               yes_no(caps[0].effective == 0 && caps[1].effective == 0), yes_no(has_cap(caps[0].permitted, caps[1].permitted, 7)));
        printf("setuid 2000 unprivileged: %s\n", error_of(syscall(SYS_setuid, 2000)));
        printf("setreuid -1 1000: %s\n", error_of(syscall(SYS_setreuid, -1, 1000)));
        printf("setresuid -1 0 -1 (the saved id): %s\n", error_of(syscall(SYS_setresuid, -1, 0, -1)));
        print_ids("  ");
        APP_REQUIRE(capget_sets(caps) == 0);
        printf("  capabilities: effective CAP_SETUID %s\n", yes_no(has_cap(caps[0].effective, caps[1].effective, 7)));
        first = syscall(SYS_setfsuid, 55);
        printf("setfsuid 55 returns %ld, then %ld\n", first, syscall(SYS_setfsuid, 0));
        printf("setuid 3000: %s\n", error_of(syscall(SYS_setuid, 3000)));
        print_ids("  ");
        APP_REQUIRE(capget_sets(caps) == 0);
        printf("  capabilities: permitted none %s\n", yes_no(caps[0].permitted == 0 && caps[1].permitted == 0));
        printf("setuid 0 afterwards: %s\n", error_of(syscall(SYS_setuid, 0)));
        printf("setgroups without CAP_SETGID: %s\n", error_of(setgroups(1, groups)));
        first = syscall(SYS_setfsuid, 0);
        printf("setfsuid 0 unprivileged returns %ld, then %ld\n", first, syscall(SYS_setfsuid, -1));
        _exit(0);
    }
    int status;
    APP_REQUIRE(waitpid(child, &status, 0) == child && WIFEXITED(status));
}

static void capability_calls(void) {
    struct cap_header h = {CAP_V3, 0};
    struct cap_data caps[2] = {{0}};
    long r = syscall(SYS_capget, &h, caps);
    printf("capget: %s CAP_CHOWN effective %s\n", error_of(r), yes_no(has_cap(caps[0].effective, caps[1].effective, 0)));
    h.version = 0;
    printf("capget version probe: %s", error_of(syscall(SYS_capget, &h, NULL)));
    printf(" version %#x\n", h.version);
    h.version = 0;
    printf("capget unknown version: %s\n", error_of(syscall(SYS_capget, &h, caps)));
    h = (struct cap_header){CAP_V3, -1};
    printf("capget negative pid: %s\n", error_of(syscall(SYS_capget, &h, caps)));
    h.pid = 999999;
    printf("capget no such process: %s\n", error_of(syscall(SYS_capget, &h, caps)));
    printf("capget bad header: %s\n", error_of(syscall(SYS_capget, bad, caps)));
    h.pid = 0;
    printf("capget bad data: %s\n", error_of(syscall(SYS_capget, &h, bad)));
    pid_t child = fork();
    if (child == 0) {
        enum { cap_net_raw = 13 };
        h.pid = getppid();
        printf("capset another process: %s\n", error_of(syscall(SYS_capset, &h, caps)));
        struct cap_header me = {CAP_V3, 0};
        struct cap_data d[2];
        APP_REQUIRE(syscall(SYS_capget, &me, d) == 0);
        d[0].effective &= ~(1u << cap_net_raw);
        printf("capset drop CAP_NET_RAW from effective: %s", error_of(syscall(SYS_capset, &me, d)));
        APP_REQUIRE(syscall(SYS_capget, &me, d) == 0);
        printf(" effective %s permitted %s\n", yes_no(has_cap(d[0].effective, d[1].effective, cap_net_raw)),
               yes_no(has_cap(d[0].permitted, d[1].permitted, cap_net_raw)));
        d[0].effective |= 1u << cap_net_raw;
        printf("capset raise it again: %s\n", error_of(syscall(SYS_capset, &me, d)));
        d[0].effective &= ~(1u << cap_net_raw);
        d[0].permitted &= ~(1u << cap_net_raw);
        printf("capset drop it from permitted: %s\n", error_of(syscall(SYS_capset, &me, d)));
        d[0].permitted |= 1u << cap_net_raw;
        printf("capset raise permitted: %s\n", error_of(syscall(SYS_capset, &me, d)));
        d[0].permitted &= ~(1u << cap_net_raw);
        d[0].effective |= 1u << cap_net_raw;
        printf("capset effective beyond permitted: %s\n", error_of(syscall(SYS_capset, &me, d)));
        _exit(0);
    }
    int status;
    APP_REQUIRE(waitpid(child, &status, 0) == child);
}

/* musl's sched_* wrappers answer ENOSYS without asking the kernel: the system calls. */
static long set_scheduler(int policy, struct sched_param* param) {
    return syscall(SYS_sched_setscheduler, 0, policy, param);
}
static long get_scheduler(void) { return syscall(SYS_sched_getscheduler, 0); }

/* execve of a file without set-id bits: run as "linux_calls exec-check", it reports what
   the kernel left it. */
static void exec_check(void) {
    struct cap_data caps[2];
    APP_REQUIRE(capget_sets(caps) == 0);
    print_ids("  after execve");
    printf("  after execve: CAP_NET_RAW effective %s permitted %s\n", yes_no(has_cap(caps[0].effective, caps[1].effective, 13)),
           yes_no(has_cap(caps[0].permitted, caps[1].permitted, 13)));
}

static void run_exec_check(void) {
    char* const argv[] = {"linux_calls", "exec-check", NULL};
    execv("/proc/self/exe", argv);
    printf("execv: %s\n", errno_name(errno));
    _exit(1);
}

static void exec_credential_calls(void) {
    pid_t child = fork();
    if (child == 0) {  /* root drops a capability, then execs: root gets it back */
        struct cap_header me = {CAP_V3, 0};
        struct cap_data d[2];
        APP_REQUIRE(syscall(SYS_capget, &me, d) == 0);
        d[0].effective &= ~(1u << 13);
        d[0].permitted &= ~(1u << 13);
        printf("root without CAP_NET_RAW execs: %s\n", error_of(syscall(SYS_capset, &me, d)));
        run_exec_check();
    }
    int status;
    APP_REQUIRE(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    child = fork();
    if (child == 0) {  /* not root but for the saved uid: execve makes that the effective one */
        printf("uids 1000 1000 0 exec: %s\n", error_of(syscall(SYS_setresuid, 1000, 1000, 0)));
        run_exec_check();
    }
    APP_REQUIRE(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void priority_calls(void) {
    pid_t child = fork();
    if (child == 0) {
        printf("setpriority 5: %s", error_of(setpriority(PRIO_PROCESS, 0, 5)));
        printf(" raw getpriority %ld\n", syscall(SYS_getpriority, PRIO_PROCESS, 0));
        printf("setpriority 3 (more priority): %s", error_of(setpriority(PRIO_PROCESS, getpid(), 3)));
        printf(" %ld\n", syscall(SYS_getpriority, PRIO_PROCESS, 0));
        printf("setpriority 100 (clamped): %s", error_of(setpriority(PRIO_PROCESS, 0, 100)));
        printf(" %ld\n", syscall(SYS_getpriority, PRIO_PROCESS, 0));
        printf("getpriority unknown which: %s\n", error_of(syscall(SYS_getpriority, 7, 0)));
        printf("setpriority unknown which: %s\n", error_of(setpriority(7, 0, 0)));
        printf("getpriority no such process: %s\n", error_of(syscall(SYS_getpriority, PRIO_PROCESS, 999999)));
        printf("setpriority no such process: %s\n", error_of(setpriority(PRIO_PROCESS, 999999, 0)));
        pid_t grandchild = fork();
        if (grandchild == 0) {
            printf("nice is inherited: %ld\n", syscall(SYS_getpriority, PRIO_PROCESS, 0));
            _exit(0);
        }
        int status;
        APP_REQUIRE(waitpid(grandchild, &status, 0) == grandchild);

        struct sched_param param = {0};
        printf("sched_getscheduler: %ld\n", get_scheduler());
        printf("SCHED_BATCH: %s", error_of(set_scheduler(SCHED_BATCH, &param)));
        printf(" now %ld\n", get_scheduler());
        printf("SCHED_IDLE: %s", error_of(set_scheduler(SCHED_IDLE, &param)));
        printf(" now %ld\n", get_scheduler());
        printf("SCHED_OTHER with SCHED_RESET_ON_FORK: %s", error_of(set_scheduler(SCHED_OTHER | SCHED_RESET_ON_FORK, &param)));
        printf(" now %#lx\n", get_scheduler());
        printf("sched_setparam 0: %s\n", error_of(syscall(SYS_sched_setparam, 0, &param)));
        param.sched_priority = 10;
        long fifo = set_scheduler(SCHED_FIFO, &param);
        printf("SCHED_FIFO 10: ok or EPERM: %s\n", yes_no(fifo == 0 || errno == EPERM));
        param.sched_priority = 0;
        set_scheduler(SCHED_OTHER, &param);
        printf("SCHED_FIFO priority 0: %s\n", error_of(set_scheduler(SCHED_FIFO, &param)));
        param.sched_priority = 1;
        printf("SCHED_OTHER priority 1: %s\n", error_of(set_scheduler(SCHED_OTHER, &param)));
        param.sched_priority = 100;
        printf("SCHED_RR priority 100: %s\n", error_of(set_scheduler(SCHED_RR, &param)));
        param.sched_priority = 0;
        printf("unknown policy: %s\n", error_of(set_scheduler(99, &param)));
        printf("SCHED_DEADLINE through sched_setscheduler: %s\n", error_of(set_scheduler(6, &param)));
        printf("sched_setscheduler null param: %s\n", error_of(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL)));
        printf("sched_setscheduler bad param: %s\n", error_of(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, bad)));
        printf("sched_setscheduler negative pid: %s\n", error_of(syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &param)));
        printf("sched_setscheduler no such process: %s\n", error_of(syscall(SYS_sched_setscheduler, 999999, SCHED_OTHER, &param)));
        printf("sched_getscheduler negative pid: %s\n", error_of(syscall(SYS_sched_getscheduler, -1)));
        printf("sched_getscheduler no such process: %s\n", error_of(syscall(SYS_sched_getscheduler, 999999)));
        param.sched_priority = 7;
        long r = syscall(SYS_sched_getparam, 0, &param);
        printf("sched_getparam: %s %d\n", error_of(r), param.sched_priority);
        printf("sched_getparam null: %s\n", error_of(syscall(SYS_sched_getparam, 0, NULL)));
        printf("sched_getparam bad buffer: %s\n", error_of(syscall(SYS_sched_getparam, 0, bad)));
        printf("priority ranges: FIFO %d-%d RR %d-%d OTHER %d-%d BATCH %d-%d IDLE %d-%d\n",
               sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO), sched_get_priority_min(SCHED_RR),
               sched_get_priority_max(SCHED_RR), sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER),
               sched_get_priority_min(SCHED_BATCH), sched_get_priority_max(SCHED_BATCH),
               sched_get_priority_min(SCHED_IDLE), sched_get_priority_max(SCHED_IDLE));
        printf("priority range of an unknown policy: %s\n", error_of(sched_get_priority_max(99)));
        struct timespec ts;
        printf("sched_rr_get_interval: %s\n", error_of(sched_rr_get_interval(0, &ts)));
        printf("sched_rr_get_interval negative pid: %s\n", error_of(syscall(SYS_sched_rr_get_interval, -1, &ts)));
        _exit(0);
    }
    int status;
    APP_REQUIRE(waitpid(child, &status, 0) == child);
}

static void cpu_and_personality_calls(void) {
    unsigned cpu = 12345, node = 12345;
    printf("getcpu: %s", error_of(syscall(SYS_getcpu, &cpu, &node, NULL)));
    printf(" cpu in range %s node %u\n", yes_no(cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF)), node);
    printf("getcpu null pointers: %s\n", error_of(syscall(SYS_getcpu, NULL, NULL, NULL)));
    printf("getcpu bad pointer: %s\n", error_of(syscall(SYS_getcpu, bad, NULL, NULL)));
    printf("personality query: %#x\n", personality(0xffffffff));
    printf("personality ADDR_NO_RANDOMIZE: old %#x", personality(PER_LINUX | ADDR_NO_RANDOMIZE));
    printf(" now %#x\n", personality(0xffffffff));
    printf("personality back: old %#x\n", personality(PER_LINUX));
}

/* futimesat, utimes and utime exist on x86_64 only: elsewhere the same lines come from
   utimensat, so every architecture prints the same. */
static void utimes_calls(void) {
    char file[600];
    int fd = make_file("times", NULL);
    path_in(file, sizeof file, "times");
    struct stat st;
#ifdef SYS_futimesat
    struct timeval tv[2] = {{1000000, 5}, {2000000, 7}};
    long r = syscall(SYS_futimesat, AT_FDCWD, file, tv);
#else
    struct timespec ts[2] = {{1000000, 5000}, {2000000, 7000}};
    long r = utimensat(AT_FDCWD, file, ts, 0);
#endif
    APP_REQUIRE(stat(file, &st) == 0);
    printf("futimesat: %s mtime %ld.%09ld atime %ld.%09ld\n", error_of(r), (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
           (long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
#ifdef SYS_futimesat
    tv[1].tv_usec = 1000000;
    r = syscall(SYS_futimesat, AT_FDCWD, file, tv);
#else
    ts[1].tv_nsec = 1000000000;
    r = utimensat(AT_FDCWD, file, ts, 0);
#endif
    printf("futimesat microseconds out of range: %s\n", error_of(r));
#ifdef SYS_utime
    struct { long actime, modtime; } times_buf = {3000000, 4000000};
    r = syscall(SYS_utime, file, &times_buf);
#else
    struct timespec whole[2] = {{3000000, 0}, {4000000, 0}};
    r = utimensat(AT_FDCWD, file, whole, 0);
#endif
    APP_REQUIRE(stat(file, &st) == 0);
    printf("utime: %s mtime %ld atime %ld\n", error_of(r), (long)st.st_mtim.tv_sec, (long)st.st_atim.tv_sec);
#ifdef SYS_utimes
    r = syscall(SYS_utimes, file, bad);
#else
    r = syscall(SYS_utimensat, AT_FDCWD, file, bad, 0);
#endif
    printf("utimes bad times: %s\n", error_of(r));
    close(fd);
}

/* clone3 as glibc's posix_spawn tries it first: a fork-like child here, and its checks. */
static void clone3_calls(void) {
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
            cgroup, beyond;
    } args = {0};
    args.exit_signal = SIGCHLD;
    long pid = syscall(NR_clone3, &args, 88);
    if (pid == 0) syscall(SYS_exit_group, 7);
    int status = 0;
    printf("clone3 fork: %s", error_of(pid));
    printf(" child exit status %d\n", pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("clone3 size too small: %s\n", error_of(syscall(NR_clone3, &args, 56)));
    printf("clone3 size past a page: %s\n", error_of(syscall(NR_clone3, &args, 4097)));
    args.beyond = 1;
    printf("clone3 unknown field set: %s\n", error_of(syscall(NR_clone3, &args, sizeof args)));
    args.beyond = 0;
    printf("clone3 bad pointer: %s\n", error_of(syscall(NR_clone3, bad, 88)));
    args.exit_signal = 100;
    printf("clone3 bad exit signal: %s\n", error_of(syscall(NR_clone3, &args, 88)));
    args.exit_signal = SIGCHLD;
    args.stack = 4096;
    printf("clone3 stack without a size: %s\n", error_of(syscall(NR_clone3, &args, 88)));
    args.stack = 0;
    args.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    printf("clone3 thread with an exit signal: %s\n", error_of(syscall(NR_clone3, &args, 88)));
    args.flags = 0x11;  /* a signal number in the flags, as only clone takes it */
    args.exit_signal = 0;
    printf("clone3 signal in the flags: %s\n", error_of(syscall(NR_clone3, &args, 88)));
}

int main(int argc, char** argv) {
    app_test_init();
    if (argc > 1 && strcmp(argv[1], "exec-check") == 0) {
        exec_check();
        return 0;
    }
    const char* tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/linux_calls", tmp ? tmp : "/tmp");
    mkdir(dir, 0755);
    memset(bad_name, 'u', 256);
    memcpy(bad_name, "user.", 5);
    bad_name[256] = 0;
    umask(022);
    statfs_calls();
    chmod_chown_calls();
    xattr_calls();
    fadvise_calls();
    memory_calls();
    membarrier_calls();
    copy_and_space_calls();
    close_range_calls();
    memfd_calls();
    usage_calls();
    limit_calls();
    credential_calls();
    capability_calls();
    exec_credential_calls();
    priority_calls();
    cpu_and_personality_calls();
    utimes_calls();
    clone3_calls();
    printf("done\n");
    return 0;
}
