/* Anonymous mmap/munmap/mprotect/mremap semantics and the program break (brk). Nothing
 * here faults: protections are changed but only used as allowed. */
#define _GNU_SOURCE
#include "app_test.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int all_bytes(const unsigned char* p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; ++i)
        if (p[i] != v) return 0;
    return 1;
}

int main(void) {
    /* brk first, before stdio allocates anything, straight through the system call: musl's
     * sbrk() refuses non-zero increments, and glibc's malloc must not see the break move. */
    uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t grown = (uintptr_t)syscall(SYS_brk, start + 3 * 4096);
    int brk_grew = grown == start + 3 * 4096;
    int brk_zero = brk_grew && all_bytes((unsigned char*)start, 3 * 4096, 0);
    if (brk_grew) memset((void*)start, 0x5a, 3 * 4096);
    uintptr_t shrunk = (uintptr_t)syscall(SYS_brk, start);
    int brk_shrank = shrunk == start;
    int brk_query = (uintptr_t)syscall(SYS_brk, 0) == start;

    app_test_init();
    printf("brk(0) is non-zero: %s\n", yes_no(start != 0));
    printf("brk grows by 3 pages: %s\n", yes_no(brk_grew));
    printf("new break memory is zeroed: %s\n", yes_no(brk_zero));
    printf("brk shrinks back: %s\n", yes_no(brk_shrank && brk_query));

    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    printf("page size is 4096: %s\n", yes_no(page == 4096));
    unsigned char* p = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(p != MAP_FAILED);
    printf("mmap 8 pages: page aligned %s, zero filled %s\n", yes_no((uintptr_t)p % page == 0),
           yes_no(all_bytes(p, 8 * page, 0)));
    for (size_t i = 0; i < 8; ++i) memset(p + i * page, (int)(i + 1), page);

    printf("mprotect read-only: %d\n", mprotect(p, 2 * page, PROT_READ));
    printf("read-only pages keep their data: %s\n", yes_no(all_bytes(p, page, 1) && all_bytes(p + page, page, 2)));
    printf("mprotect read-write again: %d\n", mprotect(p, 2 * page, PROT_READ | PROT_WRITE));
    p[0] = 42;
    printf("write after mprotect: %s\n", yes_no(p[0] == 42));

    printf("munmap page 3: %d\n", munmap(p + 3 * page, page));
    unsigned char* q = mmap(p + 3 * page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED into the hole: %s, zero filled %s\n", yes_no(q == p + 3 * page), yes_no(all_bytes(q, page, 0)));
    printf("neighbours intact: %s\n", yes_no(all_bytes(p + 2 * page, page, 3) && all_bytes(p + 4 * page, page, 5)));

    unsigned char* r = mremap(p, 8 * page, 64 * page, MREMAP_MAYMOVE);
    APP_REQUIRE(r != MAP_FAILED);
    printf("mremap to 64 pages keeps the data: %s\n", yes_no(r[0] == 42 && all_bytes(r + 7 * page, page, 8)));
    printf("grown part zero filled: %s\n", yes_no(all_bytes(r + 8 * page, 56 * page, 0)));
    printf("munmap all: %d\n", munmap(r, 64 * page));

    unsigned char* reserved = mmap(NULL, 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    APP_REQUIRE(reserved != MAP_FAILED);
    printf("mprotect part of a PROT_NONE reservation: %d\n", mprotect(reserved + 4 * page, 2 * page, PROT_READ | PROT_WRITE));
    memset(reserved + 4 * page, 7, 2 * page);
    printf("committed part usable: %s\n", yes_no(all_bytes(reserved + 4 * page, 2 * page, 7)));
    printf("munmap reservation: %d\n", munmap(reserved, 16 * page));

    errno = 0;
    int u = munmap((void*)((uintptr_t)q + 1), page);
    printf("munmap of an unaligned address: %d, EINVAL: %s\n", u, yes_no(errno == EINVAL));
    errno = 0;
    void* z = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap of length 0: EINVAL: %s\n", yes_no(z == MAP_FAILED && errno == EINVAL));
    return 0;
}
