/* Shared by the tests/apps programs. They run unmodified on Linux and on Mica, on x86_64 and
 * aarch64, with musl and glibc, and must print exactly the same text everywhere: no addresses,
 * no timings, no arch- or libc-specific strings. Output is line buffered (and stderr is
 * unbuffered) so that what was printed before a crash reaches the console or the pipe. */
#ifndef MICA_APP_TEST_H
#define MICA_APP_TEST_H
#include <stdio.h>
#include <stdlib.h>

static inline void app_test_init(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

/* Stops the program with a message when a check that the rest depends on fails. */
#define APP_REQUIRE(cond)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            printf("FAILED: %s (line %d)\n", #cond, __LINE__);                   \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static inline const char* yes_no(int b) { return b ? "yes" : "no"; }
#endif
