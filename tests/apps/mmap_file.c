/* File mappings share the file's pages as Linux's page cache does (on Mica: ramfs's pages,
 * copy-on-write): a private mapping sees later writes to the file in pages it has not
 * written, its own writes stay its own (the file and other mappings never see them), a
 * forked child's writes stay the child's, and a read-only shared mapping follows the file.
 * Files in $TMPDIR. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_test.h"

enum { page = 4096, pages = 4 };

static void fill(char* buffer, char c) { memset(buffer, c, page * pages); }

int main(void) {
    app_test_init();
    const char* tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/mmap_file.data", tmp ? tmp : "/tmp");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    APP_REQUIRE(fd >= 0);
    static char data[page * pages];
    fill(data, 'a');
    APP_REQUIRE(write(fd, data, sizeof data) == (ssize_t)sizeof data);

    char* one = mmap(NULL, sizeof data, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char* two = mmap(NULL, sizeof data, PROT_READ, MAP_PRIVATE, fd, page);
    char* shared = mmap(NULL, sizeof data, PROT_READ, MAP_SHARED, fd, 0);
    APP_REQUIRE(one != MAP_FAILED && two != MAP_FAILED && shared != MAP_FAILED);
    printf("mappings read the file: %s\n", yes_no(one[0] == 'a' && one[3 * page + 5] == 'a' && two[0] == 'a'));

    /* The file changes under the mappings. */
    APP_REQUIRE(pwrite(fd, "B", 1, 2 * page + 7) == 1);
    printf("private mapping sees a later write to the file: %s\n", yes_no(one[2 * page + 7] == 'B'));
    printf("mapping at an offset sees it too: %s\n", yes_no(two[page + 7] == 'B'));
    printf("shared mapping sees it: %s\n", yes_no(shared[2 * page + 7] == 'B'));

    /* A private write stays private. */
    one[2 * page + 8] = 'P';
    char c = 0;
    APP_REQUIRE(pread(fd, &c, 1, 2 * page + 8) == 1);
    printf("the file does not see a private write: %s\n", yes_no(c == 'a'));
    printf("the other mappings do not see it: %s\n", yes_no(two[page + 8] == 'a' && shared[2 * page + 8] == 'a'));
    printf("the writer keeps the page's other bytes: %s\n", yes_no(one[2 * page + 7] == 'B' && one[2 * page] == 'a'));
    APP_REQUIRE(pwrite(fd, "C", 1, 2 * page + 9) == 1);
    printf("a page the mapping wrote no longer follows the file: %s\n", yes_no(one[2 * page + 9] == 'a'));
    printf("its other pages still do: %s\n", yes_no((pwrite(fd, "D", 1, 5) == 1) && one[5] == 'D'));

    /* A forked child's writes are its own. */
    pid_t child = fork();
    APP_REQUIRE(child >= 0);
    if (child == 0) {
        one[page] = 'K';
        _exit(one[page] == 'K' && one[0] == 'a' ? 0 : 1);
    }
    int status = 0;
    APP_REQUIRE(waitpid(child, &status, 0) == child);
    printf("the child wrote its copy: %s\n", yes_no(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    printf("the parent does not see it: %s\n", yes_no(one[page] == 'a'));
    APP_REQUIRE(pread(fd, &c, 1, page) == 1);
    printf("nor does the file: %s\n", yes_no(c == 'a'));

    /* Past the end of the file in the last page: zeros. */
    APP_REQUIRE(ftruncate(fd, 3 * page + 100) == 0);
    printf("the last page's bytes past the end read as zeros: %s\n",
           yes_no(shared[3 * page + 99] == 'a' && shared[3 * page + 100] == 0 && shared[4 * page - 1] == 0));

    /* The mappings outlive the descriptor and the name. */
    close(fd);
    unlink(path);
    printf("mappings outlive the file's name: %s\n", yes_no(two[0] == 'a' && one[2 * page + 8] == 'P'));
    APP_REQUIRE(munmap(one, sizeof data) == 0 && munmap(two, sizeof data) == 0 && munmap(shared, sizeof data) == 0);
    printf("done\n");
    return 0;
}
