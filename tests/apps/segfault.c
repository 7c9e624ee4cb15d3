/* A write to address 0: the kernel reports it and stops with status 139 (128 + SIGSEGV).
 * Only the output before the crash is compared with Linux. */
#include "app_test.h"

int main(void) {
    app_test_init();
    printf("writing to a null pointer\n");
    fflush(stdout);
    *(volatile int*)0 = 1;
    printf("FAILED: still running after the write\n");
    return 0;
}
