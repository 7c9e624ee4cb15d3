/* A pipe between two threads: a writer sends more than a pipe buffer holds in chunks of
 * varying size, the reader checks every byte; then EOF after the write end closes. */
#include "app_test.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define TOTAL (300 * 1000)

static int fds[2];

static unsigned char byte_at(size_t i) { return (unsigned char)(i * 131 + (i >> 8)); }

static void* writer(void* arg) {
    (void)arg;
    static unsigned char chunk[8192];
    size_t sent = 0;
    for (size_t round = 0; sent < TOTAL; ++round) {
        size_t len = 1 + (round * 997) % sizeof chunk;
        if (len > TOTAL - sent) len = TOTAL - sent;
        for (size_t i = 0; i < len; ++i) chunk[i] = byte_at(sent + i);
        size_t done = 0;
        while (done < len) {
            ssize_t n = write(fds[1], chunk + done, len - done);
            if (n <= 0) return (void*)1;
            done += (size_t)n;
        }
        sent += len;
    }
    close(fds[1]);
    return NULL;
}

int main(void) {
    app_test_init();
    APP_REQUIRE(pipe(fds) == 0);
    /* A message round trip before the threads start. */
    APP_REQUIRE(write(fds[1], "ping\n", 5) == 5);
    char small[16] = {0};
    printf("read back %zd bytes: %s", read(fds[0], small, sizeof small - 1), small);

    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, writer, NULL) == 0);
    unsigned char buf[4096];
    size_t got = 0, mismatches = 0;
    unsigned long sum = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf, (got / 7) % sizeof buf + 1);
        if (n == 0) break;
        APP_REQUIRE(n > 0);
        for (ssize_t i = 0; i < n; ++i) {
            mismatches += buf[i] != byte_at(got + (size_t)i);
            sum = sum * 31 + buf[i];
        }
        got += (size_t)n;
    }
    void* status;
    APP_REQUIRE(pthread_join(t, &status) == 0);
    printf("writer status: %ld\n", (long)status);
    printf("received %zu bytes, %zu mismatches, checksum %08lx\n", got, mismatches, sum & 0xffffffffUL);
    printf("read after EOF: %zd\n", read(fds[0], buf, sizeof buf));
    close(fds[0]);

    int p2[2];
    APP_REQUIRE(pipe(p2) == 0);
    int d = dup(p2[1]);
    close(p2[1]);
    APP_REQUIRE(write(d, "via dup\n", 8) == 8);
    close(d);
    memset(small, 0, sizeof small);
    printf("read through a dup'ed write end: %zd bytes: %s", read(p2[0], small, sizeof small - 1), small);
    close(p2[0]);
    return 0;
}
