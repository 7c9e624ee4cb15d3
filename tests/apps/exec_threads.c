/* execve from a process with more threads (one sleeping in a loop, one spinning without a
 * system call): the other threads end first, the new program starts alone. */
#include "app_test.h"
#include <pthread.h>
#include <string.h>
#include <unistd.h>
static void* spin(void* a) { (void)a; for (;;) usleep(1000); return 0; }
static void* busy(void* a) { (void)a; volatile unsigned long n = 0; for (;;) n++; return 0; }
int main(int argc, char** argv) {
    app_test_init();
    if (argc > 1 && strcmp(argv[1], "after") == 0) { printf("exec'd: pid %d\n", getpid() > 0); return 3; }
    pthread_t t1, t2; pthread_create(&t1, 0, spin, 0); pthread_create(&t2, 0, busy, 0);
    usleep(20000);
    char* args[] = {argv[0], "after", 0};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
}
