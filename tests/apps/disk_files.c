/* Files of a tree read two ways and described line by line, for tests/apps/disk_root_test.py
 * (the squashfs root on a disk, compared with the host's tree):
 *
 *   disk_files DIR [--readonly]
 *
 * For every entry under DIR, sorted by name, depth first:
 *   d PATH MODE            a directory (permission bits, octal)
 *   l PATH -> TARGET       a symbolic link
 *   f PATH SIZE FNV        a regular file: its FNV-1a 64 of read() in odd-sized chunks, which
 *                          must equal the FNV of an mmap(MAP_PRIVATE) of it (demand paging
 *                          from the page cache); a write to the private mapping must not reach
 *                          the file (read again with pread afterwards)
 * With --readonly: opening a file for writing and creating one must fail with EROFS, and
 * statfs must say ST_RDONLY. Exit status 0, or 1 after printing what went wrong. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int failures;

static void fail(const char* what, const char* path) {
    printf("FAIL %s: %s (%s)\n", what, path, strerror(errno));
    ++failures;
}

static uint64_t fnv(uint64_t h, const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
#define FNV_BASIS 14695981039346656037ull

static void file(const char* full, const char* rel, off_t size) {
    int fd = open(full, O_RDONLY);
    if (fd < 0) return fail("open", full);
    static unsigned char buffer[7919]; /* odd-sized reads cross page and block boundaries */
    uint64_t h = FNV_BASIS;
    off_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0) {
            fail("read", full);
            break;
        }
        if (n == 0) break;
        h = fnv(h, buffer, (size_t)n);
        total += n;
    }
    if (total != size) printf("FAIL size %s: read %lld of %lld\n", full, (long long)total, (long long)size), ++failures;
    if (size > 0) {
        unsigned char* m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            fail("mmap", full);
        } else {
            if (fnv(FNV_BASIS, m, (size_t)size) != h) printf("FAIL mmap %s: bytes differ from read()\n", full), ++failures;
            unsigned char first = m[0];
            m[0] = (unsigned char)(first ^ 0xff); /* private: copied, never written back */
            unsigned char again = 0;
            if (pread(fd, &again, 1, 0) != 1 || again != first) printf("FAIL private write reached %s\n", full), ++failures;
            munmap(m, (size_t)size);
        }
    }
    close(fd);
    printf("f %s %lld %016" PRIx64 "\n", rel, (long long)size, h);
}

static void walk(const char* full, const char* rel) {
    struct dirent** names;
    int n = scandir(full, &names, NULL, alphasort);
    if (n < 0) return fail("scandir", full);
    for (int i = 0; i < n; ++i) {
        const char* name = names[i]->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            free(names[i]);
            continue;
        }
        char child[4096], child_rel[4096];
        snprintf(child, sizeof child, "%s/%s", full, name);
        snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, *rel ? "/" : "", name);
        struct stat st;
        if (lstat(child, &st) != 0) {
            fail("lstat", child);
        } else if (S_ISDIR(st.st_mode)) {
            printf("d %s %o\n", child_rel, (unsigned)(st.st_mode & 07777));
            walk(child, child_rel);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t len = readlink(child, target, sizeof target - 1);
            if (len < 0) {
                fail("readlink", child);
            } else {
                target[len] = '\0';
                printf("l %s -> %s\n", child_rel, target);
            }
        } else if (S_ISREG(st.st_mode)) {
            file(child, child_rel, st.st_size);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: disk_files DIR [--readonly]\n");
        return 2;
    }
    walk(argv[1], "");
    if (argc > 2 && strcmp(argv[2], "--readonly") == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/new-file", argv[1]);
        int fd = open(path, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0 || errno != EROFS) printf("FAIL creating a file: %s\n", fd >= 0 ? "allowed" : strerror(errno)), ++failures;
        struct statvfs vfs;
        if (statvfs(argv[1], &vfs) != 0 || !(vfs.f_flag & ST_RDONLY)) printf("FAIL statvfs: not ST_RDONLY\n"), ++failures;
        printf("readonly checked\n");
    }
    return failures ? 1 : 0;
}
