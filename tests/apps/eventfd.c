/* eventfd: the counter, EFD_SEMAPHORE, EFD_NONBLOCK and EFD_CLOEXEC, the limits (a write that
 * would pass 2^64 - 2 waits or says EAGAIN), short buffers, poll, and a reader in another
 * thread woken by a write. */
#define _GNU_SOURCE
#include "app_test.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char* err(long r) {
    static char text[64];
    if (r >= 0) snprintf(text, sizeof text, "%ld", r);
    else snprintf(text, sizeof text, "-1 %s", errno_name(errno));
    return text;
}

#define SHOW(label, call)                              \
    do {                                               \
        long show_result_ = (long)(call);              \
        printf("%s: %s\n", label, err(show_result_));  \
    } while (0)

static void show_read(const char* label, int fd) {
    uint64_t v = 0;
    long n = read(fd, &v, sizeof v);
    if (n < 0) printf("%s: -1 %s\n", label, errno_name(errno));
    else printf("%s: %ld bytes, value %llu\n", label, n, (unsigned long long)v);
}

static const char* poll_state(int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    static char text[32];
    snprintf(text, sizeof text, "%s%s%s", p.revents & POLLIN ? "IN " : "", p.revents & POLLOUT ? "OUT " : "",
             p.revents & POLLERR ? "ERR" : "");
    return text;
}

static void* delayed_write(void* arg) {
    int fd = *(int*)arg;
    usleep(20000);
    uint64_t v = 5;
    write(fd, &v, sizeof v);
    return NULL;
}

int main(void) {
    app_test_init();
    int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    APP_REQUIRE(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    printf("fstat mode %o, cloexec %s, nonblock %s\n", st.st_mode, yes_no(fcntl(fd, F_GETFD) & FD_CLOEXEC),
           yes_no(fcntl(fd, F_GETFL) & O_NONBLOCK));
    printf("poll at 3: %s\n", poll_state(fd));
    show_read("read", fd);
    show_read("read at 0", fd);
    printf("poll at 0: %s\n", poll_state(fd));
    uint64_t v = 10;
    SHOW("write 10", write(fd, &v, sizeof v));
    SHOW("write 10 again", write(fd, &v, sizeof v));
    show_read("read the sum", fd);
    v = UINT64_MAX;
    SHOW("write 2^64 - 1", write(fd, &v, sizeof v));
    v = UINT64_MAX - 1;
    SHOW("write 2^64 - 2", write(fd, &v, sizeof v));
    printf("poll when full: %s\n", poll_state(fd));
    v = 1;
    SHOW("write 1 more", write(fd, &v, sizeof v));
    show_read("read it all", fd);
    char small[4];
    SHOW("read 4 bytes", read(fd, small, sizeof small));
    SHOW("write 4 bytes", write(fd, small, sizeof small));
    v = 0;
    SHOW("write 0", write(fd, &v, sizeof v));
    uint64_t big[2] = {7, 9};
    SHOW("write 16 bytes", write(fd, big, sizeof big));
    v = 4;
    write(fd, &v, sizeof v);
    SHOW("read 16 bytes", read(fd, big, sizeof big));
    printf("which gave %llu\n", (unsigned long long)big[0]);
    void* volatile bad = (void*)8;
    SHOW("bad pointer", write(fd, bad, 8));
    SHOW("lseek", lseek(fd, 0, SEEK_SET));
    close(fd);

    printf("-- semaphore\n");
    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    show_read("read", fd);
    show_read("read", fd);
    show_read("read", fd);
    SHOW("eventfd with bad flags", eventfd(0, 0x80));
    close(fd);

    /* x86_64 also has the original eventfd(initval) call; aarch64 only eventfd2. */
#ifdef SYS_eventfd
    fd = (int)syscall(SYS_eventfd, 2);
#else
    fd = eventfd(2, 0);
#endif
    show_read("eventfd without flags", fd);
    close(fd);

    printf("-- a blocking read woken by a thread\n");
    fd = eventfd(0, 0);
    pthread_t t;
    APP_REQUIRE(pthread_create(&t, NULL, delayed_write, &fd) == 0);
    show_read("blocking read", fd);
    pthread_join(t, NULL);
    close(fd);
    return 0;
}
