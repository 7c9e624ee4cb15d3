/* A program that runs out of memory, three ways (argv[1]); only on Mica (tests/apps
 * CMakeLists.txt: the "memory" tests), whose machine is small: on the host it would take
 * the host's memory.
 *   requests  requests larger than the machine fail with ENOMEM (mmap, brk, mremap); the
 *             ones that reserve nothing (PROT_NONE, MAP_NORESERVE) succeed
 *   malloc    malloc(1 MiB) and fill it, until malloc returns NULL; then memory is usable
 *             again once freed: exit 0
 *   touch     touch every page of a MAP_NORESERVE mapping as large as the machine: the
 *             kernel kills the program (SIGKILL, status 137) with a message, never hangs
 */
#define _GNU_SOURCE
#include "app_test.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static size_t machine_bytes(void) {
    struct sysinfo info;
    APP_REQUIRE(sysinfo(&info) == 0);
    return (size_t)info.totalram * info.mem_unit;
}

static int requests(void) {
    size_t twice = 2 * machine_bytes();
    uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t grown = (uintptr_t)syscall(SYS_brk, start + twice);
    printf("brk beyond the machine's memory refused: %s\n", yes_no(grown == start));
    errno = 0;
    void* p = mmap(NULL, twice, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap beyond the machine's memory: ENOMEM: %s\n", yes_no(p == MAP_FAILED && errno == ENOMEM));
    void* reserved = mmap(NULL, twice, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("PROT_NONE reservation of the same size works: %s\n", yes_no(reserved != MAP_FAILED));
    void* unaccounted = mmap(NULL, twice, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("MAP_NORESERVE mapping of the same size works: %s\n", yes_no(unaccounted != MAP_FAILED));
    void* small = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    APP_REQUIRE(small != MAP_FAILED);
    errno = 0;
    void* moved = mremap(small, MIB, twice, MREMAP_MAYMOVE);
    printf("mremap growing beyond the machine's memory: ENOMEM: %s\n", yes_no(moved == MAP_FAILED && errno == ENOMEM));
    munmap(small, MIB);
    if (reserved != MAP_FAILED) munmap(reserved, twice);
    if (unaccounted != MAP_FAILED) munmap(unaccounted, twice);
    void* after = malloc(MIB);
    printf("memory still usable: %s\n", yes_no(after != NULL));
    free(after);
    return 0;
}

struct Block {
    struct Block* next;
};

static int fill_with_malloc(void) {
    struct Block* blocks = NULL;
    size_t count = 0;
    for (;;) {
        struct Block* b = malloc(MIB);
        if (!b) break;
        memset(b, 0x5a, MIB);
        b->next = blocks;
        blocks = b;
        ++count;
    }
    printf("malloc returned NULL once memory ran out: yes\n");
    printf("more than 4 MiB was given first: %s\n", yes_no(count > 4));
    while (blocks) {
        struct Block* next = blocks->next;
        free(blocks);
        blocks = next;
    }
    void* again = malloc(MIB);
    printf("malloc works again after free: %s\n", yes_no(again != NULL));
    if (again) memset(again, 1, MIB);
    free(again);
    return 0;
}

static int touch_everything(void) {
    size_t size = machine_bytes();
    unsigned char* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    APP_REQUIRE(p != MAP_FAILED);
    printf("touching every page of a mapping as large as the machine\n");
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    printf("FAILED: all of it could be touched\n");
    return 1;
}

int main(int argc, char** argv) {
    app_test_init();
    const char* mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "requests") == 0) return requests();
    if (strcmp(mode, "malloc") == 0) return fill_with_malloc();
    if (strcmp(mode, "touch") == 0) return touch_everything();
    printf("usage: memory_exhaustion requests|malloc|touch\n");
    return 2;
}
