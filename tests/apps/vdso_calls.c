/* Reads the clocks CALLS times each way for the vDSO test under --strace (tests/apps/
 * CMakeLists.txt, "vdso.strace"): with "libc", through the C library, which uses the vDSO, so
 * the kernel must see none of these system calls; with "syscall", through syscall(), so it
 * must see them (the test's control: it shows the --strace check can fail). Mica only. */
#define _GNU_SOURCE
#include "app_test.h"
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { CALLS = 100 };

int main(int argc, char** argv) {
    app_test_init();
    if (argc != 2 || (strcmp(argv[1], "libc") != 0 && strcmp(argv[1], "syscall") != 0)) {
        printf("usage: vdso_calls libc|syscall\n");
        return 2;
    }
    int through_libc = strcmp(argv[1], "libc") == 0, ok = 1, calls = 0;
    struct timespec ts;
    struct timeval tv;
    for (int i = 0; i < CALLS; ++i) {
        if (through_libc) {
            ok &= clock_gettime(CLOCK_MONOTONIC, &ts) == 0;
            ok &= clock_gettime(CLOCK_REALTIME, &ts) == 0;
            ok &= gettimeofday(&tv, NULL) == 0;
            ok &= time(NULL) > 0;
            calls += 4;  /* not clock_getres: musl's is always the system call */
#if defined(__x86_64__) /* only x86_64's vDSO has getcpu */
            ok &= sched_getcpu() >= 0;
            ++calls;
#endif
        } else {
            ok &= syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0;
            ++calls;
        }
    }
    printf("vdso_calls: %s: %d calls %s\n", argv[1], calls, ok ? "done" : "FAILED");
    return ok ? 0 : 1;
}
