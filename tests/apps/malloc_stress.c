/* malloc/calloc/realloc/free over many sizes (small, page-sized, and big enough to be
 * mmap'ed by the C library), every block filled with a pattern that is checked before it is
 * freed or after it is moved by realloc. Deterministic: a fixed pseudo-random sequence. */
#include "app_test.h"
#include <stdint.h>
#include <string.h>

#define SLOTS 512
#define OPERATIONS 40000

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t random_size(void) {
    uint64_t r = next_random();
    switch (r % 16) {
    case 0: return 0;
    case 1: return 256 * 1024 + r % (768 * 1024);  /* mmap threshold territory */
    case 2: case 3: return 4096 + r % 60000;
    default: return 1 + r % 512;
    }
}

struct slot { unsigned char* p; size_t size; unsigned char seed; };
static struct slot slots[SLOTS];
static unsigned long bad_bytes, checksum;

static void fill(struct slot* s) {
    for (size_t i = 0; i < s->size; ++i) s->p[i] = (unsigned char)(s->seed + i * 7);
}

static void check(const struct slot* s, size_t size) {
    for (size_t i = 0; i < size; ++i) {
        unsigned char want = (unsigned char)(s->seed + i * 7);
        bad_bytes += s->p[i] != want;
    }
    checksum = checksum * 1000003 + size + s->seed;
}

int main(void) {
    app_test_init();
    unsigned long mallocs = 0, reallocs = 0, frees = 0, callocs = 0, calloc_nonzero = 0;
    for (int op = 0; op < OPERATIONS; ++op) {
        struct slot* s = &slots[next_random() % SLOTS];
        unsigned kind = next_random() % 8;
        if (s->p && kind < 3) {
            check(s, s->size);
            free(s->p);
            s->p = NULL;
            ++frees;
        } else if (s->p && kind < 6) {
            size_t size = random_size() + 1;
            unsigned char* p = realloc(s->p, size);
            APP_REQUIRE(p != NULL);
            s->p = p;
            check(s, size < s->size ? size : s->size);
            s->size = size;
            fill(s);
            ++reallocs;
        } else if (!s->p && kind == 6) {
            size_t size = random_size() + 1;
            s->p = calloc(size, 1);
            APP_REQUIRE(s->p != NULL);
            for (size_t i = 0; i < size; ++i) calloc_nonzero += s->p[i] != 0;
            s->size = size;
            s->seed = (unsigned char)next_random();
            fill(s);
            ++callocs;
        } else if (!s->p) {
            s->size = random_size();
            s->p = malloc(s->size);
            APP_REQUIRE(s->p != NULL || s->size == 0);
            if (!s->p) s->p = malloc(1), s->size = 0;
            APP_REQUIRE(s->p != NULL);
            s->seed = (unsigned char)next_random();
            fill(s);
            ++mallocs;
        }
    }
    for (int i = 0; i < SLOTS; ++i) {
        if (slots[i].p) {
            check(&slots[i], slots[i].size);
            free(slots[i].p);
            ++frees;
        }
    }
    printf("malloc %lu, calloc %lu, realloc %lu, free %lu\n", mallocs, callocs, reallocs, frees);
    printf("corrupted bytes: %lu, non-zero calloc bytes: %lu\n", bad_bytes, calloc_nonzero);
    printf("checksum: %016lx\n", checksum);
    /* One big allocation, touched page by page. */
    size_t big = 16u << 20;
    unsigned char* p = malloc(big);
    APP_REQUIRE(p != NULL);
    for (size_t i = 0; i < big; i += 4096) p[i] = (unsigned char)(i >> 12);
    unsigned long sum = 0;
    for (size_t i = 0; i < big; i += 4096) sum += p[i];
    free(p);
    printf("16 MiB block page sum: %lu\n", sum);
    return 0;
}
