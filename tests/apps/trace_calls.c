/* System calls in known numbers, for the traced run of tests/apps/trace_test.py: the main thread
 * makes exactly 7 getpid and 5 write(1, ...) calls, sleeps 20 ms, and starts a thread named
 * "trace-worker" (prctl) that makes exactly 3 getpid calls. No stdio: every write is counted.
 * With an argument (a file or a disk: /dev/vda) it reads its first 64 KiB and prints their sum
 * first, so that a trace has block requests. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { main_getpids = 7, main_writes = 5, worker_getpids = 3 };

static void say(const char* text) { syscall(SYS_write, 1, text, strlen(text)); }

static void* worker(void* arg) {
    (void)arg;
    prctl(PR_SET_NAME, "trace-worker", 0, 0, 0);
    for (int i = 0; i < worker_getpids; ++i) syscall(SYS_getpid);
    return NULL;
}

static int read_start(const char* path) {
    static unsigned char data[64 * 1024];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, data, sizeof data);
    close(fd);
    if (n < 0) return -1;
    unsigned long sum = 0;
    for (ssize_t i = 0; i < n; ++i) sum += data[i];
    char line[96];
    snprintf(line, sizeof line, "trace_calls: %zd bytes of %s, sum %lu\n", n, path, sum);
    say(line);
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && read_start(argv[1]) != 0) {
        say("trace_calls: cannot read the file\n");
        return 1;
    }
    for (int i = 0; i < main_getpids; ++i) syscall(SYS_getpid);
    say("trace_calls: getpid done\n");
    struct timespec nap = {0, 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    say("trace_calls: slept\n");
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, NULL) != 0) {
        say("trace_calls: thread failed\n");
        return 1;
    }
    say("trace_calls: worker joined\n");
    say("trace_calls: four\n");
    say("trace_calls: done\n");
    return 0;
}
