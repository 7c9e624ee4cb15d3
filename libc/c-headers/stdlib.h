// The kernel's <stdlib.h>: the heap (kernel/mm/heap.cc) behind the C allocation functions,
// and atoi (libc/src/stdlib.cc).
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void* malloc(size_t size);
void* calloc(size_t count, size_t size);
void* realloc(void* ptr, size_t size);
void* aligned_alloc(size_t alignment, size_t size);
void free(void* ptr);
int atoi(const char* s);

#ifdef __cplusplus
}
#endif
