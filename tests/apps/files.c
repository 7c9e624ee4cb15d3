/* Files and directories under $TMPDIR (default /tmp): open/write/read/lseek/pread/pwrite/
 * fstat/stat, mkdir, rename, unlink, rmdir, dup, and a directory listing (readdir, i.e.
 * getdents64) that the program sorts itself, since directory order is the filesystem's. */
#include "app_test.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];

static const char* path(const char* name) {
    static char buf[4][512];
    static int next;
    char* p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", base, name);
    return p;
}

static int cmp(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

static void list(const char* name) {
    DIR* d = opendir(path(name));
    APP_REQUIRE(d != NULL);
    char* names[64];
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL && n < 64) {
        names[n] = strdup(e->d_name);
        APP_REQUIRE(names[n] != NULL);
        ++n;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("listing of %s (%d entries):", name, n);
    for (int i = 0; i < n; ++i) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void write_all(int fd, const char* s) {
    size_t len = strlen(s);
    APP_REQUIRE(write(fd, s, len) == (ssize_t)len);
}

/* Removes what an interrupted earlier run may have left. */
static void clean(void) {
    static const char* files[] = {"dir/a.txt", "dir/b.txt", "dir/c.txt", "dir/sub/deep.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; ++i) unlink(path(files[i]));
    rmdir(path("dir/sub"));
    rmdir(path("dir/renamed"));
    rmdir(path("dir"));
}

int main(void) {
    app_test_init();
    const char* tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/mica-files", tmp && *tmp ? tmp : "/tmp");
    clean();
    mkdir(base, 0755);

    printf("mkdir dir: %d\n", mkdir(path("dir"), 0755));
    errno = 0;
    int r = mkdir(path("dir"), 0755);
    printf("mkdir dir again: %d, EEXIST: %s\n", r, yes_no(errno == EEXIST));

    int fd = open(path("dir/a.txt"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    APP_REQUIRE(fd >= 0);
    write_all(fd, "hello, ");
    write_all(fd, "ramfs\n");
    printf("lseek(0, SEEK_CUR) after writes: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    APP_REQUIRE(close(fd) == 0);

    fd = open(path("dir/a.txt"), O_RDWR);
    APP_REQUIRE(fd >= 0);
    char buf[128] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    printf("read %zd bytes: %s", n, buf);
    printf("read at end of file: %zd\n", read(fd, buf, sizeof buf));
    printf("lseek(-6, SEEK_END): %ld\n", (long)lseek(fd, -6, SEEK_END));
    memset(buf, 0, sizeof buf);
    n = read(fd, buf, 5);
    printf("read %zd bytes after seek: %s\n", n, buf);
    printf("lseek(2, SEEK_SET): %ld\n", (long)lseek(fd, 2, SEEK_SET));
    write_all(fd, "LL");
    printf("pwrite at 20 (past the end): %zd\n", pwrite(fd, "tail", 4, 20));
    memset(buf, 0, sizeof buf);
    n = pread(fd, buf, sizeof buf, 0);
    printf("pread whole file: %zd bytes:", n);
    for (ssize_t i = 0; i < n; ++i) printf(buf[i] >= ' ' && buf[i] < 127 ? " %c" : " \\%o", buf[i]);
    printf("\n");
    printf("file offset unchanged by pread/pwrite: %ld\n", (long)lseek(fd, 0, SEEK_CUR));

    struct stat st;
    APP_REQUIRE(fstat(fd, &st) == 0);
    printf("fstat: regular %s, size %ld\n", yes_no(S_ISREG(st.st_mode)), (long)st.st_size);
    int fd2 = dup(fd);
    printf("dup shares the offset: %s\n", yes_no(fd2 >= 0 && lseek(fd2, 0, SEEK_CUR) == 4));
    close(fd2);
    close(fd);

    fd = open(path("dir/b.txt"), O_CREAT | O_EXCL | O_WRONLY, 0600);
    APP_REQUIRE(fd >= 0);
    write_all(fd, "second file\n");
    close(fd);
    errno = 0;
    r = open(path("dir/b.txt"), O_CREAT | O_EXCL | O_WRONLY, 0600);
    printf("O_EXCL on an existing file: %d, EEXIST: %s\n", r, yes_no(errno == EEXIST));
    fd = open(path("dir/b.txt"), O_WRONLY | O_APPEND);
    APP_REQUIRE(fd >= 0);
    write_all(fd, "appended\n");
    close(fd);

    printf("mkdir dir/sub: %d\n", mkdir(path("dir/sub"), 0755));
    fd = open(path("dir/sub/deep.txt"), O_CREAT | O_WRONLY, 0644);
    APP_REQUIRE(fd >= 0);
    close(fd);
    APP_REQUIRE(stat(path("dir/sub"), &st) == 0);
    printf("stat dir/sub: directory %s\n", yes_no(S_ISDIR(st.st_mode)));
    list("dir");

    printf("rename b.txt -> c.txt: %d\n", rename(path("dir/b.txt"), path("dir/c.txt")));
    errno = 0;
    r = stat(path("dir/b.txt"), &st);
    printf("stat old name: %d, ENOENT: %s\n", r, yes_no(errno == ENOENT));
    APP_REQUIRE(stat(path("dir/c.txt"), &st) == 0);
    printf("stat new name: size %ld\n", (long)st.st_size);
    fd = open(path("dir/c.txt"), O_RDONLY);
    APP_REQUIRE(fd >= 0);
    memset(buf, 0, sizeof buf);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("c.txt holds %zd bytes:\n%s", n, buf);
    printf("rename dir/sub -> dir/renamed: %d\n", rename(path("dir/sub"), path("dir/renamed")));
    printf("unlink a.txt: %d\n", unlink(path("dir/a.txt")));
    errno = 0;
    r = open(path("dir/a.txt"), O_RDONLY);
    printf("open unlinked file: %d, ENOENT: %s\n", r, yes_no(errno == ENOENT));
    list("dir");
    list("dir/renamed");

    errno = 0;
    r = rmdir(path("dir/renamed"));
    printf("rmdir non-empty dir: %d, ENOTEMPTY: %s\n", r, yes_no(errno == ENOTEMPTY || errno == EEXIST));
    printf("unlink deep.txt: %d\n", unlink(path("dir/renamed/deep.txt")));
    printf("rmdir dir/renamed: %d\n", rmdir(path("dir/renamed")));
    printf("unlink c.txt: %d\n", unlink(path("dir/c.txt")));
    list("dir");
    printf("rmdir dir: %d\n", rmdir(path("dir")));
    rmdir(base);
    printf("done\n");
    return 0;
}
