// A program that waits for ever, for tools/gdb's test (test_gdb.py): its main thread blocks
// reading a pipe nobody writes, in wait_on_pipe(), after starting a thread named
// "gdb-sleeper" that sleeps. The test attaches GDB once "gdb-test: ready" is printed and
// looks for both threads, their states and their backtraces.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2];

static void* sleeper(void* arg) {
    (void)arg;
    prctl(PR_SET_NAME, "gdb-sleeper");
    for (;;) {
        struct timespec t = {3600, 0};
        nanosleep(&t, NULL);
    }
    return NULL;
}

__attribute__((noinline)) static int wait_on_pipe(int fd) {
    char c;
    return (int)read(fd, &c, 1);  // blocks: nobody writes
}

int main(void) {
    if (pipe(pipe_fds) != 0) {
        perror("pipe");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, sleeper, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    printf("gdb-test: ready\n");
    fflush(stdout);
    int r = wait_on_pipe(pipe_fds[0]);
    printf("gdb-test: read returned %d\n", r);
    return 2;
}
