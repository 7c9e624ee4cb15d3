/* Shared by the tests/apps programs. They run unmodified on Linux and on Mica, on x86_64 and
 * aarch64, with musl and glibc, and must print exactly the same text everywhere: no addresses,
 * no timings, no arch- or libc-specific strings. Output is line buffered (and stderr is
 * unbuffered) so that what was printed before a crash reaches the console or the pipe. */
#ifndef MICA_APP_TEST_H
#define MICA_APP_TEST_H
#include <errno.h>
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

/* errno by name: strerror's texts differ between C libraries. */
static inline const char* errno_name(int e) {
    switch (e) {
#define APP_ERRNO(name) case name: return #name;
    APP_ERRNO(EPERM) APP_ERRNO(ENOENT) APP_ERRNO(ESRCH) APP_ERRNO(EINTR) APP_ERRNO(ENXIO) APP_ERRNO(EBADF) APP_ERRNO(EAGAIN) APP_ERRNO(ECHILD)
    APP_ERRNO(ENOMEM) APP_ERRNO(EACCES) APP_ERRNO(EFAULT) APP_ERRNO(EEXIST) APP_ERRNO(ENOTDIR)
    APP_ERRNO(EISDIR) APP_ERRNO(EINVAL) APP_ERRNO(EMFILE) APP_ERRNO(ENOTTY) APP_ERRNO(ESPIPE)
    APP_ERRNO(EPIPE) APP_ERRNO(EDOM) APP_ERRNO(ERANGE) APP_ERRNO(ENOSYS) APP_ERRNO(ELOOP)
    APP_ERRNO(ENOTSOCK) APP_ERRNO(EDESTADDRREQ) APP_ERRNO(EMSGSIZE) APP_ERRNO(EPROTOTYPE)
    APP_ERRNO(ENOPROTOOPT) APP_ERRNO(EPROTONOSUPPORT) APP_ERRNO(ESOCKTNOSUPPORT) APP_ERRNO(EOPNOTSUPP)
    APP_ERRNO(EAFNOSUPPORT) APP_ERRNO(EADDRINUSE) APP_ERRNO(EADDRNOTAVAIL) APP_ERRNO(ECONNABORTED)
    APP_ERRNO(ECONNRESET) APP_ERRNO(ENOBUFS) APP_ERRNO(EISCONN) APP_ERRNO(ENOTCONN) APP_ERRNO(ETIMEDOUT)
    APP_ERRNO(ECONNREFUSED) APP_ERRNO(EALREADY) APP_ERRNO(EINPROGRESS) APP_ERRNO(ENODEV)
    APP_ERRNO(ENETUNREACH) APP_ERRNO(EHOSTUNREACH) APP_ERRNO(ESHUTDOWN) APP_ERRNO(ENOSPC) APP_ERRNO(EROFS)
#undef APP_ERRNO
    default: {
        static char text[24];
        snprintf(text, sizeof text, "errno %d", e);
        return text;
    }
    }
}
#endif
